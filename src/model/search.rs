//! The hyperparameter search: a seeded random sample of the configured grid, each trial
//! fitted on the training rows and scored on validation; the best validation score wins
//! (the earliest trial on a tie). The test rows are never seen here.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::forest::{self, Hyper, Presorted};
use super::histogram::{self, Binned};
use super::{Hyperparameters, Model, boosting, metrics};
use crate::config::{ModelKind, SearchMetric, SearchSettings, Splits};
use crate::rng::SplitMix64;

/// Trials to run: `max_trials` distinct points of the family's grid, in a seeded random
/// order. A decision tree has no trees to count or features to sample, so its grid is
/// smaller; gradient boosting has a grid of its own (`training.search.boosting`).
pub fn candidates(
    grid: &SearchSettings,
    kind: ModelKind,
    max_trials: u32,
    seed: u64,
) -> Vec<Hyperparameters> {
    let mut all: Vec<Hyperparameters> = match kind {
        ModelKind::GradientBoosting => {
            boosting::grid(&grid.boosting).into_iter().map(Hyperparameters::Boosting).collect()
        }
        _ => forest_grid(grid, kind).into_iter().map(Hyperparameters::Forest).collect(),
    };
    SplitMix64::stream(seed, 0x5EA2C4).shuffle(&mut all);
    all.truncate(max_trials as usize);
    all
}

/// Every distinct point of a forest's (or a tree's) grid, in the config's order.
fn forest_grid(grid: &SearchSettings, kind: ModelKind) -> Vec<Hyper> {
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
    all
}

/// The training rows, with what each family fits from: a forest its presorted columns
/// (exact splits) or its binned rows (histogram splits), made at the first forest trial
/// and shared by every later one.
pub struct Training<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [u8],
    splits: Splits,
    presorted: std::sync::OnceLock<Presorted<'a>>,
    binned: std::sync::OnceLock<Binned<'a>>,
}

impl<'a> Training<'a> {
    /// `x` is rows x features, finite values; `y` holds 0 or 1 per row.
    pub fn new(x: ArrayView2<'a, f64>, y: &'a [u8], splits: Splits) -> Result<Training<'a>, String> {
        forest::check_rows(x, y)?;
        Ok(Training {
            x,
            y,
            splits,
            presorted: std::sync::OnceLock::new(),
            binned: std::sync::OnceLock::new(),
        })
    }

    /// Fit one trial's model.
    pub fn fit(&self, hyper: &Hyperparameters, seed: u64) -> Result<Model, String> {
        Ok(match hyper {
            Hyperparameters::Forest(h) => Model::Forest(self.fit_forest(h, seed)),
            Hyperparameters::Boosting(h) => Model::Boosting(boosting::fit(self.x, self.y, h, seed)?),
        })
    }

    /// Fit a forest (or a tree) by the configured splits.
    pub fn fit_forest(&self, hyper: &Hyper, seed: u64) -> forest::Forest {
        if self.splits == Splits::Histogram {
            histogram::fit(self.binned.get_or_init(|| Binned::new(self.x, self.y)), hyper, seed)
        } else {
            forest::fit(self.presorted.get_or_init(|| Presorted::sorted(self.x, self.y)), hyper, seed)
        }
    }
}

/// One trial's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub hyper: Hyperparameters,
    pub score: f64,
}

/// What the search found: every trial, the winner's index and its fitted model.
pub struct Outcome {
    pub trials: Vec<Trial>,
    pub best: usize,
    pub model: Model,
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

/// Run every candidate; `progress(done, best score)` after each trial. An error when there
/// is no candidate, or a fit fails.
pub fn run(
    train: &Training,
    validation: &Validation,
    candidates: &[Hyperparameters],
    seed: u64,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<Outcome, String> {
    let mut trials = Vec::with_capacity(candidates.len());
    let mut best: Option<(usize, Model)> = None;
    for (index, hyper) in candidates.iter().enumerate() {
        let fitted = train.fit(hyper, SplitMix64::stream(seed, index as u64).next_u64())?;
        let score = score(&fitted.predict(validation.x), validation);
        trials.push(Trial { hyper: *hyper, score });
        if best.as_ref().is_none_or(|(b, _)| score > trials[*b].score) {
            best = Some((index, fitted));
        }
        let best_score = best.as_ref().map_or(f64::NAN, |(b, _)| trials[*b].score);
        progress(index + 1, best_score);
    }
    let (best, model) = best.ok_or("the search ran no trial")?;
    Ok(Outcome { trials, best, model })
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
            let Hyperparameters::Forest(h) = h else { panic!("{h:?}") };
            assert!(grid.max_depth.contains(&h.max_depth) && grid.n_trees.contains(&h.n_trees));
        }
        // A tree's grid is depth x leaf size: 5 x 4.
        let trees = candidates(&grid, ModelKind::DecisionTree, 50, 42);
        assert_eq!(trees.len(), 20);
        assert!(trees.iter().all(|h| matches!(
            h,
            Hyperparameters::Forest(h) if h.n_trees == 1 && !h.bootstrap && h.feature_fraction == 1.0
        )));
        // Boosting draws from its own grid: 3 x 3 x 3 x 3 x 2 x 3 points by default.
        let boosted = candidates(&grid, ModelKind::GradientBoosting, 1000, 42);
        assert_eq!(boosted.len(), 486);
        assert!(boosted.iter().all(|h| matches!(h, Hyperparameters::Boosting(_))));
    }
}
