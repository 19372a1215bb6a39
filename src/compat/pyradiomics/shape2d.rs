//! PyRadiomics' 2D shape features (`shape2D`): the ROI must be one slice
//! thick along `force2Ddimension`; on that slice, PyRadiomics' marching
//! squares gives the mesh surface, perimeter and maximum diameter, and the
//! covariance of the pixel centres (divided by N) the principal axes.

use ndarray::{Array2, Axis};

use super::roi::Roi;
use crate::features::morphology::linalg::symmetric_eigen;
use crate::{Error, Result};

/// Square corners in (row, col), in PyRadiomics' bit order: p0 (0,0),
/// p1 (0,1), p2 (1,1), p3 (1,0).
const CORNERS: [[usize; 2]; 4] = [[0, 0], [0, 1], [1, 1], [1, 0]];

/// Edge midpoints in half-pixel units (row, col): v0 top (p0-p1), v1 right
/// (p1-p2), v2 bottom (p2-p3), v3 left (p3-p0). Edge k follows corner k.
const EDGES: [[usize; 2]; 4] = [[0, 1], [1, 2], [2, 1], [1, 0]];

pub struct Shape2D {
    surface: f64,
    perimeter: f64,
    diameter: f64,
    pixel_surface: f64,
    /// Covariance eigenvalues, increasing.
    eigen: [f64; 2],
}

/// The mesh measures of one padded 2D mask.
#[derive(Debug, Clone, Copy)]
pub struct Mesh2D {
    pub surface: f64,
    pub perimeter: f64,
    pub diameter: f64,
}

impl Shape2D {
    /// The class on the (cropped, one-voxel-margin) ROI, refused as
    /// PyRadiomics refuses it: without force2D, or when the ROI is thicker
    /// than one slice along `dimension`.
    pub fn new(roi: &Roi, force_2d: bool, dimension: usize) -> Result<Shape2D> {
        if !force_2d {
            return Err(Error::setting(
                "setting.force2D",
                "featureClass shape2D needs force2D: true (as PyRadiomics requires)",
            ));
        }
        // The ROI has one voxel of margin on each side: 3 means one slice.
        let thickness = roi.mask.len_of(Axis(dimension)) - 2;
        if thickness != 1 {
            return Err(Error::data(format!(
                "featureClass shape2D: the ROI is {thickness} voxels thick along force2Ddimension {dimension}, \
                 PyRadiomics computes 2D shape only on a single slice"
            )));
        }
        // The middle slice, already padded by one pixel in-plane as
        // PyRadiomics pads the squeezed mask.
        let plane = roi.mask.index_axis(Axis(dimension), 1).to_owned();
        let mut spacing = [0.0; 2];
        let mut n = 0;
        for (a, &s) in roi.spacing_zyx.iter().enumerate() {
            if a != dimension {
                spacing[n] = s;
                n += 1;
            }
        }
        Ok(Shape2D::of_mask(&plane, spacing))
    }

    /// The class on a mask padded by one pixel of background, spacing in
    /// array order (row, col).
    pub fn of_mask(mask: &Array2<bool>, spacing: [f64; 2]) -> Shape2D {
        let mesh = mesh(mask, spacing);
        let centres: Vec<[f64; 2]> = mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((r, c), _)| [r as f64 * spacing[0], c as f64 * spacing[1]])
            .collect();
        let n = centres.len() as f64;
        let mean: [f64; 2] = std::array::from_fn(|a| centres.iter().map(|c| c[a]).sum::<f64>() / n);
        let mut cov = [[0.0; 3]; 3];
        for c in &centres {
            for a in 0..2 {
                for b in 0..2 {
                    cov[a][b] += (c[a] - mean[a]) * (c[b] - mean[b]) / n;
                }
            }
        }
        // The 2x2 block alone: the third axis is decoupled (zero
        // off-diagonal), so Jacobi leaves its -1 untouched; it sorts last.
        cov[2][2] = -1.0;
        let (values, _) = symmetric_eigen(cov);
        let eigen = super::shape::rounded_eigenvalues([values[1], values[0]]);
        Shape2D {
            surface: mesh.surface,
            perimeter: mesh.perimeter,
            diameter: mesh.diameter,
            pixel_surface: n * spacing[0] * spacing[1],
            eigen,
        }
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        let (a, p) = (self.surface, self.perimeter);
        let axis = |e: f64| if e < 0.0 { f64::NAN } else { e.sqrt() * 4.0 };
        let sphericity = 2.0 * (std::f64::consts::PI * a).sqrt() / p;
        Some(match name {
            "MeshSurface" => a,
            "PixelSurface" => self.pixel_surface,
            "Perimeter" => p,
            "PerimeterSurfaceRatio" => p / a,
            "Sphericity" => sphericity,
            "SphericalDisproportion" => 1.0 / sphericity,
            "MaximumDiameter" => self.diameter,
            "MajorAxisLength" => axis(self.eigen[1]),
            "MinorAxisLength" => axis(self.eigen[0]),
            "Elongation" => {
                if self.eigen[0] < 0.0 || self.eigen[1] < 0.0 {
                    f64::NAN
                } else {
                    (self.eigen[0] / self.eigen[1]).sqrt()
                }
            }
            _ => return None,
        })
    }
}

/// The oriented lines of one square pattern, as (from edge, to edge): each
/// maximal cyclic run of inside corners k..m gives the line from the edge
/// before k to the edge after m, so the inside lies on the same side of
/// every line. Ordered by their first edge, as PyRadiomics' table emits the
/// two lines of the ambiguous squares (corners 0 and 2 apart, 1 and 3 apart).
fn lines(pattern: usize) -> Vec<(usize, usize)> {
    let inside = |k: usize| pattern >> (k % 4) & 1 == 1;
    let mut out = Vec::new();
    for k in 0..4 {
        if inside(k) && !inside(k + 3) {
            let mut m = k;
            while inside(m + 1) {
                m += 1;
            }
            out.push(((k + 3) % 4, m % 4));
        }
    }
    out.sort();
    out
}

/// PyRadiomics' marching squares on a mask padded by one pixel of
/// background: signed surface (half the sum of the cross products of each
/// line's ends, absolute coordinates), perimeter, and maximum distance
/// between the vertices it stores (per square, after flipping patterns
/// above 7, the left edge's midpoint when corner 0 is inside and the bottom
/// edge's when corner 2 is).
pub fn mesh(mask: &Array2<bool>, spacing: [f64; 2]) -> Mesh2D {
    let table: Vec<Vec<(usize, usize)>> = (0..16).map(lines).collect();
    let half = spacing.map(|s| s / 2.0);
    let (rows, cols) = mask.dim();
    let (mut twice_surface, mut perimeter) = (0.0f64, 0.0f64);
    let mut vertices: Vec<[f64; 2]> = Vec::new();
    for r in 0..rows.saturating_sub(1) {
        for c in 0..cols.saturating_sub(1) {
            let mut pattern = 0usize;
            for (k, [dr, dc]) in CORNERS.iter().enumerate() {
                if mask[[r + dr, c + dc]] {
                    pattern |= 1 << k;
                }
            }
            if pattern == 0 || pattern == 15 {
                continue;
            }
            // (2i + h) · spacing/2 rounds once, to the same double as
            // PyRadiomics' (i + h/2) · spacing.
            let point = |e: usize| -> [f64; 2] {
                [
                    (2 * r + EDGES[e][0]) as f64 * half[0],
                    (2 * c + EDGES[e][1]) as f64 * half[1],
                ]
            };
            for &(from, to) in &table[pattern] {
                let (a, b) = (point(from), point(to));
                twice_surface += a[0] * b[1] - b[0] * a[1];
                let d = [a[0] - b[0], a[1] - b[1]];
                perimeter += (d[0] * d[0] + d[1] * d[1]).sqrt();
            }
            let stored = if pattern > 7 { pattern ^ 15 } else { pattern };
            if stored & 1 != 0 {
                vertices.push(point(3));
            }
            if stored & 4 != 0 {
                vertices.push(point(2));
            }
        }
    }
    let mut farthest = 0.0f64;
    for (i, a) in vertices.iter().enumerate() {
        for b in &vertices[..i] {
            let d = [a[0] - b[0], a[1] - b[1]];
            farthest = farthest.max(d[0] * d[0] + d[1] * d[1]);
        }
    }
    Mesh2D {
        surface: twice_surface / 2.0,
        perimeter,
        diameter: farthest.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines the procedure derives are PyRadiomics' marching-squares
    /// table (one line per run of inside corners; ambiguous squares split).
    #[test]
    fn lines_follow_the_inside_corner_runs() {
        assert_eq!(lines(0), vec![]);
        assert_eq!(lines(1), vec![(3, 0)]);
        assert_eq!(lines(3), vec![(3, 1)]);
        assert_eq!(lines(5), vec![(1, 2), (3, 0)]);
        assert_eq!(lines(9), vec![(2, 0)]);
        assert_eq!(lines(10), vec![(0, 1), (2, 3)]);
        assert_eq!(lines(14), vec![(0, 3)]);
        assert_eq!(lines(15), vec![]);
    }

    /// One pixel of spacing 1: a diamond of side sqrt(0.5), area 0.5.
    #[test]
    fn single_pixel_is_a_diamond() {
        let mut m = Array2::from_elem((3, 3), false);
        m[[1, 1]] = true;
        let mesh = mesh(&m, [1.0, 1.0]);
        assert!((mesh.surface - 0.5).abs() < 1e-12, "{mesh:?}");
        assert!(
            (mesh.perimeter - 4.0 * 0.5f64.sqrt()).abs() < 1e-12,
            "{mesh:?}"
        );
        assert!((mesh.diameter - 1.0).abs() < 1e-12, "{mesh:?}");
    }
}
