//! Moran's I and Geary's C (IBSI 3.1.27-28) computed exactly in
//! O(L log L) instead of O(N²) over voxel pairs.
//!
//! The weight w_ij = 1/‖x_i − x_j‖ depends only on the voxel offset, so every
//! double sum Σ_ij a_i w_ij b_j is an inner product ⟨a, w ∗ b⟩, which Parseval
//! turns into (1/L) Σ_k conj(Â_k) Ŵ_k B̂_k. The arrays are the ROI bounding
//! box zero-padded to at least 2n − 1 per axis, so the circular convolution
//! has no wrap-around. With c = (x − μ)·mask and m = mask:
//! - W = Σ_{i≠j} w_ij = ⟨m, w ∗ m⟩ (w(0) = 0 removes i = j),
//! - Moran numerator Σ w_ij c_i c_j = ⟨c, w ∗ c⟩,
//! - Geary numerator Σ w_ij (c_i − c_j)² = 2⟨c², w ∗ m⟩ − 2⟨c, w ∗ c⟩.
//!
//! Two complex FFTs carry the four real signals: FFT(m + i c) and
//! FFT(c² + i w), split with the conjugate symmetry of real transforms.

use std::sync::Arc;

use ndarray::Array3;
use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use super::mesh::bounding_box;

/// (Moran's I, Geary's C) of the intensities in `mask`; NaN when undefined
/// (fewer than two voxels or a constant intensity).
pub fn moran_geary(image: &Array3<f32>, mask: &Array3<bool>, spacing: [f64; 3]) -> (f64, f64) {
    let Some((lo, hi)) = bounding_box(mask) else {
        return (f64::NAN, f64::NAN);
    };
    let n: [usize; 3] = std::array::from_fn(|d| (hi[d] - lo[d] + 1) as usize);
    let mut count = 0usize;
    let mut sum = 0.0;
    for (&v, &m) in image.iter().zip(mask.iter()) {
        if m {
            count += 1;
            sum += v as f64;
        }
    }
    let mean = sum / count as f64;
    let len: [usize; 3] = n.map(|k| next_fast_length(2 * k - 1));
    let [lx, ly, lz] = len;
    let total = lx * ly * lz;
    // Layout [z][y][x] before the transform.
    let mut signals = vec![Complex64::new(0.0, 0.0); total];
    let mut squares = vec![Complex64::new(0.0, 0.0); total];
    let mut sum_c2 = 0.0;
    for z in 0..n[2] {
        for y in 0..n[1] {
            for x in 0..n[0] {
                let idx = [
                    (z as i32 + lo[2]) as usize,
                    (y as i32 + lo[1]) as usize,
                    (x as i32 + lo[0]) as usize,
                ];
                if mask[idx] {
                    let c = image[idx] as f64 - mean;
                    let at = (z * ly + y) * lx + x;
                    signals[at] = Complex64::new(1.0, c);
                    squares[at].re = c * c;
                    sum_c2 += c * c;
                }
            }
        }
    }
    // The weight kernel at the signed offset closest to each index.
    let signed = |m: usize, l: usize| {
        if m <= l - m {
            m as f64
        } else {
            m as f64 - l as f64
        }
    };
    squares
        .par_chunks_mut(lx * ly)
        .enumerate()
        .for_each(|(z, slab)| {
            let dz = signed(z, lz) * spacing[2];
            for y in 0..ly {
                let dy = signed(y, ly) * spacing[1];
                for x in 0..lx {
                    let dx = signed(x, lx) * spacing[0];
                    let d = (dx * dx + dy * dy + dz * dz).sqrt();
                    slab[y * lx + x].im = if d > 0.0 { 1.0 / d } else { 0.0 };
                }
            }
        });
    fft3(&mut signals, len, n);
    // The kernel fills the whole padded grid.
    fft3(&mut squares, len, len);
    let at = |x: usize, y: usize, z: usize| (z * ly + y) * lx + x;
    // Per-slab partial sums, added in slab order (deterministic).
    let partials: Vec<[f64; 3]> = (0..lz)
        .into_par_iter()
        .map(|z| {
            let mut acc = [0.0; 3];
            let nz = (lz - z) % lz;
            for y in 0..ly {
                let ny = (ly - y) % ly;
                for x in 0..lx {
                    let nx = (lx - x) % lx;
                    let (f, g) = (signals[at(x, y, z)], signals[at(nx, ny, nz)].conj());
                    let m_hat = (f + g) * 0.5;
                    let c_hat = (f - g) * Complex64::new(0.0, -0.5);
                    let (f, g) = (squares[at(x, y, z)], squares[at(nx, ny, nz)].conj());
                    let c2_hat = (f + g) * 0.5;
                    let w_hat = ((f - g) * Complex64::new(0.0, -0.5)).re;
                    acc[0] += w_hat * m_hat.norm_sqr();
                    acc[1] += w_hat * c_hat.norm_sqr();
                    acc[2] += w_hat * (m_hat.conj() * c2_hat).re;
                }
            }
            acc
        })
        .collect();
    let (s_mm, s_cc, s_c2m) = partials.iter().fold((0.0, 0.0, 0.0), |(a, b, c), p| {
        (a + p[0], b + p[1], c + p[2])
    });
    let l = total as f64;
    let (weights, moran_num, cross) = (s_mm / l, s_cc / l, s_c2m / l);
    if count < 2 || sum_c2 <= 0.0 || weights <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let geary_num = 2.0 * cross - 2.0 * moran_num;
    let nv = count as f64;
    let moran = nv / weights * moran_num / sum_c2;
    let geary = (nv - 1.0) / (2.0 * weights) * geary_num / sum_c2;
    (moran, geary)
}

/// Smallest length >= `n` whose prime factors are 2, 3 and 5.
fn next_fast_length(n: usize) -> usize {
    (n.max(1)..)
        .find(|&m| {
            let mut r = m;
            for p in [2, 3, 5] {
                while r % p == 0 {
                    r /= p;
                }
            }
            r == 1
        })
        .expect("a 5-smooth number exists")
}

/// Lines gathered per block in the strided passes: enough contiguous
/// elements per read to use whole cache lines.
const BLOCK: usize = 32;

/// In-place forward 3D FFT of `data` in layout [z][y][x] with lengths
/// (lx, ly, lz), whose non-zero values all lie in the corner
/// `[0, nx) × [0, ny) × [0, nz)`: x lines outside it and y lines of slabs
/// beyond nz are zero and stay zero, so they are skipped. Strided lines are gathered in blocks of contiguous
/// neighbours, transformed, and scattered back. Each 1D line is transformed
/// independently, so the result does not depend on the thread count.
fn fft3(data: &mut [Complex64], [lx, ly, lz]: [usize; 3], [_, ny, nz]: [usize; 3]) {
    let mut planner = FftPlanner::<f64>::new();
    let (fx, fy, fz) = (
        planner.plan_fft_forward(lx),
        planner.plan_fft_forward(ly),
        planner.plan_fft_forward(lz),
    );
    let scratch_for =
        |fft: &Arc<dyn Fft<f64>>| vec![Complex64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
    // x lines are contiguous.
    data.par_chunks_mut(lx * ly).take(nz).for_each(|slab| {
        fx.process_with_scratch(&mut slab[..lx * ny], &mut scratch_for(&fx));
    });
    // y lines: within each z slab, blocks of neighbouring x.
    data.par_chunks_mut(lx * ly).take(nz).for_each(|slab| {
        let mut lines = vec![Complex64::new(0.0, 0.0); BLOCK * ly];
        let mut scratch = scratch_for(&fy);
        for x0 in (0..lx).step_by(BLOCK) {
            let b = BLOCK.min(lx - x0);
            for y in 0..ly {
                for k in 0..b {
                    lines[k * ly + y] = slab[y * lx + x0 + k];
                }
            }
            fy.process_with_scratch(&mut lines[..b * ly], &mut scratch);
            for y in 0..ly {
                for k in 0..b {
                    slab[y * lx + x0 + k] = lines[k * ly + y];
                }
            }
        }
    });
    // z lines: blocks of neighbouring (y, x) positions across all slabs.
    let plane = lx * ly;
    let shared: &[Complex64] = data;
    let blocks: Vec<Vec<Complex64>> = (0..plane)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|p0| {
            let b = BLOCK.min(plane - p0);
            let mut lines = vec![Complex64::new(0.0, 0.0); b * lz];
            for z in 0..lz {
                for k in 0..b {
                    lines[k * lz + z] = shared[z * plane + p0 + k];
                }
            }
            fz.process_with_scratch(&mut lines, &mut scratch_for(&fz));
            lines
        })
        .collect();
    for (n, lines) in blocks.iter().enumerate() {
        let p0 = n * BLOCK;
        let b = lines.len() / lz;
        for z in 0..lz {
            for k in 0..b {
                data[z * plane + p0 + k] = lines[k * lz + z];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Direct O(N²) evaluation of the IBSI definitions.
    fn brute_force(image: &Array3<f32>, mask: &Array3<bool>, s: [f64; 3]) -> (f64, f64) {
        let pts: Vec<([f64; 3], f64)> = image
            .indexed_iter()
            .filter(|&(idx, _)| mask[idx])
            .map(|((k, j, i), &v)| {
                (
                    [i as f64 * s[0], j as f64 * s[1], k as f64 * s[2]],
                    v as f64,
                )
            })
            .collect();
        let n = pts.len() as f64;
        let mean = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let var: f64 = pts.iter().map(|p| (p.1 - mean).powi(2)).sum();
        let (mut w, mut mi, mut gc) = (0.0, 0.0, 0.0);
        for (a, pa) in pts.iter().enumerate() {
            for (b, pb) in pts.iter().enumerate() {
                if a == b {
                    continue;
                }
                let d = (0..3)
                    .map(|t| (pa.0[t] - pb.0[t]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                w += 1.0 / d;
                mi += (pa.1 - mean) * (pb.1 - mean) / d;
                gc += (pa.1 - pb.1).powi(2) / d;
            }
        }
        (n / w * mi / var, (n - 1.0) / (2.0 * w) * gc / var)
    }

    #[test]
    fn fft_matches_brute_force_on_random_rois() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (shape, spacing) in [
            ((4, 5, 6), [1.0, 1.0, 1.0]),
            ((3, 7, 5), [0.8, 0.8, 2.5]),
            ((6, 4, 4), [2.0, 1.0, 3.0]),
        ] {
            let image = Array3::from_shape_fn(shape, |_| rng.gen_range(-100.0f32..300.0).round());
            let mask = Array3::from_shape_fn(shape, |_| rng.gen_bool(0.6));
            let (mi, gc) = moran_geary(&image, &mask, spacing);
            let (bi, bc) = brute_force(&image, &mask, spacing);
            assert!(((mi - bi) / bi).abs() < 1e-9, "Moran {mi} vs {bi}");
            assert!(((gc - bc) / bc).abs() < 1e-9, "Geary {gc} vs {bc}");
        }
    }

    #[test]
    fn two_voxels_are_perfectly_anticorrelated() {
        // Two voxels, c = ∓1: I = N/W · (2 c1 c2 / d) / Σc² = -1 and
        // C = (N - 1)/(2W) · (2 · 4 / d) / Σc² = 1, with W = 2/d.
        let image = Array3::from_shape_vec((1, 1, 2), vec![1.0f32, 3.0]).unwrap();
        let mask = Array3::from_elem((1, 1, 2), true);
        let (mi, gc) = moran_geary(&image, &mask, [2.0, 2.0, 2.0]);
        assert!((mi + 1.0).abs() < 1e-12, "{mi}");
        assert!((gc - 1.0).abs() < 1e-12, "{gc}");
    }

    #[test]
    fn fast_lengths_are_5_smooth() {
        assert_eq!(next_fast_length(97), 100);
        assert_eq!(next_fast_length(7), 8);
        assert_eq!(next_fast_length(1), 1);
    }
}
