//! [`CountMatrix`]: a sparse count matrix (row, column, count), sorted, with
//! the number of voxels it was built from. Every texture matrix is one: the
//! rows are dense grey-level indices, the columns a second grey level (GLCM),
//! a run length, zone size, distance or dependence count.
//!
//! Matrices are built by sorting keys, so their size follows the entries
//! present, not Ng × (longest run); merging sums integer counts, which is
//! independent of order, so parallel builds stay bit-identical.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountMatrix {
    /// (row, column, count), sorted by (row, column), counts > 0.
    pub entries: Vec<(u32, u32, u64)>,
    /// Voxels behind the matrix (summed on merging; N_v of IBSI).
    pub n_voxels: u64,
}

/// Packs (row, column) into one sortable key.
#[inline]
pub fn key(row: u32, col: u32) -> u64 {
    ((row as u64) << 32) | col as u64
}

impl CountMatrix {
    /// Counts the keys (see [`key`]); `keys` is sorted in place.
    pub fn from_keys(keys: &mut [u64], n_voxels: u64) -> CountMatrix {
        keys.sort_unstable();
        let mut entries: Vec<(u32, u32, u64)> = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let k = keys[i];
            let mut j = i + 1;
            while j < keys.len() && keys[j] == k {
                j += 1;
            }
            entries.push(((k >> 32) as u32, k as u32, (j - i) as u64));
            i = j;
        }
        CountMatrix { entries, n_voxels }
    }

    /// The element-wise sum of `matrices`, voxel counts summed too.
    pub fn merge<'a>(matrices: impl IntoIterator<Item = &'a CountMatrix>) -> CountMatrix {
        let mut all: Vec<(u32, u32, u64)> = Vec::new();
        let mut n_voxels = 0;
        for m in matrices {
            all.extend_from_slice(&m.entries);
            n_voxels += m.n_voxels;
        }
        all.sort_unstable();
        let mut entries: Vec<(u32, u32, u64)> = Vec::with_capacity(all.len());
        for (r, c, n) in all {
            match entries.last_mut() {
                Some(last) if last.0 == r && last.1 == c => last.2 += n,
                _ => entries.push((r, c, n)),
            }
        }
        CountMatrix { entries, n_voxels }
    }

    pub fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.2).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Tables of at most this many cells (or as many as the observations) are
/// counted densely; larger ones sort their keys.
const DENSE_LIMIT: usize = 1 << 16;

/// Accumulates (row, column) observations into a [`CountMatrix`]: in a dense
/// table when rows × columns is small (the usual case: tens of grey levels),
/// otherwise as keys sorted at the end (1000 bins never allocate Ng² cells).
pub struct Tally {
    dense: Vec<u64>,
    /// Columns of the dense table; 0 when counting keys.
    cols: usize,
    keys: Vec<u64>,
}

impl Tally {
    /// A tally for rows `0..rows`, columns `0..=max_col`, expecting about
    /// `expected` observations.
    pub fn new(rows: usize, max_col: usize, expected: usize) -> Tally {
        let cells = rows.saturating_mul(max_col + 1);
        if cells <= DENSE_LIMIT.max(expected) {
            Tally {
                dense: vec![0; cells],
                cols: max_col + 1,
                keys: Vec::new(),
            }
        } else {
            Tally {
                dense: Vec::new(),
                cols: 0,
                keys: Vec::with_capacity(expected),
            }
        }
    }

    #[inline]
    pub fn add(&mut self, row: u32, col: u32) {
        if self.cols > 0 {
            self.dense[row as usize * self.cols + col as usize] += 1;
        } else {
            self.keys.push(key(row, col));
        }
    }

    pub fn finish(mut self, n_voxels: u64) -> CountMatrix {
        if self.cols == 0 {
            return CountMatrix::from_keys(&mut self.keys, n_voxels);
        }
        let cols = self.cols;
        let entries = self
            .dense
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| ((i / cols) as u32, (i % cols) as u32, n))
            .collect();
        CountMatrix { entries, n_voxels }
    }
}

/// Arithmetic mean of feature vectors, feature by feature, skipping values
/// that are not finite (a feature undefined for one slice or direction, e.g.
/// a correlation with a single grey level, does not poison the average);
/// NaN when no value is finite. Summed in the order given.
pub fn mean_features(rows: &[Vec<f64>]) -> Option<Vec<f64>> {
    let width = rows.first()?.len();
    Some(
        (0..width)
            .map(|f| {
                let (sum, n) = rows
                    .iter()
                    .map(|r| r[f])
                    .filter(|v| v.is_finite())
                    .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 { f64::NAN } else { sum / n as f64 }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_counted_and_matrices_merged() {
        let mut keys = vec![key(1, 2), key(0, 3), key(1, 2), key(0, 1)];
        let m = CountMatrix::from_keys(&mut keys, 4);
        assert_eq!(m.entries, vec![(0, 1, 1), (0, 3, 1), (1, 2, 2)]);
        let mut keys = vec![key(1, 2), key(2, 0)];
        let n = CountMatrix::from_keys(&mut keys, 2);
        let s = CountMatrix::merge([&m, &n]);
        assert_eq!(s.entries, vec![(0, 1, 1), (0, 3, 1), (1, 2, 3), (2, 0, 1)]);
        assert_eq!(s.n_voxels, 6);
        assert_eq!(s.total(), 6);
    }

    #[test]
    fn dense_and_sparse_tallies_agree() {
        let obs = [(2u32, 5u32), (0, 1), (2, 5), (1, 0), (0, 1), (2, 0)];
        let mut dense = Tally::new(3, 5, 0);
        let mut sparse = Tally::new(1 << 20, 1 << 10, 0);
        assert!(dense.cols > 0 && sparse.cols == 0);
        for (r, c) in obs {
            dense.add(r, c);
            sparse.add(r, c);
        }
        let (d, s) = (dense.finish(6), sparse.finish(6));
        assert_eq!(d, s);
        assert_eq!(d.entries, vec![(0, 1, 2), (1, 0, 1), (2, 0, 1), (2, 5, 2)]);
    }

    #[test]
    fn mean_skips_undefined_values() {
        let m = mean_features(&[
            vec![1.0, f64::NAN],
            vec![3.0, f64::NAN],
            vec![f64::NAN, 2.0],
        ])
        .unwrap();
        assert_eq!(m[0], 2.0);
        assert_eq!(m[1], 2.0);
        assert!(mean_features(&[]).is_none());
    }
}
