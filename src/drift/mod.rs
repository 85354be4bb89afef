//! Drift: how far a recent sample of each feature (and of the model's predictions and
//! labels) has moved from the training reference, turned into severities by the
//! configured bands. Pure: samples in, a report out.

pub mod calibration;
pub mod ks;
pub mod model;
#[cfg(test)]
mod oracle_tests;
pub mod stats;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{DriftMethod, DriftSettings, Severity};
use crate::normal;
use calibration::Calibration;

/// One feature's drift statistics; `None` where a statistic is undefined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub name: String,
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Values left out because they were NaN or infinite (both samples).
    pub non_finite: usize,
    pub psi: Option<f64>,
    pub ks_statistic: Option<f64>,
    pub ks_p_value: Option<f64>,
    pub js_distance: Option<f64>,
    /// Wasserstein-1 distance divided by the reference's standard deviation.
    pub wasserstein: Option<f64>,
    pub drifted: bool,
    pub severity: Option<Severity>,
    pub note: Option<String>,
    /// calibrated: the KS statistic beyond which this feature drifts.
    #[serde(default)]
    pub ks_threshold: Option<f64>,
    /// calibrated: the PSI beyond which this feature drifts.
    #[serde(default)]
    pub psi_threshold: Option<f64>,
    /// calibrated: the feature's share of the model's importance.
    #[serde(default)]
    pub importance: Option<f64>,
}

/// The severity band of a PSI value.
pub fn band(psi: f64, s: &DriftSettings) -> Option<Severity> {
    [
        (s.psi_critical, Severity::Critical),
        (s.psi_high, Severity::High),
        (s.psi_medium, Severity::Medium),
        (s.psi_low, Severity::Low),
    ]
    .into_iter()
    .find(|(threshold, _)| psi >= *threshold)
    .map(|(_, severity)| severity)
}

/// Compare one feature's samples. `edges` are the reference's bin edges when they were
/// stored with it; otherwise they are the deciles of `reference`.
pub fn feature(
    name: &str,
    reference: &[f64],
    current: &[f64],
    edges: Option<&[f64]>,
    s: &DriftSettings,
) -> FeatureDrift {
    let (all_reference, all_current) = (reference.len(), current.len());
    let mut reference: Vec<f64> = reference.iter().copied().filter(|v| v.is_finite()).collect();
    let mut current: Vec<f64> = current.iter().copied().filter(|v| v.is_finite()).collect();
    let non_finite = all_reference - reference.len() + all_current - current.len();
    let mut out = FeatureDrift {
        name: name.to_string(),
        reference_rows: reference.len(),
        current_rows: current.len(),
        non_finite,
        psi: None,
        ks_statistic: None,
        ks_p_value: None,
        js_distance: None,
        wasserstein: None,
        drifted: false,
        severity: None,
        note: None,
        ks_threshold: None,
        psi_threshold: None,
        importance: None,
    };
    if reference.is_empty() || current.is_empty() {
        let side = if reference.is_empty() { "reference" } else { "current" };
        out.note = Some(format!("no finite values in the {side} sample"));
        return out;
    }
    reference.sort_unstable_by(f64::total_cmp);
    current.sort_unstable_by(f64::total_cmp);
    let edges = match edges {
        Some(stored) => stats::collapse(stored.to_vec()),
        None => stats::bin_edges(&reference),
    };
    let (reference_shares, current_shares) =
        (stats::bin_shares(&reference, &edges), stats::bin_shares(&current, &edges));
    let psi = stats::psi(&reference_shares, &current_shares);
    out.psi = Some(psi);
    out.js_distance = Some(stats::jensen_shannon(&reference_shares, &current_shares));
    if let Some(ks) = ks::ks_2samp_sorted(&reference, &current) {
        out.ks_statistic = Some(ks.statistic);
        out.ks_p_value = Some(ks.p_value);
    }
    let distance = stats::wasserstein_sorted(&reference, &current);
    let spread = stats::std_dev(&reference);
    out.wasserstein = if spread > 0.0 {
        Some(distance / spread)
    } else if distance == 0.0 {
        Some(0.0)
    } else {
        out.note = Some("the reference is constant: the normalised Wasserstein distance is undefined".into());
        None
    };
    out.severity = band(psi, s);
    out.drifted = out.ks_statistic.is_some_and(|d| d >= s.ks_statistic) || psi >= s.psi_medium;
    out
}

/// One feature's two samples, and the reference's stored bin edges if it has them.
pub struct Column<'a> {
    pub name: String,
    pub reference: &'a [f64],
    pub current: &'a [f64],
    pub edges: Option<&'a [f64]>,
}

/// Compare every feature, in parallel.
pub fn features(columns: &[Column], s: &DriftSettings) -> Vec<FeatureDrift> {
    columns.par_iter().map(|c| feature(&c.name, c.reference, c.current, c.edges, s)).collect()
}

/// The label base rate then and now, with a two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelDrift {
    pub reference_rate: f64,
    pub reference_rows: usize,
    pub current_rate: f64,
    pub current_rows: usize,
    pub p_value: f64,
    /// p < 0.01.
    pub drifted: bool,
}

/// Compare base rates; `None` without rows on either side.
pub fn label_drift(
    reference_rate: f64,
    reference_rows: usize,
    current_rate: f64,
    current_rows: usize,
) -> Option<LabelDrift> {
    if reference_rows == 0 || current_rows == 0 {
        return None;
    }
    let (n1, n2) = (reference_rows as f64, current_rows as f64);
    let pooled = (reference_rate * n1 + current_rate * n2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = if se > 0.0 {
        normal::erfc((reference_rate - current_rate).abs() / se / std::f64::consts::SQRT_2)
    } else {
        1.0
    };
    Some(LabelDrift {
        reference_rate,
        reference_rows,
        current_rate,
        current_rows,
        p_value,
        drifted: p_value < 0.01,
    })
}

/// The dataset's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// How it was judged (`fixed` when a calibration was asked for but the model has none).
    #[serde(default = "fixed")]
    pub method: DriftMethod,
    pub features: Vec<FeatureDrift>,
    pub prediction: Option<FeatureDrift>,
    pub label: Option<LabelDrift>,
    pub drifted_features: usize,
    pub share_drifted: f64,
    /// calibrated: the share of the model's importance held by drifting features.
    #[serde(default)]
    pub weighted_share: Option<f64>,
    /// At least `drift.dataset_share` of the features drift (of the importance, when
    /// calibrated).
    pub dataset_drift: bool,
    /// fixed: the PSI band that at least `drift.dataset_share` of the features reach;
    /// calibrated: the highest severity that features holding at least
    /// `drift.weighted_share` of the importance reach. Either way the predictions' severity
    /// if higher.
    pub severity: Option<Severity>,
    /// Why the verdict was reached as it was, where that is not the configured way.
    #[serde(default)]
    pub note: Option<String>,
}

fn fixed() -> DriftMethod {
    DriftMethod::Fixed
}

/// Sum up the features (and predictions and labels) into the dataset's verdict by the
/// fixed PSI bands and KS threshold.
pub fn report(
    features: Vec<FeatureDrift>,
    prediction: Option<FeatureDrift>,
    label: Option<LabelDrift>,
    s: &DriftSettings,
) -> Report {
    let measured: Vec<&FeatureDrift> = features.iter().filter(|f| f.psi.is_some()).collect();
    let drifted_features = measured.iter().filter(|f| f.drifted).count();
    let share_drifted =
        if measured.is_empty() { 0.0 } else { drifted_features as f64 / measured.len() as f64 };
    let mut psis: Vec<f64> = measured.iter().filter_map(|f| f.psi).collect();
    psis.sort_by(|a, b| b.total_cmp(a));
    let reached = ((s.dataset_share * psis.len() as f64).ceil() as usize).max(1);
    let feature_severity = psis.get(reached - 1).and_then(|&psi| band(psi, s));
    let severity = feature_severity.max(prediction.as_ref().and_then(|p| p.severity));
    Report {
        method: DriftMethod::Fixed,
        dataset_drift: !measured.is_empty() && share_drifted >= s.dataset_share,
        features,
        prediction,
        label,
        drifted_features,
        share_drifted,
        weighted_share: None,
        severity,
        note: None,
    }
}

/// A feature's severity by how far its statistics exceed their calibrated thresholds:
/// the larger of KS / its threshold and PSI / its threshold, its excess. At 1 the feature
/// drifts (medium); 1.5 is high, 2 critical; 0.75 low (close to drifting).
pub fn excess_band(excess: f64) -> Option<Severity> {
    [(2.0, Severity::Critical), (1.5, Severity::High), (1.0, Severity::Medium), (0.75, Severity::Low)]
        .into_iter()
        .find(|(at, _)| excess >= *at)
        .map(|(_, severity)| severity)
}

/// Judge one feature against its null: its thresholds, severity and whether it drifts. A
/// feature whose thresholds cannot be fitted keeps its statistics, unjudged.
fn judge(f: &mut FeatureDrift, null: &calibration::Null, s: &DriftSettings) {
    f.ks_threshold = calibration::threshold(
        &null.ks,
        null.independent(),
        s.calibrated_quantile,
        calibration::Scale::Logit,
    );
    f.psi_threshold =
        calibration::threshold(&null.psi, null.independent(), s.calibrated_quantile, calibration::Scale::Log);
    let ratio = |value: Option<f64>, limit: Option<f64>| match (value, limit) {
        (Some(v), Some(t)) if t > 0.0 => Some(v / t),
        _ => None,
    };
    let excess = [ratio(f.ks_statistic, f.ks_threshold), ratio(f.psi, f.psi_threshold)]
        .into_iter()
        .flatten()
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    f.severity = excess.and_then(excess_band);
    f.drifted = excess.is_some_and(|e| e >= 1.0);
    if excess.is_none() && f.psi.is_some() {
        f.note = Some("the calibration's null is too thin to set a threshold".into());
    }
}

/// Sum up the features (and predictions and labels) into the dataset's verdict against
/// their calibrated thresholds, each feature weighted by `importance` (its share of the
/// model's importance; every feature the same when the model has none).
pub fn calibrated_report(
    mut features: Vec<FeatureDrift>,
    mut prediction: Option<FeatureDrift>,
    label: Option<LabelDrift>,
    calibration: &Calibration,
    importance: Option<&[f64]>,
    s: &DriftSettings,
) -> Report {
    let usable =
        importance.filter(|w| w.len() == features.len() && w.iter().map(|v| v.max(0.0)).sum::<f64>() > 0.0);
    let weights: Vec<f64> = match usable {
        Some(w) => {
            let total: f64 = w.iter().map(|v| v.max(0.0)).sum();
            w.iter().map(|v| v.max(0.0) / total).collect()
        }
        None => vec![1.0 / features.len().max(1) as f64; features.len()],
    };
    for ((f, null), w) in features.iter_mut().zip(&calibration.features).zip(&weights) {
        judge(f, null, s);
        f.importance = Some(*w);
    }
    match (prediction.as_mut(), calibration.prediction.as_ref()) {
        (Some(p), Some(null)) => judge(p, null, s),
        (Some(p), None) => {
            p.severity = None;
            p.drifted = false;
            p.note =
                Some("too few validation and test rows to calibrate the predictions on: not judged".into());
        }
        (None, _) => {}
    }
    let share_at = |level: Severity| -> f64 {
        features
            .iter()
            .zip(&weights)
            .filter(|(f, _)| f.severity.is_some_and(|v| v >= level))
            // A fold from +0: an empty float sum is -0, which prints as "-0%".
            .fold(0.0, |total, (_, w)| total + w)
    };
    let feature_severity =
        Severity::ALL.iter().rev().copied().find(|level| share_at(*level) >= s.weighted_share - 1e-12);
    let severity = feature_severity.max(prediction.as_ref().and_then(|p| p.severity));
    let measured = features.iter().filter(|f| f.psi.is_some()).count();
    let drifted_features = features.iter().filter(|f| f.drifted).count();
    let weighted_share = share_at(Severity::Medium);
    Report {
        method: DriftMethod::Calibrated,
        dataset_drift: measured > 0 && weighted_share >= s.dataset_share,
        share_drifted: if measured == 0 { 0.0 } else { drifted_features as f64 / measured as f64 },
        drifted_features,
        weighted_share: Some(weighted_share),
        features,
        prediction,
        label,
        severity,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DriftSettings {
        DriftSettings::default()
    }

    #[test]
    fn a_constant_feature_in_both_samples_is_not_drift() {
        let f = feature("flat", &[3.0; 500], &[3.0; 400], None, &settings());
        assert_eq!(
            (f.psi, f.ks_statistic, f.ks_p_value, f.js_distance, f.wasserstein),
            (Some(0.0), Some(0.0), Some(1.0), Some(0.0), Some(0.0))
        );
        assert!(!f.drifted && f.severity.is_none());
    }

    #[test]
    fn empty_and_non_finite_samples_are_named_not_computed() {
        let f = feature("x", &[1.0, 2.0], &[f64::NAN, f64::INFINITY], None, &settings());
        assert_eq!(f.current_rows, 0);
        assert_eq!(f.psi, None);
        assert_eq!(f.note.as_deref(), Some("no finite values in the current sample"));
    }

    #[test]
    fn a_shifted_feature_drifts_with_a_severity() {
        let reference: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let current: Vec<f64> = reference.iter().map(|v| v + 0.3).collect();
        let f = feature("shifted", &reference, &current, None, &settings());
        assert!(f.drifted);
        assert_eq!(f.severity, Some(Severity::Critical));
        assert!((f.ks_statistic.unwrap() - 0.3).abs() < 0.002, "{:?}", f.ks_statistic);
        assert!((f.wasserstein.unwrap() - 0.3 / stats::std_dev(&reference)).abs() < 1e-9);
    }

    #[test]
    fn the_dataset_severity_is_what_enough_features_reach() {
        let s = settings();
        let with_psi = |psi: f64| FeatureDrift {
            name: "f".into(),
            reference_rows: 1,
            current_rows: 1,
            non_finite: 0,
            psi: Some(psi),
            ks_statistic: Some(0.0),
            ks_p_value: Some(1.0),
            js_distance: Some(0.0),
            wasserstein: Some(0.0),
            drifted: psi >= s.psi_medium,
            severity: band(psi, &s),
            note: None,
            ks_threshold: None,
            psi_threshold: None,
            importance: None,
        };
        // One critical feature of four is not a critical dataset.
        let r = report(vec![with_psi(0.5), with_psi(0.01), with_psi(0.02), with_psi(0.0)], None, None, &s);
        assert_eq!(r.severity, None);
        assert!(!r.dataset_drift);
        let r = report(vec![with_psi(0.5), with_psi(0.25), with_psi(0.02), with_psi(0.0)], None, None, &s);
        assert_eq!(r.severity, Some(Severity::High));
        assert!(r.dataset_drift);
        assert_eq!(r.share_drifted, 0.5);
    }

    /// Calibrated: a shift planted in a feature the model never uses leaves the verdict
    /// alone, though the feature itself drifts; the same shift in the feature the model
    /// relies on most makes the whole model drift.
    #[test]
    fn drift_counts_by_what_the_model_uses() {
        let s = settings();
        let mut rng = crate::rng::SplitMix64(4);
        let training: Vec<Vec<f64>> = (0..3).map(|_| (0..3000).map(|_| rng.normal()).collect()).collect();
        let edges: Vec<Vec<f64>> = training.iter().map(|c| crate::artifact::deciles(c)).collect();
        let calibration = Calibration {
            features: training.iter().zip(&edges).map(|(c, e)| calibration::null(c, e, 500, 125)).collect(),
            prediction: None,
        };
        let importance = [0.0, 0.7, 0.3];
        let mut check = |shift: [f64; 3]| -> Report {
            let features = (0..3)
                .map(|j| {
                    let current: Vec<f64> = (0..500).map(|_| rng.normal() + shift[j]).collect();
                    feature(&format!("f{j}"), &training[j], &current, Some(&edges[j]), &s)
                })
                .collect();
            calibrated_report(features, None, None, &calibration, Some(&importance), &s)
        };
        let calm = check([0.0; 3]);
        assert_eq!((calm.severity, calm.drifted_features), (None, 0), "{calm:?}");
        let unused = check([1.0, 0.0, 0.0]);
        assert!(unused.features[0].drifted && unused.features[0].severity == Some(Severity::Critical));
        assert_eq!(unused.severity, None, "a feature with no importance moves nothing");
        assert_eq!(unused.weighted_share, Some(0.0));
        assert!(unused.weighted_share.unwrap().is_sign_positive(), "printed as 0%, not -0%");
        let relied_on = check([0.0, 1.0, 0.0]);
        assert_eq!(relied_on.severity, Some(Severity::Critical));
        assert!((relied_on.weighted_share.unwrap() - 0.7).abs() < 1e-12);
        assert!(relied_on.dataset_drift);
        assert_eq!(relied_on.features[1].importance, Some(0.7));
        assert!(relied_on.features[1].ks_threshold.unwrap() < relied_on.features[1].ks_statistic.unwrap());
    }

    #[test]
    fn label_base_rates_are_tested() {
        let same = label_drift(0.4, 1000, 0.4, 500).unwrap();
        assert!((same.p_value - 1.0).abs() < 1e-6 && !same.drifted);
        let moved = label_drift(0.4, 1000, 0.55, 500).unwrap();
        assert!(moved.drifted, "{moved:?}");
    }
}
