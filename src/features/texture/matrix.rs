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
