//! Models and their measurement: forests, gradient boosting, scaling, metrics, the search,
//! the dataset assembly with its time split. Pure: arrays and plain structs in, results out.

pub mod boosting;
pub mod calibrate;
pub mod dataset;
pub mod forest;
pub mod histogram;
pub mod importance;
pub mod metrics;
pub mod pipeline;
pub mod search;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::config::ModelKind;

/// The hyperparameters of one fit, of either family. Untagged, so that the manifests and
/// registry rows written before boosting existed (a forest's fields alone) still read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Hyperparameters {
    Forest(forest::Hyper),
    Boosting(boosting::Hyper),
}

impl std::fmt::Display for Hyperparameters {
    /// `name value` pairs, as `train` prints the search's choice.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hyperparameters::Forest(h) => write!(
                f,
                "max_depth {}, min_samples_leaf {}, n_trees {}, feature_fraction {}",
                h.max_depth, h.min_samples_leaf, h.n_trees, h.feature_fraction
            ),
            Hyperparameters::Boosting(h) => write!(
                f,
                "iterations {}, learning_rate {}, max_depth {}, min_leaf_weight {}, subsample {}, colsample {}",
                h.iterations, h.learning_rate, h.max_depth, h.min_leaf_weight, h.subsample, h.colsample
            ),
        }
    }
}

/// A fitted model of any family.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// A random forest, or a decision tree (a forest of one tree).
    Forest(forest::Forest),
    Boosting(boosting::Booster),
}

impl Model {
    /// P(up) of every row of `x` (rows x the model's features, scaled).
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<f64> {
        match self {
            Model::Forest(forest) => forest.predict(x),
            Model::Boosting(booster) => booster.predict(x),
        }
    }

    /// The artifact's model file: the same model gives the same bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            Model::Forest(forest) => serde_json::to_vec(forest),
            Model::Boosting(booster) => booster.to_bytes(),
        }
    }

    /// Read a model file written by [`Model::to_bytes`] for a model of `kind` over
    /// `features` inputs, refusing one that would not predict (a tree pointing outside
    /// itself, say) with a message, never a crash.
    pub fn from_bytes(kind: ModelKind, bytes: &[u8], features: usize) -> Result<Model, String> {
        let model = match kind {
            ModelKind::DecisionTree | ModelKind::RandomForest => {
                let forest: forest::Forest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                forest.validate(features)?;
                Model::Forest(forest)
            }
            ModelKind::GradientBoosting => Model::Boosting(boosting::Booster::from_bytes(bytes, features)?),
        };
        Ok(model)
    }
}
