//! Model artifacts: `<models>/<SYMBOL>/<regime>/v<N>/` holding the model, the drift
//! reference and a manifest that lists both with their SHA-256; the registry keeps the
//! manifest's SHA-256. The manifest is published last ([`storage`] says how on a folder
//! and on an object store); a load verifies every checksum and names the file that fails.

pub mod copy;
pub mod storage;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::candles::Interval;
use crate::config::{FeatureSettings, LabelSettings, ModelKind, Regime, RegimeSettings, SearchMetric};
use crate::drift::calibration::Calibration;
use crate::model::calibrate::{Calibrator, TestReliability};
use crate::model::dataset::{NoiseReport, Scaling};
use crate::model::importance::Importance;
use crate::model::metrics::Classification;
use crate::model::{Hyperparameters, Model};
use crate::symbol::Symbol;
pub use storage::Models;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MODEL_FILE: &str = "model.json";
pub const REFERENCE_FILE: &str = "reference.json";

/// One part of the split as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Open time (epoch ms) of the first and last row.
    pub from: i64,
    pub to: i64,
    pub rows: usize,
    /// Share of rows labelled 1.
    pub positive_rate: f64,
}

/// How the search went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSummary {
    pub metric: SearchMetric,
    pub trials: usize,
    pub best_validation_score: f64,
}

/// Everything needed to use, check and reproduce a version. Holds no clock time or
/// path, so the same data, config and seed give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub symbol: Symbol,
    pub regime: Regime,
    pub interval: Interval,
    pub version: i64,
    pub model: ModelKind,
    /// Model inputs, in order.
    pub features: Vec<String>,
    pub scaling: Scaling,
    pub constant_features: Vec<String>,
    pub hyperparameters: Hyperparameters,
    pub seed: u64,
    pub search: SearchSummary,
    /// The settings the features, regimes and labels were computed with, so that later
    /// evaluations compute them the same way whatever the config says by then.
    pub feature_settings: FeatureSettings,
    pub regime_settings: RegimeSettings,
    pub label: LabelSettings,
    pub train: Window,
    pub validation: Window,
    pub test: Window,
    pub noise_filter: Option<NoiseReport>,
    pub test_metrics: Classification,
    /// What the model uses, per feature in `features` order; absent from artifacts made
    /// before importances were kept.
    #[serde(default)]
    pub importance: Option<Importance>,
    /// The map from the model's P(up) to the calibrated P(up) that every prediction uses,
    /// fitted on the validation rows; absent with `training.calibration: none`, and from
    /// artifacts made before calibration existed.
    #[serde(default)]
    pub calibration: Option<Calibrator>,
    /// How well P(up) matched outcomes on the test rows, before and after calibration;
    /// absent from artifacts made before it was kept.
    #[serde(default)]
    pub reliability: Option<TestReliability>,
    /// How `training.refresh: incremental` made the model from the production version;
    /// absent when a search made it (and then not written, so that such manifests are
    /// what they were before refreshes existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed: Option<crate::model::pipeline::Refreshed>,
    pub config_hash: String,
    pub data_fingerprint: String,
    /// SHA-256 of the other files of the artifact.
    pub files: BTreeMap<String, String>,
}

/// The training distribution, kept for drift checks: a bounded sample of training rows
/// (raw feature values), the deciles of every feature over all training rows, the model's
/// predictions on the sample (out-of-bag for a forest, so that they are as confident as
/// live ones; in-sample for a single tree), and the calibration of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub features: Vec<String>,
    pub training_rows: usize,
    /// Per feature, the sampled rows' values.
    pub sample: Vec<Vec<f64>>,
    /// Per feature, the nine inner decile edges (linear interpolation, numpy's default).
    pub deciles: Vec<Vec<f64>>,
    pub predictions: Vec<f64>,
    pub label_rate: f64,
    /// Each feature's (and the predictions') null distribution for calibrated drift; absent
    /// when the training period holds too few window-sized chunks, and from artifacts made
    /// before calibrations were kept.
    #[serde(default)]
    pub calibration: Option<Calibration>,
}

/// A verified artifact in memory.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub manifest: Manifest,
    pub model: Model,
    pub reference: Reference,
}

impl Loaded {
    /// P(up) of every row of `x` (scaled features), calibrated by the version's map.
    pub fn predict(&self, x: ndarray::ArrayView2<f64>) -> Vec<f64> {
        calibrated(&self.model, self.manifest.calibration.as_ref(), x)
    }
}

/// The model's P(up), through `calibration` when there is one.
pub fn calibrated(model: &Model, calibration: Option<&Calibrator>, x: ndarray::ArrayView2<f64>) -> Vec<f64> {
    let mut p = model.predict(x);
    if let Some(map) = calibration {
        p.iter_mut().for_each(|p| *p = map.apply(*p));
    }
    p
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The folder of a version, relative to the models' root and '/'-separated (it is the
/// registry's `artifact_path`); the symbol's checks make it a plain folder name.
pub fn relative_dir(symbol: &Symbol, regime: Regime, version: i64) -> String {
    format!("{}/{}/v{version}", symbol.as_str(), regime.as_str())
}

/// Write the three files and return the manifest's SHA-256; see [`Models::publish`] for
/// how each kind of store publishes them.
pub fn write(
    models: &Models,
    manifest: &mut Manifest,
    model: &Model,
    reference: &Reference,
) -> anyhow::Result<String> {
    let relative = relative_dir(&manifest.symbol, manifest.regime, manifest.version);
    let model_bytes = model.to_bytes()?;
    let reference_bytes = serde_json::to_vec(reference)?;
    manifest.files = BTreeMap::from([
        (MODEL_FILE.to_string(), sha256_hex(&model_bytes)),
        (REFERENCE_FILE.to_string(), sha256_hex(&reference_bytes)),
    ]);
    let manifest_bytes = serde_json::to_vec_pretty(manifest)?;
    models.publish(
        &relative,
        &[(MODEL_FILE, &model_bytes), (REFERENCE_FILE, &reference_bytes)],
        (MANIFEST_FILE, &manifest_bytes),
    )?;
    Ok(sha256_hex(&manifest_bytes))
}

/// Check a version's files against the registry's checksum; the error names the file.
pub fn verify(models: &Models, relative: &str, manifest_sha: &str) -> Result<Manifest, String> {
    verified(models, relative, manifest_sha).map(|(manifest, _)| manifest)
}

/// The manifest and the other files' bytes, each checked.
fn verified(
    models: &Models,
    relative: &str,
    manifest_sha: &str,
) -> Result<(Manifest, BTreeMap<String, Vec<u8>>), String> {
    let at = |name: &str| format!("{relative}/{name}");
    let manifest_bytes = models.get(&at(MANIFEST_FILE))?;
    if sha256_hex(&manifest_bytes) != manifest_sha {
        return Err(format!(
            "{}: checksum mismatch (the registry has {manifest_sha})",
            models.locate(&at(MANIFEST_FILE))
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| format!("{}: {e}", models.locate(&at(MANIFEST_FILE))))?;
    let mut files = BTreeMap::new();
    for (name, expected) in &manifest.files {
        let bytes = models.get(&at(name))?;
        if sha256_hex(&bytes) != *expected {
            return Err(format!(
                "{}: checksum mismatch (the manifest has {expected})",
                models.locate(&at(name))
            ));
        }
        files.insert(name.clone(), bytes);
    }
    Ok((manifest, files))
}

/// Every file of a version, each checked (the manifest against the registry's SHA-256,
/// the others against the manifest), the manifest last: what a backup copies.
pub fn verified_files(
    models: &Models,
    relative: &str,
    manifest_sha: &str,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let (_, files) = verified(models, relative, manifest_sha)?;
    let manifest = models.get(&format!("{relative}/{MANIFEST_FILE}"))?;
    if sha256_hex(&manifest) != manifest_sha {
        return Err(format!(
            "{}: changed while it was read",
            models.locate(&format!("{relative}/{MANIFEST_FILE}"))
        ));
    }
    let mut all: Vec<(String, Vec<u8>)> = files.into_iter().collect();
    all.push((MANIFEST_FILE.to_string(), manifest));
    Ok(all)
}

/// Load and verify a version.
pub fn load(models: &Models, relative: &str, manifest_sha: &str) -> Result<Loaded, String> {
    let (manifest, files) = verified(models, relative, manifest_sha)?;
    let at = |name: &str| models.locate(&format!("{relative}/{name}"));
    let bytes = |name: &str| files.get(name).ok_or_else(|| format!("{}: not in the manifest", at(name)));
    let reference: Reference =
        serde_json::from_slice(bytes(REFERENCE_FILE)?).map_err(|e| format!("{}: {e}", at(REFERENCE_FILE)))?;
    let features = manifest.features.len();
    if manifest.scaling.mean.len() != features || manifest.scaling.std.len() != features {
        return Err(format!("{}: the scaling does not match the features", at(MANIFEST_FILE)));
    }
    let model = Model::from_bytes(manifest.model, bytes(MODEL_FILE)?, features)
        .map_err(|e| format!("{}: {e}", at(MODEL_FILE)))?;
    if let Some(map) = &manifest.calibration {
        map.validate().map_err(|e| format!("{}: {e}", at(MANIFEST_FILE)))?;
    }
    Ok(Loaded { manifest, model, reference })
}

/// The p-quantile of sorted values by linear interpolation (Hyndman-Fan type 7, numpy's
/// default): h = (n - 1) p, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let low = h.floor() as usize;
    let high = (low + 1).min(sorted.len() - 1);
    sorted[low] + (h - low as f64) * (sorted[high] - sorted[low])
}

/// The nine inner decile edges of `values`.
pub fn deciles(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (1..10).map(|k| quantile_sorted(&sorted, f64::from(k) / 10.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.1, 0.5, 0.9]) = [1.3, 2.5, 3.7]
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile_sorted(&sorted, 0.1) - 1.3).abs() < 1e-12);
        assert_eq!(quantile_sorted(&sorted, 0.5), 2.5);
        assert!((quantile_sorted(&sorted, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(deciles(&[5.0; 3]), vec![5.0; 9]);
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
