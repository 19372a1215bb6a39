//! The features shared by PyRadiomics' GLRLM, GLSZM and GLDM: a matrix of
//! counts P(i, j) over grey level i and a second index j (run length, zone
//! size, dependence), summarised with PyRadiomics' normalisations (by the
//! total count N, and entropy with log2(p + ε)).

/// A sparse count matrix: (grey level value, j value, count).
#[derive(Debug, Clone, Default)]
pub struct LevelCounts {
    pub entries: Vec<(f64, f64, f64)>,
}

impl LevelCounts {
    /// The counts of (grey level, j) pairs, entries in increasing (level, j)
    /// order. Counted in a dense table when it is small beside the number
    /// of pairs, else by sorting packed keys (several times faster than a
    /// hash map per pair); both give the same entries in the order the
    /// summaries are added in.
    pub fn of_pairs(pairs: impl IntoIterator<Item = (u32, u32)>) -> LevelCounts {
        let pairs: Vec<(u32, u32)> = pairs.into_iter().collect();
        let (mut top_level, mut top_j) = (0usize, 0usize);
        for &(level, j) in &pairs {
            top_level = top_level.max(level as usize);
            top_j = top_j.max(j as usize);
        }
        let cells = (top_level + 1).saturating_mul(top_j + 1);
        if cells <= 4 * pairs.len() + 4096 {
            Self::counted(&pairs, top_j + 1, cells)
        } else {
            Self::sorted(&pairs)
        }
    }

    fn counted(pairs: &[(u32, u32)], width: usize, cells: usize) -> LevelCounts {
        let mut table = vec![0u32; cells];
        for &(level, j) in pairs {
            table[level as usize * width + j as usize] += 1;
        }
        let entries = table
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(cell, &c)| ((cell / width) as f64, (cell % width) as f64, f64::from(c)))
            .collect();
        LevelCounts { entries }
    }

    fn sorted(pairs: &[(u32, u32)]) -> LevelCounts {
        let mut keys: Vec<u64> = pairs
            .iter()
            .map(|&(level, j)| (u64::from(level) << 32) | u64::from(j))
            .collect();
        keys.sort_unstable();
        let mut entries: Vec<(f64, f64, f64)> = Vec::new();
        for chunk in keys.chunk_by(|a, b| a == b) {
            let key = chunk[0];
            entries.push((
                (key >> 32) as f64,
                (key & 0xFFFF_FFFF) as f64,
                chunk.len() as f64,
            ));
        }
        LevelCounts { entries }
    }
}

/// The summaries every one of the three classes reads.
pub struct Summaries {
    pub n: f64,
    /// Σ P/j², Σ P·j², Σ_i (Σ_j P)², Σ_j (Σ_i P)², Σ P/i², Σ P·i²,
    /// Σ P/(i²j²), Σ P·i²/j², Σ P·j²/i², Σ P·i²·j², grey-level variance,
    /// j variance, entropy, Σ P·j.
    pub small: f64,
    pub large: f64,
    pub gln: f64,
    pub jn: f64,
    pub low: f64,
    pub high: f64,
    pub small_low: f64,
    pub small_high: f64,
    pub large_low: f64,
    pub large_high: f64,
    pub gl_variance: f64,
    pub j_variance: f64,
    pub entropy: f64,
    pub n_voxels: f64,
}

impl LevelCounts {
    /// `None` when the matrix is empty (PyRadiomics' NaN, left out of angle means).
    pub fn summaries(&self) -> Option<Summaries> {
        let n: f64 = self.entries.iter().map(|e| e.2).sum();
        if n == 0.0 {
            return None;
        }
        let eps = f64::EPSILON;
        let mut by_i: Vec<(f64, f64)> = Vec::new();
        let mut by_j: Vec<(f64, f64)> = Vec::new();
        let mut s = Summaries {
            n,
            small: 0.0,
            large: 0.0,
            gln: 0.0,
            jn: 0.0,
            low: 0.0,
            high: 0.0,
            small_low: 0.0,
            small_high: 0.0,
            large_low: 0.0,
            large_high: 0.0,
            gl_variance: 0.0,
            j_variance: 0.0,
            entropy: 0.0,
            n_voxels: 0.0,
        };
        let (mut mu_i, mut mu_j) = (0.0, 0.0);
        for &(i, j, c) in &self.entries {
            let (i2, j2) = (i * i, j * j);
            s.small += c / j2;
            s.large += c * j2;
            s.low += c / i2;
            s.high += c * i2;
            s.small_low += c / (i2 * j2);
            s.small_high += c * i2 / j2;
            s.large_low += c * j2 / i2;
            s.large_high += c * i2 * j2;
            s.n_voxels += c * j;
            let p = c / n;
            s.entropy -= p * (p + eps).log2();
            mu_i += p * i;
            mu_j += p * j;
            add(&mut by_i, i, c);
            add(&mut by_j, j, c);
        }
        for &(i, j, c) in &self.entries {
            let p = c / n;
            s.gl_variance += p * (i - mu_i).powi(2);
            s.j_variance += p * (j - mu_j).powi(2);
        }
        s.gln = by_i.iter().map(|(_, c)| c * c).sum();
        s.jn = by_j.iter().map(|(_, c)| c * c).sum();
        Some(s)
    }
}

fn add(acc: &mut Vec<(f64, f64)>, key: f64, c: f64) {
    match acc.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 += c,
        None => acc.push((key, c)),
    }
}

/// Mean over angles of the defined values (numpy's `nanmean`).
pub fn nanmean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        if !v.is_nan() {
            sum += v;
            n += 1;
        }
    }
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sorted_counting_give_the_same_entries() {
        let pairs: Vec<(u32, u32)> = (0..500u32)
            .map(|k| (1 + (k * 7919) % 13, 1 + (k * 104_729) % 37))
            .collect();
        let (top_l, top_j) = (13usize, 37usize);
        let dense = LevelCounts::counted(&pairs, top_j + 1, (top_l + 1) * (top_j + 1));
        let sorted = LevelCounts::sorted(&pairs);
        assert_eq!(dense.entries, sorted.entries);
        assert_eq!(
            sorted.entries.iter().map(|e| e.2).sum::<f64>(),
            pairs.len() as f64
        );
        assert_eq!(LevelCounts::of_pairs(pairs).entries, sorted.entries);
    }
}
