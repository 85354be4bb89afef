//! What a model uses: each feature's importance, two ways. The mean decrease in impurity
//! (MDI) is read off the fitted trees, as scikit-learn's `feature_importances_`; the
//! permutation importance measures the model on validation rows it was not fitted on, as
//! scikit-learn's `permutation_importance`, and so does not favour features with many
//! distinct values the way MDI does.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::forest::{Forest, Tree};
use super::{Model, metrics};
use crate::rng::SplitMix64;

/// Shuffles per feature for the permutation importance, as scikit-learn's default.
pub const REPEATS: usize = 5;

/// A version's feature importances, in the order of its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Mean decrease in Gini impurity, weighted by the training rows (with their bootstrap
    /// multiplicity) through each split, normalised per tree, averaged over the trees that
    /// split, normalised again: scikit-learn's `feature_importances_`. Sums to 1 (all 0
    /// when no tree splits). For gradient boosting, each feature's share of the trees'
    /// total split gain (LightGBM's `importance_type="gain"`, normalised to sum to 1).
    pub impurity: Vec<f64>,
    /// Mean drop of the validation rows' ROC AUC when the feature's values are shuffled
    /// among them ([`REPEATS`] seeded shuffles); near 0 or below for a feature the model
    /// does not need. All 0 when the validation AUC is undefined (one class).
    pub permutation: Vec<f64>,
}

/// Both importances of `model` over `features` inputs; the permutations are drawn from
/// `seed`, so the same inputs give the same values.
pub fn importance(
    model: &Model,
    x_validation: ArrayView2<f64>,
    y_validation: &[u8],
    seed: u64,
) -> Importance {
    let features = x_validation.ncols();
    let impurity = match model {
        Model::Forest(forest) => impurity(forest, features),
        Model::Boosting(booster) => booster.gain_importance(features),
    };
    Importance { impurity, permutation: permutation(model, x_validation, y_validation, seed) }
}

/// scikit-learn's `feature_importances_` of a forest (see [`Importance::impurity`]).
pub fn impurity(forest: &Forest, features: usize) -> Vec<f64> {
    let per_tree: Vec<Vec<f64>> =
        forest.trees.iter().filter(|t| t.feature.len() > 1).map(|t| tree_impurity(t, features)).collect();
    if per_tree.is_empty() {
        return vec![0.0; features];
    }
    let mean: Vec<f64> =
        (0..features).map(|f| per_tree.iter().map(|t| t[f]).sum::<f64>() / per_tree.len() as f64).collect();
    normalised(mean)
}

/// One tree's normalised impurity decrease per feature. A node's class counts are the sum
/// of its leaves' (the leaves keep their training rows' counts), found bottom-up: the
/// tree is in preorder, so children come after their parent.
fn tree_impurity(tree: &Tree, features: usize) -> Vec<f64> {
    let n = tree.feature.len();
    let mut counts = tree.counts.clone();
    for node in (0..n).rev() {
        if tree.feature[node] >= 0 {
            let (left, right) = (counts[tree.left[node] as usize], counts[tree.right[node] as usize]);
            counts[node] = [left[0] + right[0], left[1] + right[1]];
        }
    }
    let weighted_gini = |c: [u32; 2]| -> f64 {
        let total = f64::from(c[0]) + f64::from(c[1]);
        if total == 0.0 {
            return 0.0;
        }
        let (p0, p1) = (f64::from(c[0]) / total, f64::from(c[1]) / total);
        total * (1.0 - p0 * p0 - p1 * p1)
    };
    let mut decrease = vec![0.0; features];
    for node in 0..n {
        let feature = tree.feature[node];
        if feature < 0 {
            continue;
        }
        let (left, right) = (tree.left[node] as usize, tree.right[node] as usize);
        decrease[feature as usize] +=
            weighted_gini(counts[node]) - weighted_gini(counts[left]) - weighted_gini(counts[right]);
    }
    normalised(decrease)
}

fn normalised(values: Vec<f64>) -> Vec<f64> {
    let sum: f64 = values.iter().sum();
    if sum > 0.0 { values.into_iter().map(|v| v / sum).collect() } else { values }
}

/// Mean drop of the ROC AUC on (`x`, `y`) when one feature's column is shuffled, per feature.
pub fn permutation(model: &Model, x: ArrayView2<f64>, y: &[u8], seed: u64) -> Vec<f64> {
    let features = x.ncols();
    let Some(baseline) = metrics::roc_auc(&model.predict(x), y) else { return vec![0.0; features] };
    (0..features)
        .into_par_iter()
        .map(|f| {
            let mut rng = SplitMix64::stream(seed, f as u64);
            let mut shuffled: Array2<f64> = x.to_owned();
            let mut drop = 0.0;
            for _ in 0..REPEATS {
                let mut column: Vec<f64> = x.column(f).to_vec();
                // Fisher-Yates.
                for i in (1..column.len()).rev() {
                    column.swap(i, rng.below(i + 1));
                }
                shuffled.column_mut(f).iter_mut().zip(&column).for_each(|(cell, v)| *cell = *v);
                drop += baseline - metrics::roc_auc(&model.predict(shuffled.view()), y).unwrap_or(0.5);
            }
            drop / REPEATS as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::model::forest::{Hyper, Presorted, fit};

    /// A tree by hand: the root splits feature 1 of 10 rows (6 up, 4 down) into 4 (all
    /// down) and 6 (all up): Gini 0.48 x 10 drops to 0; feature 0 never splits.
    #[test]
    fn a_split_that_separates_the_classes_takes_all_the_importance() {
        let tree = Tree {
            feature: vec![1, -1, -1],
            threshold: vec![0.5, 0.0, 0.0],
            left: vec![1, 0, 0],
            right: vec![2, 0, 0],
            counts: vec![[0, 0], [4, 0], [0, 6]],
        };
        assert_eq!(impurity(&Forest { trees: vec![tree.clone()] }, 2), [0.0, 1.0]);
        // Two levels: the root (feature 0) takes 10 rows (5/5) to 4 (3/1) and 6 (2/4);
        // the right child (feature 1) takes 6 (2/4) to 2 (2/0) and 4 (0/4).
        let deeper = Tree {
            feature: vec![0, -1, 1, -1, -1],
            threshold: vec![0.0; 5],
            left: vec![1, 0, 3, 0, 0],
            right: vec![2, 0, 4, 0, 0],
            counts: vec![[0, 0], [3, 1], [0, 0], [2, 0], [0, 4]],
        };
        let gini = |a: f64, b: f64| (a + b) * (1.0 - (a / (a + b)).powi(2) - (b / (a + b)).powi(2));
        let root = gini(5.0, 5.0) - gini(3.0, 1.0) - gini(2.0, 4.0);
        let child = gini(2.0, 4.0);
        let expected = [root / (root + child), child / (root + child)];
        let got = impurity(&Forest { trees: vec![deeper.clone()] }, 2);
        assert!((got[0] - expected[0]).abs() < 1e-15 && (got[1] - expected[1]).abs() < 1e-15, "{got:?}");
        // A forest averages the trees' shares; a stump without a split does not count.
        let stump = Tree {
            feature: vec![-1],
            threshold: vec![0.0],
            left: vec![0],
            right: vec![0],
            counts: vec![[5, 5]],
        };
        let forest = Forest { trees: vec![tree, deeper, stump] };
        let mean = impurity(&forest, 2);
        assert!((mean[0] - expected[0] / 2.0).abs() < 1e-15, "{mean:?}");
        assert!((mean.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    /// The leaves' counts, summed up the tree, give what routing the training rows through
    /// the fitted tree counts at every node: the importances equal a brute-force count.
    #[test]
    fn the_impurity_importance_of_a_fitted_tree_equals_a_count_of_its_rows() {
        let mut rng = SplitMix64(3);
        let rows = 400;
        let x = Array2::from_shape_fn((rows, 4), |_| rng.normal());
        let y: Vec<u8> =
            (0..rows).map(|r| u8::from(x[[r, 0]] + 0.5 * x[[r, 2]] + 0.3 * rng.normal() > 0.0)).collect();
        let hyper =
            Hyper { max_depth: 5, min_samples_leaf: 5, n_trees: 1, feature_fraction: 1.0, bootstrap: false };
        let forest = fit(&Presorted::new(x.view(), &y).unwrap(), &hyper, 1);
        let tree = &forest.trees[0];
        let mut counts = vec![[0.0f64; 2]; tree.feature.len()];
        for r in 0..rows {
            let mut node = 0;
            loop {
                counts[node][usize::from(y[r])] += 1.0;
                if tree.feature[node] < 0 {
                    break;
                }
                let f = tree.feature[node] as usize;
                node = if x[[r, f]] <= tree.threshold[node] { tree.left[node] } else { tree.right[node] }
                    as usize;
            }
        }
        let gini = |c: [f64; 2]| {
            (c[0] + c[1]) * (1.0 - (c[0] / (c[0] + c[1])).powi(2) - (c[1] / (c[0] + c[1])).powi(2))
        };
        let mut brute = [0.0; 4];
        for node in 0..tree.feature.len() {
            if tree.feature[node] >= 0 {
                let (l, r) = (tree.left[node] as usize, tree.right[node] as usize);
                brute[tree.feature[node] as usize] += gini(counts[node]) - gini(counts[l]) - gini(counts[r]);
            }
        }
        let total: f64 = brute.iter().sum();
        let got = impurity(&forest, 4);
        for f in 0..4 {
            assert!((got[f] - brute[f] / total).abs() < 1e-12, "{f}: {got:?} vs {brute:?}");
        }
        assert!(got[0] > got[2] && got[2] > got[1].max(got[3]), "the signal's features lead: {got:?}");
    }

    #[test]
    fn shuffling_a_feature_the_model_uses_costs_auc_and_one_it_ignores_does_not() {
        let mut rng = SplitMix64(5);
        let rows = 1200;
        let x = Array2::from_shape_fn((rows, 3), |_| rng.normal());
        let y: Vec<u8> = (0..rows).map(|r| u8::from(x[[r, 1]] + 0.3 * rng.normal() > 0.0)).collect();
        let (train, validation) = (x.slice(ndarray::s![..800, ..]), x.slice(ndarray::s![800.., ..]));
        let hyper =
            Hyper { max_depth: 6, min_samples_leaf: 10, n_trees: 30, feature_fraction: 0.7, bootstrap: true };
        let forest = Model::Forest(fit(&Presorted::new(train, &y[..800]).unwrap(), &hyper, 2));
        let importance = importance(&forest, validation, &y[800..], 9);
        assert!(importance.permutation[1] > 0.2, "{importance:?}");
        assert!(
            importance.permutation[0].abs() < 0.02 && importance.permutation[2].abs() < 0.02,
            "{importance:?}"
        );
        assert!(importance.impurity[1] > 0.5, "{importance:?}");
        assert_eq!(importance, super::importance(&forest, validation, &y[800..], 9), "seeded");
        // One class only: the AUC is undefined, and so is any drop of it.
        assert_eq!(permutation(&forest, validation, &[1; 400], 9), [0.0; 3]);
    }
}
