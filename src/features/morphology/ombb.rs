//! Oriented minimum bounding box (IBSI 3.1.18-19, not standardised): the
//! smallest of the boxes that have one face flush with a convex hull face,
//! each found by a minimum-area rectangle of the hull projected on that face.
//! This is the common approximation of O'Rourke's exact algorithm.

/// Side lengths of the approximate oriented minimum bounding box of
/// `points` (physical hull vertices) over the candidate face `normals`.
pub fn oriented_minimum_box(points: &[[f64; 3]], normals: &[[f64; 3]]) -> Option<[f64; 3]> {
    let mut best: Option<(f64, [f64; 3])> = None;
    for n in normals {
        let Some(n) = unit(*n) else { continue };
        // Orthonormal basis (u, v) of the plane normal to n.
        let helper = if n[0].abs() < 0.9 {
            [1.0, 0.0, 0.0]
        } else {
            [0.0, 1.0, 0.0]
        };
        let u = unit(cross(n, helper)).expect("non-parallel helper");
        let v = cross(n, u);
        let (mut hmin, mut hmax) = (f64::INFINITY, f64::NEG_INFINITY);
        let projected: Vec<[f64; 2]> = points
            .iter()
            .map(|p| {
                let h = dot(*p, n);
                hmin = hmin.min(h);
                hmax = hmax.max(h);
                [dot(*p, u), dot(*p, v)]
            })
            .collect();
        let (w, l) = minimum_area_rectangle(&projected);
        let dims = [w, l, hmax - hmin];
        let volume = dims[0] * dims[1] * dims[2];
        if best.is_none_or(|(bv, _)| volume < bv) {
            best = Some((volume, dims));
        }
    }
    best.map(|(_, d)| d)
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let n = dot(a, a).sqrt();
    (n > 0.0).then(|| a.map(|c| c / n))
}

/// Sides of the minimum-area enclosing rectangle of 2D points: one side of
/// it is collinear with an edge of their convex hull.
fn minimum_area_rectangle(points: &[[f64; 2]]) -> (f64, f64) {
    let hull = convex_hull_2d(points);
    if hull.len() < 3 {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        return (hi[0] - lo[0], hi[1] - lo[1]);
    }
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for k in 0..hull.len() {
        let (a, b) = (hull[k], hull[(k + 1) % hull.len()]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        let len = (ex * ex + ey * ey).sqrt();
        if len == 0.0 {
            continue;
        }
        let (ex, ey) = (ex / len, ey / len);
        let (mut s0, mut s1, mut t0, mut t1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in &hull {
            let s = p[0] * ex + p[1] * ey;
            let t = -p[0] * ey + p[1] * ex;
            s0 = s0.min(s);
            s1 = s1.max(s);
            t0 = t0.min(t);
            t1 = t1.max(t);
        }
        let area = (s1 - s0) * (t1 - t0);
        if area < best.0 {
            best = (area, s1 - s0, t1 - t0);
        }
    }
    (best.1, best.2)
}

/// Andrew's monotone chain; counter-clockwise, without collinear points.
fn convex_hull_2d(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let turn = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && turn(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_rectangle_is_found() {
        let (c, s) = (0.6, 0.8);
        let corners: Vec<[f64; 2]> = [[0.0, 0.0], [4.0, 0.0], [4.0, 1.0], [0.0, 1.0], [2.0, 0.5]]
            .iter()
            .map(|p| [c * p[0] - s * p[1], s * p[0] + c * p[1]])
            .collect();
        let (w, l) = minimum_area_rectangle(&corners);
        assert!((w * l - 4.0).abs() < 1e-9, "{w} x {l}");
    }

    #[test]
    fn box_of_a_box_is_itself() {
        let mut pts = Vec::new();
        for &x in &[0.0, 3.0] {
            for &y in &[0.0, 2.0] {
                for &z in &[0.0, 1.0] {
                    pts.push([x, y, z]);
                }
            }
        }
        let normals = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]];
        let d = oriented_minimum_box(&pts, &normals).unwrap();
        assert!((d[0] * d[1] * d[2] - 6.0).abs() < 1e-9, "{d:?}");
    }
}
