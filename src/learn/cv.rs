//! Stratified, repeated k-fold splits, reproducible from a seed.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One train/test split, as row indices of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub repeat: usize,
    pub fold: usize,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Each repeat shuffles each class with its own stream of `seed`, then deals
/// the cases of each class round-robin into the folds, so every fold holds
/// floor or ceil of (class size / k) of each class.
pub fn stratified_kfold(
    labels: &[bool],
    k: usize,
    repeats: usize,
    seed: u64,
) -> Result<Vec<Split>> {
    if k < 2 {
        return Err(Error::setting("folds", "at least 2 folds are needed"));
    }
    let classes: [Vec<usize>; 2] = [
        (0..labels.len()).filter(|&i| !labels[i]).collect(),
        (0..labels.len()).filter(|&i| labels[i]).collect(),
    ];
    for (c, members) in classes.iter().enumerate() {
        if members.len() < k {
            return Err(Error::data(format!(
                "the {} class has {} cases, fewer than the {k} folds",
                if c == 1 { "positive" } else { "negative" },
                members.len()
            )));
        }
    }
    let mut splits = Vec::with_capacity(k * repeats);
    for repeat in 0..repeats {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(repeat as u64);
        let mut fold_of = vec![0usize; labels.len()];
        // Continue dealing where the previous class stopped, so fold sizes
        // differ by at most one overall too.
        let mut next = 0;
        for members in &classes {
            let mut shuffled = members.clone();
            shuffled.shuffle(&mut rng);
            for i in shuffled {
                fold_of[i] = next % k;
                next += 1;
            }
        }
        for fold in 0..k {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..labels.len()).partition(|&i| fold_of[i] == fold);
            splits.push(Split {
                repeat,
                fold,
                train,
                test,
            });
        }
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_keep_class_proportions_and_cover_every_case_once() {
        // 10 positives, 23 negatives, 5 folds: each fold holds 2 positives and 4 or 5 negatives.
        let labels: Vec<bool> = (0..33).map(|i| i % 33 < 10).collect();
        let splits = stratified_kfold(&labels, 5, 3, 9).unwrap();
        assert_eq!(splits.len(), 15);
        for repeat in 0..3 {
            let mut seen = [0; 33];
            for s in splits.iter().filter(|s| s.repeat == repeat) {
                let pos = s.test.iter().filter(|&&i| labels[i]).count();
                let neg = s.test.len() - pos;
                assert_eq!(pos, 2);
                assert!(neg == 4 || neg == 5, "{neg}");
                assert!((6..=7).contains(&s.test.len()));
                assert_eq!(s.train.len() + s.test.len(), 33);
                s.test.iter().for_each(|&i| seen[i] += 1);
            }
            assert!(seen.iter().all(|&c| c == 1));
        }
        // Reproducible from the seed; different repeats shuffle differently.
        assert_eq!(splits, stratified_kfold(&labels, 5, 3, 9).unwrap());
        assert_ne!(splits[0].test, splits[5].test);
    }

    #[test]
    fn too_few_cases_in_a_class_is_an_error() {
        let labels = [true, true, false, false, false, false];
        let err = stratified_kfold(&labels, 3, 1, 1).unwrap_err().to_string();
        assert!(err.contains("positive class has 2 cases"), "{err}");
    }
}
