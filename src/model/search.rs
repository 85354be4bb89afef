//! The hyperparameter search: a seeded random sample of the configured grid, each trial
//! fitted on the training rows and scored on validation; the best validation score wins
//! (the earliest trial on a tie). The test rows are never seen here.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::forest::{self, Forest, Hyper, Presorted};
use super::metrics;
use crate::config::{ModelKind, SearchMetric, SearchSettings};
use crate::rng::SplitMix64;

/// Trials to run: `max_trials` distinct points of the grid, in a seeded random order.
/// A decision tree has no trees to count or features to sample, so its grid is smaller.
pub fn candidates(grid: &SearchSettings, kind: ModelKind, max_trials: u32, seed: u64) -> Vec<Hyper> {
    let forest = kind == ModelKind::RandomForest;
    let n_trees: &[u32] = if forest { &grid.n_trees } else { &[1] };
    let fractions: &[f64] = if forest { &grid.feature_fraction } else { &[1.0] };
    let mut all = Vec::new();
    for &max_depth in &grid.max_depth {
        for &min_samples_leaf in &grid.min_samples_leaf {
            for &trees in n_trees {
                for &feature_fraction in fractions {
                    let hyper = Hyper {
                        max_depth,
                        min_samples_leaf,
                        n_trees: trees,
                        feature_fraction,
                        bootstrap: forest,
                    };
                    if !all.contains(&hyper) {
                        all.push(hyper);
                    }
                }
            }
        }
    }
    SplitMix64::stream(seed, 0x5EA2C4).shuffle(&mut all);
    all.truncate(max_trials as usize);
    all
}

/// One trial's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub hyper: Hyper,
    pub score: f64,
}

/// What the search found: every trial, the winner's index and its fitted forest.
pub struct Outcome {
    pub trials: Vec<Trial>,
    pub best: usize,
    pub forest: Forest,
}

/// Validation data and how to score it.
pub struct Validation<'a> {
    pub x: ArrayView2<'a, f64>,
    pub y: &'a [u8],
    /// Forward return over the label horizon of each validation row (for `sharpe`).
    pub forward_returns: &'a [f64],
    pub metric: SearchMetric,
    pub threshold: f64,
    /// Round-trip costs as a fraction, taken off each long signal's return (for `sharpe`).
    pub round_trip_cost: f64,
}

/// Run every candidate; `progress(done, best score)` after each trial.
pub fn run(
    train: &Presorted,
    validation: &Validation,
    candidates: &[Hyper],
    seed: u64,
    progress: &mut dyn FnMut(usize, f64),
) -> Option<Outcome> {
    let mut trials = Vec::with_capacity(candidates.len());
    let mut best: Option<(usize, Forest)> = None;
    for (index, hyper) in candidates.iter().enumerate() {
        let fitted = forest::fit(train, hyper, SplitMix64::stream(seed, index as u64).next_u64());
        let score = score(&fitted.predict(validation.x), validation);
        trials.push(Trial { hyper: *hyper, score });
        if best.as_ref().is_none_or(|(b, _)| score > trials[*b].score) {
            best = Some((index, fitted));
        }
        let best_score = best.as_ref().map_or(f64::NAN, |(b, _)| trials[*b].score);
        progress(index + 1, best_score);
    }
    let (best, forest) = best?;
    Some(Outcome { trials, best, forest })
}

/// The validation score by the configured metric; higher is better, never NaN.
pub fn score(probabilities: &[f64], validation: &Validation) -> f64 {
    match validation.metric {
        SearchMetric::F1 => {
            metrics::classification(probabilities, validation.y, validation.threshold).map_or(0.0, |m| m.f1)
        }
        SearchMetric::Auc => metrics::roc_auc(probabilities, validation.y).unwrap_or(0.5),
        SearchMetric::Sharpe => signal_sharpe(probabilities, validation),
    }
}

/// Mean over standard deviation of the returns of acting on each validation row: the
/// forward return less costs when P(up) > threshold, else 0. Per signal, not annualised:
/// validation rows of a regime are not consecutive bars. 0 when undefined.
fn signal_sharpe(probabilities: &[f64], validation: &Validation) -> f64 {
    let returns: Vec<f64> = probabilities
        .iter()
        .zip(validation.forward_returns)
        .map(|(&p, &r)| if p > validation.threshold { r - validation.round_trip_cost } else { 0.0 })
        .collect();
    let n = returns.len() as f64;
    if returns.len() < 2 {
        return 0.0;
    }
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if std > 0.0 { mean / std } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_distinct_seeded_and_bounded() {
        let grid = SearchSettings::default();
        let a = candidates(&grid, ModelKind::RandomForest, 20, 42);
        assert_eq!(a.len(), 20);
        assert_eq!(a, candidates(&grid, ModelKind::RandomForest, 20, 42));
        assert_ne!(a, candidates(&grid, ModelKind::RandomForest, 20, 43));
        for (i, h) in a.iter().enumerate() {
            assert!(!a[..i].contains(h));
            assert!(grid.max_depth.contains(&h.max_depth) && grid.n_trees.contains(&h.n_trees));
        }
        // A tree's grid is depth x leaf size: 5 x 4.
        let trees = candidates(&grid, ModelKind::DecisionTree, 50, 42);
        assert_eq!(trees.len(), 20);
        assert!(trees.iter().all(|h| h.n_trees == 1 && !h.bootstrap && h.feature_fraction == 1.0));
    }
}
