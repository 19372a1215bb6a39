//! Random forest (Breiman): CART trees grown on bootstrap samples with Gini
//! impurity, a fresh random subset of features tried at every split. The
//! score is the mean over trees of the leaf's positive fraction (as
//! scikit-learn's predict_proba). Trees are plain data, so the model is
//! serialisable; growth is deterministic given the seed.

use ndarray::{ArrayView1, ArrayView2};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub max_features: Option<usize>,
}

/// A tree as a flat node list; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Node {
    /// Go left when x[feature] <= threshold.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// Fraction of positive training samples in the leaf.
    Leaf { positive_fraction: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub trees: Vec<Tree>,
}

impl Forest {
    pub fn score(&self, row: ArrayView1<f64>) -> f64 {
        let total: f64 = self.trees.iter().map(|t| t.score(row)).sum();
        total / self.trees.len() as f64
    }
}

impl Tree {
    pub fn score(&self, row: ArrayView1<f64>) -> f64 {
        let mut at = 0;
        loop {
            match self.nodes[at] {
                Node::Leaf { positive_fraction } => return positive_fraction,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    at = if row[feature] <= threshold {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }
}

/// Grows the forest; tree t uses its own generator seeded from (seed, t),
/// so the result does not depend on how trees are scheduled.
pub fn fit(x: ArrayView2<f64>, y: &[bool], params: &ForestParams, seed: u64) -> Forest {
    let (n, p) = x.dim();
    let mtry = params
        .max_features
        .unwrap_or_else(|| ((p as f64).sqrt().round() as usize).max(1))
        .min(p);
    let trees = (0..params.trees)
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(t as u64 + 1);
            let rows: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
            let mut grower = Grower {
                x,
                y,
                params,
                mtry,
                rng,
                nodes: Vec::new(),
                order: Vec::with_capacity(n),
            };
            let mut rows = rows;
            grower.grow(&mut rows, 0);
            Tree {
                nodes: grower.nodes,
            }
        })
        .collect();
    Forest { trees }
}

struct Grower<'x, 'a> {
    x: ArrayView2<'x, f64>,
    y: &'a [bool],
    params: &'a ForestParams,
    mtry: usize,
    rng: ChaCha8Rng,
    nodes: Vec<Node>,
    /// Scratch: (value, label) of the node's rows, sorted per candidate feature.
    order: Vec<(f64, bool)>,
}

impl Grower<'_, '_> {
    /// Grows the subtree of `rows` (reordered in place) and returns its node index.
    fn grow(&mut self, rows: &mut [usize], depth: usize) -> usize {
        let index = self.nodes.len();
        let n = rows.len();
        let positives = rows.iter().filter(|&&r| self.y[r]).count();
        self.nodes.push(Node::Leaf {
            positive_fraction: positives as f64 / n as f64,
        });
        let pure = positives == 0 || positives == n;
        let depth_reached = self.params.max_depth.is_some_and(|d| depth >= d);
        if pure || depth_reached || n < 2 * self.params.min_samples_leaf {
            return index;
        }
        let Some((feature, threshold)) = self.best_split(rows, positives) else {
            return index;
        };
        // Partition rows: left (<= threshold) first.
        let mut split = 0;
        for i in 0..n {
            if self.x[[rows[i], feature]] <= threshold {
                rows.swap(i, split);
                split += 1;
            }
        }
        let (left_rows, right_rows) = rows.split_at_mut(split);
        let left = self.grow(left_rows, depth + 1);
        let right = self.grow(right_rows, depth + 1);
        self.nodes[index] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
        index
    }

    /// The (feature, threshold) minimising weighted Gini impurity among
    /// `mtry` random features, or None when no split separates anything.
    fn best_split(&mut self, rows: &[usize], positives: usize) -> Option<(usize, f64)> {
        let n = rows.len();
        let p = self.x.ncols();
        let min_leaf = self.params.min_samples_leaf;
        let candidates = sample(&mut self.rng, p, self.mtry).into_vec();
        let mut best: Option<(f64, usize, f64)> = None;
        for feature in candidates {
            self.order.clear();
            self.order
                .extend(rows.iter().map(|&r| (self.x[[r, feature]], self.y[r])));
            self.order.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut left_pos = 0usize;
            for i in 0..n - 1 {
                left_pos += self.order[i].1 as usize;
                let left_n = i + 1;
                if self.order[i].0 == self.order[i + 1].0
                    || left_n < min_leaf
                    || n - left_n < min_leaf
                {
                    continue;
                }
                let right_n = n - left_n;
                let right_pos = positives - left_pos;
                // Weighted Gini, up to constants: minimise sum over sides of n_s * (1 - sum p^2),
                // equivalently maximise sum over sides of (pos^2 + neg^2) / n_s.
                let gain = |pos: usize, total: usize| {
                    let (a, b) = (pos as f64, (total - pos) as f64);
                    (a * a + b * b) / total as f64
                };
                let score = gain(left_pos, left_n) + gain(right_pos, right_n);
                if best.is_none_or(|(s, _, _)| score > s) {
                    let threshold = (self.order[i].0 + self.order[i + 1].0) / 2.0;
                    best = Some((score, feature, threshold));
                }
            }
        }
        let parent = {
            let (a, b) = (positives as f64, (n - positives) as f64);
            (a * a + b * b) / n as f64
        };
        best.filter(|(s, _, _)| *s > parent + 1e-12)
            .map(|(_, f, t)| (f, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn forest_learns_a_threshold_rule_reproducibly() {
        // x0 decides the class (x0 >= 20), x1 is noise.
        let x = ndarray::Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == 0 {
                i as f64
            } else {
                ((i * 17) % 11) as f64
            }
        });
        let y: Vec<bool> = (0..40).map(|i| i >= 20).collect();
        let params = ForestParams {
            trees: 25,
            max_depth: None,
            min_samples_leaf: 1,
            max_features: Some(2),
        };
        let forest = fit(x.view(), &y, &params, 7);
        let low = forest.score(array![0.0, 5.0].view());
        let high = forest.score(array![45.0, 5.0].view());
        assert!(low < 0.05 && high > 0.95, "{low} {high}");
        assert_eq!(forest, fit(x.view(), &y, &params, 7));
        assert_ne!(forest, fit(x.view(), &y, &params, 8));
    }
}
