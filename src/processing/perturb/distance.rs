//! Exact Euclidean distance transform on an anisotropic grid (Felzenszwalb &
//! Huttenlocher 2012): squared distances in mm² to the nearest voxel of a
//! set, one pass of the 1D lower envelope of parabolas per axis.

use ndarray::{Array3, Axis};

/// Squared distance (mm²) from every voxel of a box to the nearest voxel
/// of the box where `set` is true (`f64::INFINITY` when the set is empty).
/// The box is cut from a larger grid at voxel `origin` (x, y, z), and
/// positions are taken on the larger grid, so a box holding the whole set
/// gives the larger grid's distances to the bit wherever the nearest set
/// voxel is the same.
pub fn squared_distance_at(
    set: &Array3<bool>,
    spacing: [f64; 3],
    origin: [usize; 3],
) -> Array3<f64> {
    let mut d = set.mapv(|m| if m { 0.0 } else { f64::INFINITY });
    // Array axes are (z, y, x); spacing and origin are (x, y, z).
    for (axis, step, first) in [
        (2, spacing[0], origin[0]),
        (1, spacing[1], origin[1]),
        (0, spacing[2], origin[2]),
    ] {
        let n = d.len_of(Axis(axis));
        let mut f = vec![0.0; n];
        let mut out = vec![0.0; n];
        let mut v = vec![0usize; n];
        let mut z = vec![0.0; n + 1];
        for mut lane in d.lanes_mut(Axis(axis)) {
            for (fi, x) in f.iter_mut().zip(lane.iter()) {
                *fi = *x;
            }
            envelope(&f, step, first, &mut out, &mut v, &mut z);
            for (x, o) in lane.iter_mut().zip(&out) {
                *x = *o;
            }
        }
    }
    d
}

/// `out[p] = min_q (step·(p − q))² + f[q]`, positions counted from `start`.
fn envelope(f: &[f64], step: f64, start: usize, out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let pos = |q: usize| (q + start) as f64 * step;
    let Some(first) = f.iter().position(|x| x.is_finite()) else {
        out.iter_mut().for_each(|o| *o = f64::INFINITY);
        return;
    };
    let mut k = 0;
    v[0] = first;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in first + 1..n {
        if !f[q].is_finite() {
            continue;
        }
        loop {
            let p = v[k];
            let s =
                ((f[q] + pos(q) * pos(q)) - (f[p] + pos(p) * pos(p))) / (2.0 * (pos(q) - pos(p)));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0: q's parabola lies below p's everywhere left of it.
                v[0] = q;
                z[1] = f64::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    let mut k = 0;
    for (p, o) in out.iter_mut().enumerate() {
        while z[k + 1] < pos(p) {
            k += 1;
        }
        let d = pos(p) - pos(v[k]);
        *o = d * d + f[v[k]];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_brute_force_on_an_anisotropic_grid() {
        let set = Array3::from_shape_fn((4, 5, 6), |(k, j, i)| {
            (k, j, i) == (1, 2, 3) || (k, j, i) == (3, 0, 0) || (k, j, i) == (0, 4, 5)
        });
        let sp = [0.7, 1.3, 2.5];
        let d = squared_distance_at(&set, sp, [0; 3]);
        for ((k, j, i), &got) in d.indexed_iter() {
            let mut best = f64::INFINITY;
            for ((kk, jj, ii), &m) in set.indexed_iter() {
                if m {
                    let dx = (i as f64 - ii as f64) * sp[0];
                    let dy = (j as f64 - jj as f64) * sp[1];
                    let dz = (k as f64 - kk as f64) * sp[2];
                    best = best.min(dx * dx + dy * dy + dz * dz);
                }
            }
            assert!((got - best).abs() < 1e-9, "({k},{j},{i}): {got} vs {best}");
        }
    }
}
