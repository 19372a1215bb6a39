//! PyRadiomics' grey-level discretisation: bin edges then `numpy.digitize`.
//!
//! Fixed bin width: edges start at the largest multiple of the width not
//! above the minimum (`min - min mod w`, Python's floor modulo) and run in
//! steps of `w` (`numpy.arange(low, max + 2w, w)`, i.e. `low + k·w`); a value
//! gets the number of edges at or below it. Unlike IBSI, bins are aligned on
//! multiples of the width, not on the minimum.
//! Fixed bin count: `numpy.histogram`'s edges (`linspace(min, max, n + 1)`),
//! with the last edge raised by 1 so that the maximum falls in bin n.

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binning {
    Width(f64),
    Count(u32),
}

/// Bin edges, increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Edges(pub Vec<f64>);

impl Binning {
    pub fn edges(&self, values: &[f64]) -> Result<Edges> {
        if values.is_empty() {
            return Err(Error::data("binning: the ROI has no voxel"));
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match *self {
            Binning::Width(w) => {
                let low = min - python_mod(min, w);
                let high = max + 2.0 * w;
                let n = ((high - low) / w).ceil().max(0.0) as usize;
                let mut edges: Vec<f64> = (0..n).map(|k| low + k as f64 * w).collect();
                if edges.len() == 1 {
                    edges = vec![edges[0] - 0.5, edges[0] + 0.5];
                }
                Ok(Edges(edges))
            }
            Binning::Count(n) => {
                let (lo, hi) = if min == max {
                    (min - 0.5, max + 0.5)
                } else {
                    (min, max)
                };
                let step = (hi - lo) / f64::from(n);
                let mut edges: Vec<f64> = (0..=n).map(|k| lo + f64::from(k) * step).collect();
                let last = edges.len() - 1;
                edges[last] = hi + 1.0;
                Ok(Edges(edges))
            }
        }
    }
}

impl Edges {
    /// `numpy.digitize(value, edges)`: the number of edges ≤ value.
    pub fn level(&self, value: f64) -> u32 {
        self.0.partition_point(|&e| e <= value) as u32
    }
}

/// Python's `a % b` (the sign of the divisor).
fn python_mod(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_edges_are_aligned_on_multiples() {
        // PyRadiomics' documented example: values 54..166, width 25.
        let e = Binning::Width(25.0).edges(&[54.0, 166.0]).unwrap();
        assert_eq!(e.0, vec![50.0, 75.0, 100.0, 125.0, 150.0, 175.0, 200.0]);
        assert_eq!(e.level(54.0), 1);
        assert_eq!(e.level(75.0), 2);
        assert_eq!(e.level(166.0), 5);
    }

    #[test]
    fn negative_minimum_uses_floor_modulo() {
        let e = Binning::Width(25.0)
            .edges(&[-1000.0, -990.0, -24.0])
            .unwrap();
        assert_eq!(e.0[0], -1000.0);
        assert_eq!(e.level(-1000.0), 1);
        assert_eq!(e.level(-24.0), 40);
        let e = Binning::Width(25.0).edges(&[-1001.0]).unwrap();
        assert_eq!(e.0[0], -1025.0);
    }

    #[test]
    fn count_puts_the_maximum_in_the_last_bin() {
        let e = Binning::Count(4).edges(&[0.0, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!(e.level(0.0), 1);
        assert_eq!(e.level(1.0), 2);
        assert_eq!(e.level(4.0), 4);
    }
}
