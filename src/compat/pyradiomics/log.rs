//! PyRadiomics' LoG image type: SimpleITK's LaplacianRecursiveGaussianImageFilter
//! with `NormalizeAcrossScale` on, one image per `sigma` (in mm).
//!
//! ITK builds the Laplacian as the sum over the three axes of a second
//! derivative along that axis followed by a smoothing along each other
//! axis, every pass a recursive (Deriche-type, fourth-order) filter run
//! forward and backward over a whole line, with the first and last voxel
//! assumed to extend to infinity. Each line is filtered in double
//! precision; the images between passes, and the running sum (each term
//! scaled by 1/spacing²), are single precision as in ITK, whose output is
//! single precision. Across-scale normalisation multiplies the second
//! derivative by σ² (σ in mm); the smoothing is not scaled.
//!
//! PyRadiomics skips every sigma when the image has fewer than 4 voxels
//! along an axis, and a sigma for which some axis has fewer than
//! ceil(σ / spacing) + 1 voxels. Names: `log-sigma-<σ>-mm-3D` with the
//! sigma's Python text, '.' replaced by '-'.

use ndarray::{Array3, Axis};
use rayon::prelude::*;

use crate::image::Volume;

/// The LoG images PyRadiomics makes for `sigmas`, named, in sigma order;
/// `names` are the Python texts of the sigmas (`1.0`, `2`, ...).
pub fn log_images(
    image: &Volume<f64>,
    sigmas: &[f64],
    names: &[String],
) -> Vec<(String, Volume<f32>)> {
    let dims = image.dims();
    if dims.iter().any(|&n| n < 4) {
        return Vec::new();
    }
    let spacing = image.geometry.spacing;
    let kept: Vec<(f64, &String)> = sigmas
        .iter()
        .zip(names)
        .filter(|(sigma, _)| {
            **sigma > 0.0 && (0..3).all(|a| dims[a] as f64 >= (**sigma / spacing[a]).ceil() + 1.0)
        })
        .map(|(s, n)| (*s, n))
        .collect();
    kept.par_iter()
        .map(|&(sigma, name)| {
            let data = laplacian(&image.data, spacing, sigma);
            (
                format!("log-sigma-{}-mm-3D", name.replace('.', "-")),
                Volume::new(data, image.geometry),
            )
        })
        .collect()
}

/// ITK's normalised Laplacian of Gaussian of `data` (array order z, y, x;
/// `spacing` in x, y, z order).
fn laplacian(data: &Array3<f64>, spacing: [f64; 3], sigma: f64) -> Array3<f32> {
    let mut sum = Array3::<f32>::zeros(data.raw_dim());
    for d in 0..3 {
        // ITK direction d (x, y, z) is array axis 2 - d.
        let derivative = Recursive::new(sigma, spacing[d], Order::Second);
        let mut img = pass(data, 2 - d, &derivative);
        for other in (0..3).filter(|&o| o != d) {
            let smoothing = Recursive::new(sigma, spacing[other], Order::Zero);
            img = pass(&img, 2 - other, &smoothing);
        }
        let scale = 1.0 / (spacing[d] * spacing[d]);
        for (s, &v) in sum.iter_mut().zip(img.iter()) {
            *s = (f64::from(*s) + f64::from(v) * scale) as f32;
        }
    }
    sum
}

/// Lines filtered together: the recursion is a chain of dependent
/// multiply-adds along each line, so interleaving independent lines lets
/// the processor overlap them (each line's arithmetic is unchanged).
const BATCH: usize = 4;

/// One recursive pass along an array axis, stored in single precision.
fn pass<T: Copy + Into<f64>>(src: &Array3<T>, axis: usize, f: &Recursive) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros(src.raw_dim());
    let n = src.len_of(Axis(axis));
    let mut line = vec![[0.0f64; BATCH]; n];
    let mut result = vec![[0.0f64; BATCH]; n];
    let mut scratch = vec![[0.0f64; BATCH]; n];
    let sources: Vec<_> = src.lanes(Axis(axis)).into_iter().collect();
    let mut targets: Vec<_> = out.lanes_mut(Axis(axis)).into_iter().collect();
    for (lanes, dsts) in sources.chunks(BATCH).zip(targets.chunks_mut(BATCH)) {
        // A short last batch repeats its first line in the unused slots.
        for b in 0..BATCH {
            let lane = &lanes[b.min(lanes.len() - 1)];
            for (l, &v) in line.iter_mut().zip(lane.iter()) {
                l[b] = v.into();
            }
        }
        f.filter(&line, &mut result, &mut scratch);
        for (b, dst) in dsts.iter_mut().enumerate() {
            for (o, v) in dst.iter_mut().zip(&result) {
                *o = v[b] as f32;
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    Zero,
    Second,
}

/// The coefficients of one recursive Gaussian pass (ITK's RecursiveGaussianImageFilter).
struct Recursive {
    n: [f64; 4],
    d: [f64; 4],
    m: [f64; 4],
    bn: [f64; 4],
    bm: [f64; 4],
}

/// The exponential series' parameters of Deriche's approximation, as ITK
/// gives them: (A1, B1) and (A2, B2) per order 0, 1, 2, and W1, L1, W2, L2.
const A1: [f64; 3] = [1.3530, -0.6724, -1.3563];
const B1: [f64; 3] = [1.8151, -3.4327, 5.2318];
const A2: [f64; 3] = [-0.3531, 0.6724, 0.3446];
const B2: [f64; 3] = [0.0902, 0.6100, -2.2355];
const W1: f64 = 0.6681;
const L1: f64 = -1.3932;
const W2: f64 = 2.0787;
const L2: f64 = -1.3732;

/// N0..N3 and their sums SN, DN, EN for one order's (A, B) pair.
fn n_coefficients(sigmad: f64, a1: f64, b1: f64, a2: f64, b2: f64) -> ([f64; 4], [f64; 3]) {
    let (sin1, sin2) = ((W1 / sigmad).sin(), (W2 / sigmad).sin());
    let (cos1, cos2) = ((W1 / sigmad).cos(), (W2 / sigmad).cos());
    let (exp1, exp2) = ((L1 / sigmad).exp(), (L2 / sigmad).exp());
    let n0 = a1 + a2;
    let mut n1 = exp2 * (b2 * sin2 - (a2 + 2.0 * a1) * cos2);
    n1 += exp1 * (b1 * sin1 - (a1 + 2.0 * a2) * cos1);
    let mut n2 = (a1 + a2) * cos2 * cos1;
    n2 -= b1 * cos2 * sin1 + b2 * cos1 * sin2;
    n2 *= 2.0 * exp1 * exp2;
    n2 += a2 * exp1 * exp1 + a1 * exp2 * exp2;
    let mut n3 = exp2 * exp1 * exp1 * (b2 * sin2 - a2 * cos2);
    n3 += exp1 * exp2 * exp2 * (b1 * sin1 - a1 * cos1);
    let sn = n0 + n1 + n2 + n3;
    let dn = n1 + 2.0 * n2 + 3.0 * n3;
    let en = n1 + 4.0 * n2 + 9.0 * n3;
    ([n0, n1, n2, n3], [sn, dn, en])
}

impl Recursive {
    fn new(sigma: f64, spacing: f64, order: Order) -> Recursive {
        let sigmad = sigma / spacing;
        let (cos1, cos2) = ((W1 / sigmad).cos(), (W2 / sigmad).cos());
        let (exp1, exp2) = ((L1 / sigmad).exp(), (L2 / sigmad).exp());
        let d4 = exp1 * exp1 * exp2 * exp2;
        let mut d3 = -2.0 * cos1 * exp1 * exp2 * exp2;
        d3 += -2.0 * cos2 * exp2 * exp1 * exp1;
        let mut d2 = 4.0 * cos2 * cos1 * exp1 * exp2;
        d2 += exp1 * exp1 + exp2 * exp2;
        let d1 = -2.0 * (exp2 * cos2 + exp1 * cos1);
        let sd = 1.0 + d1 + d2 + d3 + d4;
        let dd = d1 + 2.0 * d2 + 3.0 * d3 + 4.0 * d4;
        let ed = d1 + 4.0 * d2 + 9.0 * d3 + 16.0 * d4;
        let n = match order {
            Order::Zero => {
                let (n, [sn, _, _]) = n_coefficients(sigmad, A1[0], B1[0], A2[0], B2[0]);
                let alpha0 = 2.0 * sn / sd - n[0];
                n.map(|v| v * (1.0 / alpha0))
            }
            Order::Second => {
                let (n0, [sn0, dn0, en0]) = n_coefficients(sigmad, A1[0], B1[0], A2[0], B2[0]);
                let (n2, [sn2, dn2, en2]) = n_coefficients(sigmad, A1[2], B1[2], A2[2], B2[2]);
                let beta = -(2.0 * sn2 - sd * n2[0]) / (2.0 * sn0 - sd * n0[0]);
                let n: [f64; 4] = std::array::from_fn(|i| n2[i] + beta * n0[i]);
                let sn = sn2 + beta * sn0;
                let dn = dn2 + beta * dn0;
                let en = en2 + beta * en0;
                let mut alpha2 =
                    en * sd * sd - ed * sn * sd - 2.0 * dn * dd * sd + 2.0 * dd * dd * sn;
                alpha2 /= sd * sd * sd;
                // NormalizeAcrossScale: σ² (in mm).
                let normalisation = sigma * sigma;
                n.map(|v| v * (normalisation / alpha2))
            }
        };
        // Both orders used here are symmetric kernels.
        let d = [d1, d2, d3, d4];
        let m = [
            n[1] - d1 * n[0],
            n[2] - d2 * n[0],
            n[3] - d3 * n[0],
            -d4 * n[0],
        ];
        let sn = n[0] + n[1] + n[2] + n[3];
        let sm = m[0] + m[1] + m[2] + m[3];
        let sd = 1.0 + d1 + d2 + d3 + d4;
        let bn = d.map(|di| di * sn / sd);
        let bm = d.map(|di| di * sm / sd);
        Recursive { n, d, m, bn, bm }
    }

    /// ITK's FilterDataArray on `L` interleaved lines: causal and
    /// anti-causal passes summed, the border values assumed to extend to
    /// infinity. Needs 4 samples or more.
    fn filter<const L: usize>(
        &self,
        data: &[[f64; L]],
        out: &mut [[f64; L]],
        scratch: &mut [[f64; L]],
    ) {
        let ln = data.len();
        let [n0, n1, n2, n3] = self.n;
        let [d1, d2, d3, d4] = self.d;
        let [m1, m2, m3, m4] = self.m;
        let [bn1, bn2, bn3, bn4] = self.bn;
        let [bm1, bm2, bm3, bm4] = self.bm;
        let (o, s, x) = (out, scratch, data);
        for b in 0..L {
            let v1 = x[0][b];
            o[0][b] = v1 * n0 + v1 * n1 + v1 * n2 + v1 * n3;
            o[1][b] = x[1][b] * n0 + v1 * n1 + v1 * n2 + v1 * n3;
            o[2][b] = x[2][b] * n0 + x[1][b] * n1 + v1 * n2 + v1 * n3;
            o[3][b] = x[3][b] * n0 + x[2][b] * n1 + x[1][b] * n2 + v1 * n3;
            o[0][b] -= v1 * bn1 + v1 * bn2 + v1 * bn3 + v1 * bn4;
            o[1][b] -= o[0][b] * d1 + v1 * bn2 + v1 * bn3 + v1 * bn4;
            o[2][b] -= o[1][b] * d1 + o[0][b] * d2 + v1 * bn3 + v1 * bn4;
            o[3][b] -= o[2][b] * d1 + o[1][b] * d2 + o[0][b] * d3 + v1 * bn4;
        }
        for i in 4..ln {
            for b in 0..L {
                let v = x[i][b] * n0 + x[i - 1][b] * n1 + x[i - 2][b] * n2 + x[i - 3][b] * n3;
                o[i][b] =
                    v - (o[i - 1][b] * d1 + o[i - 2][b] * d2 + o[i - 3][b] * d3 + o[i - 4][b] * d4);
            }
        }
        for b in 0..L {
            let v2 = x[ln - 1][b];
            s[ln - 1][b] = v2 * m1 + v2 * m2 + v2 * m3 + v2 * m4;
            s[ln - 2][b] = x[ln - 1][b] * m1 + v2 * m2 + v2 * m3 + v2 * m4;
            s[ln - 3][b] = x[ln - 2][b] * m1 + x[ln - 1][b] * m2 + v2 * m3 + v2 * m4;
            s[ln - 4][b] = x[ln - 3][b] * m1 + x[ln - 2][b] * m2 + x[ln - 1][b] * m3 + v2 * m4;
            s[ln - 1][b] -= v2 * bm1 + v2 * bm2 + v2 * bm3 + v2 * bm4;
            s[ln - 2][b] -= s[ln - 1][b] * d1 + v2 * bm2 + v2 * bm3 + v2 * bm4;
            s[ln - 3][b] -= s[ln - 2][b] * d1 + s[ln - 1][b] * d2 + v2 * bm3 + v2 * bm4;
            s[ln - 4][b] -= s[ln - 3][b] * d1 + s[ln - 2][b] * d2 + s[ln - 1][b] * d3 + v2 * bm4;
        }
        for i in (1..=ln - 4).rev() {
            for b in 0..L {
                let v = x[i][b] * m1 + x[i + 1][b] * m2 + x[i + 2][b] * m3 + x[i + 3][b] * m4;
                s[i - 1][b] =
                    v - (s[i][b] * d1 + s[i + 1][b] * d2 + s[i + 2][b] * d3 + s[i + 3][b] * d4);
            }
        }
        for (a, c) in o.iter_mut().zip(s.iter()) {
            for b in 0..L {
                a[b] += c[b];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn smoothing_keeps_a_constant_line() {
        let f = Recursive::new(2.0, 1.0, Order::Zero);
        let data = vec![[5.0]; 20];
        let (mut out, mut scratch) = (vec![[0.0]; 20], vec![[0.0]; 20]);
        f.filter(&data, &mut out, &mut scratch);
        for v in out {
            assert!((v[0] - 5.0).abs() < 1e-9, "{v:?}");
        }
    }

    /// Interleaved lines are filtered exactly as each line alone.
    #[test]
    fn a_batch_of_lines_filters_each_line_to_the_bit() {
        let f = Recursive::new(1.7, 0.8, Order::Second);
        let n = 23;
        let lines: [Vec<f64>; 4] = std::array::from_fn(|b| {
            (0..n)
                .map(|i| ((i * 7 + b * 13) % 11) as f64 * 1.3 - 4.0)
                .collect()
        });
        let batch: Vec<[f64; 4]> = (0..n)
            .map(|i| std::array::from_fn(|b| lines[b][i]))
            .collect();
        let (mut out, mut scratch) = (vec![[0.0; 4]; n], vec![[0.0; 4]; n]);
        f.filter(&batch, &mut out, &mut scratch);
        for (b, line) in lines.iter().enumerate() {
            let single: Vec<[f64; 1]> = line.iter().map(|&v| [v]).collect();
            let (mut alone, mut s1) = (vec![[0.0]; n], vec![[0.0]; n]);
            f.filter(&single, &mut alone, &mut s1);
            for i in 0..n {
                assert_eq!(
                    out[i][b].to_bits(),
                    alone[i][0].to_bits(),
                    "line {b}, sample {i}"
                );
            }
        }
    }

    #[test]
    fn log_of_a_quadratic_is_close_to_its_laplacian_times_sigma_squared() {
        // f = x² has Laplacian 2 everywhere; normalised: 2σ². Far from the
        // borders the recursive approximation is within a percent.
        let n = 40;
        let data = Array3::from_shape_fn((n, n, n), |(_, _, i)| {
            let x = i as f64 - 20.0;
            x * x
        });
        let v = Volume::new(data, Geometry::new([1.0; 3], [0.0; 3]));
        let out = log_images(&v, &[2.0], &["2.0".to_string()]);
        assert_eq!(out[0].0, "log-sigma-2-0-mm-3D");
        let centre = f64::from(out[0].1.data[[20, 20, 20]]);
        assert!((centre - 8.0).abs() < 0.08, "{centre}");
    }

    #[test]
    fn sigmas_too_large_for_the_image_are_skipped() {
        let v = Volume::new(
            Array3::<f64>::zeros((5, 10, 10)),
            Geometry::new([1.0, 1.0, 2.0], [0.0; 3]),
        );
        let names = ["1.0".to_string(), "9.0".to_string()];
        let out = log_images(&v, &[1.0, 9.0], &names);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "log-sigma-1-0-mm-3D");
    }
}
