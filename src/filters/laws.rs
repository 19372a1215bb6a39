//! Laws kernels (IBSI 2, JTXT): a separable filter with one normalised 1D
//! Laws kernel per axis, optional rotation invariance (pooling over the
//! right-angle rotations) and an optional energy map (IBSI 2, PQSD: the
//! mean of the absolute pooled response over a window of 2δ+1 voxels).

use ndarray::Array3;

use super::boundary::Boundary;
use super::mean::mean;
use super::rotation::{AxisChains, Pooling, pool_separable, rotated_chains};
use super::settings::{Dimensions, EnergySettings, LawsKernel};

/// The 1D kernel, normalised to unit L2 norm (as IBSI 2 specifies).
pub fn laws_taps(kernel: LawsKernel) -> Vec<f64> {
    let raw: &[f64] = match kernel {
        LawsKernel::L3 => &[1.0, 2.0, 1.0],
        LawsKernel::E3 => &[-1.0, 0.0, 1.0],
        LawsKernel::S3 => &[-1.0, 2.0, -1.0],
        LawsKernel::L5 => &[1.0, 4.0, 6.0, 4.0, 1.0],
        LawsKernel::E5 => &[-1.0, -2.0, 0.0, 2.0, 1.0],
        LawsKernel::S5 => &[-1.0, 0.0, 2.0, 0.0, -1.0],
        LawsKernel::W5 => &[-1.0, 2.0, 0.0, -2.0, 1.0],
        LawsKernel::R5 => &[1.0, -4.0, 6.0, -4.0, 1.0],
    };
    let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
    raw.iter().map(|v| v / norm).collect()
}

pub struct LawsFilter<'a> {
    pub kernels: &'a [LawsKernel],
    pub rotation_invariant: bool,
    pub pooling: Pooling,
    pub energy: Option<EnergySettings>,
    pub dimensions: Dimensions,
    pub boundary: Boundary,
}

pub fn laws(data: &Array3<f64>, f: &LawsFilter) -> Array3<f64> {
    // One kernel per geometric axis.
    let chains: AxisChains = f.kernels.iter().map(|&k| vec![laws_taps(k)]).collect();
    let filters = if f.rotation_invariant {
        rotated_chains(&chains, f.dimensions.count())
    } else {
        vec![chains]
    };
    let response = pool_separable(data, &filters, f.pooling, f.boundary);
    match f.energy {
        None => response,
        Some(EnergySettings { delta }) => {
            // In place: a fresh volume costs more in page faults than the pass.
            let mut magnitude = response;
            magnitude.mapv_inplace(f64::abs);
            mean(&magnitude, 2 * delta + 1, f.dimensions, f.boundary)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_normalised() {
        let l5 = laws_taps(LawsKernel::L5);
        let norm: f64 = (1.0f64 + 16.0 + 36.0 + 16.0 + 1.0).sqrt();
        assert!((l5[2] - 6.0 / norm).abs() < 1e-15);
        for k in [LawsKernel::E3, LawsKernel::W5, LawsKernel::R5] {
            let s: f64 = laws_taps(k).iter().map(|v| v * v).sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn impulse_response_is_the_outer_product_and_rotation_invariance_pools() {
        let mut x = Array3::<f64>::zeros((5, 5, 5));
        x[[2, 2, 2]] = 1.0;
        let kernels = [LawsKernel::E3, LawsKernel::L3, LawsKernel::L3];
        let f = LawsFilter {
            kernels: &kernels,
            rotation_invariant: false,
            pooling: Pooling::Max,
            energy: None,
            dimensions: Dimensions::Three,
            boundary: Boundary::Zero,
        };
        let out = laws(&x, &f);
        let e3 = laws_taps(LawsKernel::E3);
        let l3 = laws_taps(LawsKernel::L3);
        // True convolution with an impulse reproduces the kernel: out[c + u] = w[c + u].
        assert!((out[[2, 2, 3]] - e3[2] * l3[1] * l3[1]).abs() < 1e-15);
        assert!((out[[2, 2, 1]] - e3[0] * l3[1] * l3[1]).abs() < 1e-15);
        // Max over rotations: E3 along any axis, either sign; the largest
        // response next to the impulse on every axis is |e3| · l3[1]².
        let f = LawsFilter {
            rotation_invariant: true,
            ..f
        };
        let out = laws(&x, &f);
        let peak = e3[2] * l3[1] * l3[1];
        for p in [
            [2, 2, 1],
            [2, 2, 3],
            [2, 1, 2],
            [2, 3, 2],
            [1, 2, 2],
            [3, 2, 2],
        ] {
            assert!((out[p] - peak).abs() < 1e-15, "{p:?}");
        }
        // The energy map averages |response| over a (2δ+1)³ window.
        let f = LawsFilter {
            energy: Some(EnergySettings { delta: 1 }),
            ..f
        };
        let energy = laws(&x, &f);
        let expected: f64 = (1usize..4)
            .flat_map(|k| (1usize..4).flat_map(move |j| (1usize..4).map(move |i| [k, j, i])))
            .map(|p| out[p].abs())
            .sum::<f64>()
            / 27.0;
        assert!((energy[[2, 2, 2]] - expected).abs() < 1e-12);
    }
}
