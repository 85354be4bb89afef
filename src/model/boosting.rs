//! Gradient-boosted trees for `training.model: gradient-boosting`, fitted by the crate
//! `forust-ml` (histogram trees, log loss, XGBoost's second-order gains and leaf values).
//!
//! Why forust-ml: measured beside `perpetual` 2.3.0 and LightGBM 4.6 on the shared BTC 1m
//! and ETH/BTC 5m data (docs/metrics.md#gradient-boosting has the figures). perpetual needs
//! a nightly compiler (every release since 2.0 enables an unstable feature), which no
//! machine that builds `retrain` is promised; LightGBM's Rust bindings build its C++ with
//! cmake and bindgen, or need a system library. forust-ml builds on stable Rust from
//! crates.io with crates this build already compiles (rayon, serde), is seeded, and writes
//! its model as JSON whose fields come in a fixed order.
//!
//! The model file is forust-ml's own JSON, so the artifact loads in forust-ml (and its
//! Python package) as it is.

use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::config::BoostingGrid;

/// Hyperparameters of one boosted fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyper {
    pub iterations: u32,
    pub learning_rate: f64,
    pub max_depth: u32,
    pub min_leaf_weight: f64,
    pub subsample: f64,
    pub colsample: f64,
}

/// Every distinct point of the grid, in the config's order.
pub fn grid(g: &BoostingGrid) -> Vec<Hyper> {
    let mut all = Vec::new();
    for &iterations in &g.iterations {
        for &learning_rate in &g.learning_rate {
            for &max_depth in &g.max_depth {
                for &min_leaf_weight in &g.min_leaf_weight {
                    for &subsample in &g.subsample {
                        for &colsample in &g.colsample {
                            let hyper = Hyper {
                                iterations,
                                learning_rate,
                                max_depth,
                                min_leaf_weight,
                                subsample,
                                colsample,
                            };
                            if !all.contains(&hyper) {
                                all.push(hyper);
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

/// A fitted booster (shared, not copied, by a clone: forust-ml's booster has no `Clone`).
#[derive(Clone)]
pub struct Booster {
    inner: std::sync::Arc<GradientBooster>,
    /// Its model file, kept so that equality and writing need no second serialisation.
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Booster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Booster({} trees, {} bytes)", self.inner.trees.len(), self.bytes.len())
    }
}

impl PartialEq for Booster {
    fn eq(&self, other: &Booster) -> bool {
        self.bytes == other.bytes
    }
}

/// forust-ml's matrix is column-major.
fn columns(x: ArrayView2<f64>) -> Vec<f64> {
    x.t().iter().copied().collect()
}

/// Fit on rows `x` (finite values, checked by the caller) with labels `y` of 0 or 1.
pub fn fit(x: ArrayView2<f64>, y: &[u8], hyper: &Hyper, seed: u64) -> Result<Booster, String> {
    let sampled = hyper.subsample < 1.0;
    let mut inner = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(hyper.iterations as usize)
        .set_learning_rate(hyper.learning_rate as f32)
        .set_max_depth(hyper.max_depth as usize)
        .set_min_leaf_weight(hyper.min_leaf_weight as f32)
        .set_subsample(hyper.subsample as f32)
        .set_sample_method(if sampled { SampleMethod::Random } else { SampleMethod::None })
        .set_colsample_bytree(hyper.colsample)
        .set_seed(seed)
        .set_parallel(true);
    let data = columns(x);
    let targets: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
    inner
        .fit_unweighted(&Matrix::new(&data, x.nrows(), x.ncols()), &targets, None)
        .map_err(|e| format!("gradient boosting: {e}"))?;
    let bytes = inner.json_dump().map_err(|e| format!("gradient boosting: {e}"))?.into_bytes();
    Ok(Booster { inner: inner.into(), bytes })
}

impl Booster {
    /// P(up) of every row: the sigmoid of the trees' summed log-odds.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<f64> {
        if x.nrows() == 0 {
            return Vec::new();
        }
        let data = columns(x);
        let log_odds = self.inner.predict(&Matrix::new(&data, x.nrows(), x.ncols()), true);
        log_odds.into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(self.bytes.clone())
    }

    /// Read a model file, refusing one that would index outside itself or the `features`
    /// inputs when it predicts.
    pub fn from_bytes(bytes: &[u8], features: usize) -> Result<Booster, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        let inner = GradientBooster::from_json(text).map_err(|e| e.to_string())?;
        validate(&inner, features)?;
        Ok(Booster { inner: inner.into(), bytes: bytes.to_vec() })
    }

    /// Each feature's share of the total split gain over every tree (LightGBM's
    /// `importance_type="gain"`, normalised); all 0 when no tree splits.
    pub fn gain_importance(&self, features: usize) -> Vec<f64> {
        let gains = self.inner.calculate_feature_importance(ImportanceMethod::TotalGain, false);
        let mut shares = vec![0.0; features];
        for (&feature, &gain) in &gains {
            if feature < features {
                shares[feature] = f64::from(gain);
            }
        }
        let total: f64 = shares.iter().sum();
        if total > 0.0 {
            shares.iter_mut().for_each(|s| *s /= total);
        }
        shares
    }
}

/// Every tree's nodes point forward inside the tree (so no walk loops or leaves it) and
/// split on one of the model's features; the values are finite.
fn validate(booster: &GradientBooster, features: usize) -> Result<(), String> {
    if !matches!(booster.objective_type, ObjectiveType::LogLoss) {
        return Err("the model is not a classifier (its objective is not log loss)".into());
    }
    if booster.trees.is_empty() {
        return Err("the model holds no tree".into());
    }
    if booster.prediction_iteration.is_some_and(|n| n > booster.trees.len()) {
        return Err("the model predicts with more trees than it holds".into());
    }
    if !booster.base_score.is_finite() {
        return Err("the model's base score is not finite".into());
    }
    for (t, tree) in booster.trees.iter().enumerate() {
        let n = tree.nodes.len();
        if n == 0 {
            return Err(format!("tree {t} is malformed"));
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            if !node.weight_value.is_finite() {
                return Err(format!("tree {t}, node {i} has a value that is not finite"));
            }
            if node.is_leaf {
                continue;
            }
            let forward = |c: usize| c > i && c < n;
            let ok = forward(node.left_child)
                && forward(node.right_child)
                && forward(node.missing_node)
                && node.split_feature < features;
            if !ok || node.split_value.is_nan() {
                return Err(format!("tree {t}, node {i} points outside the model"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metrics;
    use crate::rng::SplitMix64;
    use ndarray::{Array2, Axis, s};

    fn hyper() -> Hyper {
        Hyper {
            iterations: 60,
            learning_rate: 0.1,
            max_depth: 3,
            min_leaf_weight: 1.0,
            subsample: 0.8,
            colsample: 0.8,
        }
    }

    fn data(rows: usize, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut rng = SplitMix64(seed);
        let x = Array2::from_shape_fn((rows, 5), |_| rng.normal());
        let y =
            x.axis_iter(Axis(0)).map(|r| u8::from(r[0] - 0.5 * r[3] + 0.4 * rng.normal() > 0.0)).collect();
        (x, y)
    }

    #[test]
    fn a_booster_learns_is_reproducible_and_round_trips_through_its_file() {
        let (x, y) = data(1500, 4);
        let (train, test) = (x.slice(s![..1000, ..]), x.slice(s![1000.., ..]));
        let a = fit(train, &y[..1000], &hyper(), 7).unwrap();
        assert_eq!(a.to_bytes().unwrap(), fit(train, &y[..1000], &hyper(), 7).unwrap().to_bytes().unwrap());
        assert_ne!(a, fit(train, &y[..1000], &hyper(), 8).unwrap(), "the seed draws the rows and columns");
        let p = a.predict(test);
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        let auc = metrics::roc_auc(&p, &y[1000..]).unwrap();
        assert!(auc > 0.85, "out-of-sample AUC {auc}");
        let loaded = Booster::from_bytes(&a.to_bytes().unwrap(), 5).unwrap();
        assert_eq!(loaded.predict(test), p);
        let importance = a.gain_importance(5);
        assert!((importance.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{importance:?}");
        assert!(importance[0] > importance[3] && importance[3] > importance[1], "{importance:?}");
    }

    #[test]
    fn a_model_file_that_points_outside_itself_is_refused() {
        let (x, y) = data(300, 5);
        let booster = fit(x.view(), &y, &hyper(), 1).unwrap();
        assert!(Booster::from_bytes(&booster.to_bytes().unwrap(), 4).is_err(), "feature 4 of 4 inputs");
        let mut json: serde_json::Value = serde_json::from_slice(&booster.to_bytes().unwrap()).unwrap();
        json["trees"][0]["nodes"][0]["left_child"] = 0.into();
        let err = Booster::from_bytes(json.to_string().as_bytes(), 5).unwrap_err();
        assert_eq!(err, "tree 0, node 0 points outside the model");
        json["trees"] = serde_json::json!([]);
        assert!(Booster::from_bytes(json.to_string().as_bytes(), 5).is_err());
        assert!(Booster::from_bytes(b"{\"trees\": 3}", 5).is_err());
    }
}
