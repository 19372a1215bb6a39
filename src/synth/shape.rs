//! Lesion shapes: star-shaped bodies whose radius in direction `u` is a
//! sphere's deformed by a few low-order zonal harmonics,
//! `R(u) = R0 · (1 + Σ a_m · P_l(u · d_m)) + offset`, with Legendre
//! polynomials `P_l` of degree 2 to 4 about random axes `d_m`. Degree 2
//! elongates or flattens, 3 makes pear shapes, 4 lobulates. Since |P_l| ≤ 1,
//! `Σ |a_m|` bounds the relative deviation from the sphere.

use rand::Rng;

use super::random::{uniform, unit_vector};

/// One zonal harmonic of the radius.
#[derive(Debug, Clone, PartialEq)]
pub struct Harmonic {
    /// Legendre degree, 2 to 4.
    pub degree: u8,
    /// Unit axis of the harmonic.
    pub axis: [f64; 3],
    /// Relative amplitude.
    pub amplitude: f64,
}

/// A star-shaped body around `centre` (mm, in the case's local frame).
#[derive(Debug, Clone, PartialEq)]
pub struct StarShape {
    pub centre: [f64; 3],
    /// Radius of the undeformed sphere, mm.
    pub base_radius: f64,
    pub harmonics: Vec<Harmonic>,
    /// Added to the radius in every direction, mm.
    pub offset: f64,
}

/// Legendre polynomial of degree 2, 3 or 4 (0 for other degrees).
pub fn legendre(degree: u8, t: f64) -> f64 {
    let t2 = t * t;
    match degree {
        2 => 0.5 * (3.0 * t2 - 1.0),
        3 => 0.5 * t * (5.0 * t2 - 3.0),
        4 => (35.0 * t2 * t2 - 30.0 * t2 + 3.0) / 8.0,
        _ => 0.0,
    }
}

/// `count` harmonics of random degree and axis whose absolute amplitudes
/// add up to `total` (0 gives none).
pub fn random_harmonics(rng: &mut impl Rng, count: usize, total: f64) -> Vec<Harmonic> {
    let mut harmonics: Vec<Harmonic> = (0..count)
        .map(|_| Harmonic {
            degree: rng.gen_range(2..=4),
            axis: unit_vector(rng),
            amplitude: uniform(rng, -1.0, 1.0),
        })
        .collect();
    let sum: f64 = harmonics.iter().map(|h| h.amplitude.abs()).sum();
    if sum > 0.0 {
        for h in harmonics.iter_mut() {
            h.amplitude *= total / sum;
        }
    }
    harmonics
}

impl StarShape {
    pub fn sphere(centre: [f64; 3], radius: f64) -> Self {
        StarShape {
            centre,
            base_radius: radius,
            harmonics: Vec::new(),
            offset: 0.0,
        }
    }

    /// The radius (mm) towards the unit direction `u`.
    pub fn radius_towards(&self, u: [f64; 3]) -> f64 {
        let deformation: f64 = self
            .harmonics
            .iter()
            .map(|h| {
                let t = u[0] * h.axis[0] + u[1] * h.axis[1] + u[2] * h.axis[2];
                h.amplitude * legendre(h.degree, t)
            })
            .sum();
        self.base_radius * (1.0 + deformation) + self.offset
    }

    /// An upper bound of the radius over all directions, mm.
    pub fn max_radius(&self) -> f64 {
        let total: f64 = self.harmonics.iter().map(|h| h.amplitude.abs()).sum();
        self.base_radius * (1.0 + total) + self.offset
    }

    /// A lower bound of the radius over all directions, mm.
    pub fn min_radius(&self) -> f64 {
        let total: f64 = self.harmonics.iter().map(|h| h.amplitude.abs()).sum();
        self.base_radius * (1.0 - total) + self.offset
    }

    /// Where `point` lies: `(ρ, R)` with `R` the radius in its direction and
    /// `ρ = |point − centre| / R` (below 1 inside). The signed distance to
    /// the surface along the ray is `(ρ − 1) · R`.
    pub fn locate(&self, point: [f64; 3]) -> (f64, f64) {
        let d = [
            point[0] - self.centre[0],
            point[1] - self.centre[1],
            point[2] - self.centre[2],
        ];
        let distance = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        if distance < 1e-9 {
            return (0.0, self.base_radius + self.offset);
        }
        let u = [d[0] / distance, d[1] / distance, d[2] / distance];
        let radius = self.radius_towards(u);
        (distance / radius, radius)
    }

    pub fn contains(&self, point: [f64; 3]) -> bool {
        self.locate(point).0 <= 1.0
    }

    /// The same body with extra harmonics and radial offset: how a
    /// segmentation that follows the boundary imperfectly is drawn.
    pub fn perturbed(&self, extra: Vec<Harmonic>, offset: f64) -> StarShape {
        let mut shape = self.clone();
        shape.harmonics.extend(extra);
        shape.offset += offset;
        shape
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::random::{Purpose, stream};

    #[test]
    fn legendre_values_at_known_points() {
        for l in 2..=4 {
            assert!((legendre(l, 1.0) - 1.0).abs() < 1e-12);
        }
        assert_eq!(legendre(2, 0.0), -0.5);
        assert_eq!(legendre(3, 0.0), 0.0);
        assert_eq!(legendre(4, 0.0), 3.0 / 8.0);
        assert!((legendre(3, -1.0) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn sphere_locates_points_by_distance() {
        let s = StarShape::sphere([1.0, 2.0, 3.0], 10.0);
        assert_eq!(s.locate([1.0, 2.0, 3.0]).0, 0.0);
        let (rho, r) = s.locate([1.0, 2.0, 8.0]);
        assert_eq!((rho, r), (0.5, 10.0));
        assert!(s.contains([11.0, 2.0, 3.0]));
        assert!(!s.contains([11.1, 2.0, 3.0]));
    }

    #[test]
    fn degree_two_harmonic_elongates_along_its_axis() {
        // R = 10 (1 + 0.2 P2): 12 along the axis, 9 across it.
        let shape = StarShape {
            centre: [0.0; 3],
            base_radius: 10.0,
            harmonics: vec![Harmonic {
                degree: 2,
                axis: [0.0, 0.0, 1.0],
                amplitude: 0.2,
            }],
            offset: 0.0,
        };
        assert!((shape.radius_towards([0.0, 0.0, -1.0]) - 12.0).abs() < 1e-12);
        assert!((shape.radius_towards([1.0, 0.0, 0.0]) - 9.0).abs() < 1e-12);
        assert!((shape.max_radius() - 12.0).abs() < 1e-12);
        assert!((shape.min_radius() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn random_harmonics_respect_the_bounds() {
        let mut rng = stream(9, Purpose::Image, 0);
        let h = random_harmonics(&mut rng, 4, 0.2);
        assert_eq!(h.len(), 4);
        let total: f64 = h.iter().map(|h| h.amplitude.abs()).sum();
        assert!((total - 0.2).abs() < 1e-12);
        let shape = StarShape {
            centre: [0.0; 3],
            base_radius: 10.0,
            harmonics: h,
            offset: 0.5,
        }
        .perturbed(Vec::new(), -0.25);
        for _ in 0..1000 {
            let r = shape.radius_towards(unit_vector(&mut rng));
            assert!(r <= shape.max_radius() + 1e-12 && r >= shape.min_radius() - 1e-12);
        }
        assert!((shape.max_radius() - 12.25).abs() < 1e-12);
    }
}
