//! From a feature table to the rows a regime's model learns from: labels, the
//! time-ordered split with an embargo, the noise filter, constant features, scaling.
//! Everything fitted (the noise filter's median and MAD, the scaling) uses training rows
//! only.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::config::{LabelSettings, Regime, TrainingSettings};
use crate::features::{FeatureTable, labels};

/// One part of the split: row indices into the feature table, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Part {
    pub rows: Vec<usize>,
}

/// What the noise filter left out of training, and the rule's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseReport {
    pub outliers: usize,
    pub near_gaps: usize,
    pub median_return: f64,
    pub mad: f64,
}

/// Feature means and standard deviations over the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Everything a fit needs, decided from training rows only.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub regime: Regime,
    /// Indices into the table's feature columns, in model order.
    pub features: Vec<usize>,
    /// Features left out because they are constant on the training rows.
    pub constant: Vec<String>,
    pub train: Part,
    pub validation: Part,
    pub test: Part,
    pub labels: Vec<Option<u8>>,
    pub forward_returns: Vec<f64>,
    pub noise: NoiseReport,
    pub scaling: Scaling,
    /// Bars of the regime with complete features and a label.
    pub usable: usize,
}

impl Prepared {
    /// Scaled feature matrix of `part` (rows x model features).
    pub fn matrix(&self, table: &FeatureTable, part: &Part) -> Array2<f64> {
        scaled_matrix(table, &part.rows, &self.features, &self.scaling)
    }

    /// Labels of `part`, in row order.
    pub fn targets(&self, part: &Part) -> Vec<u8> {
        part.rows.iter().map(|&r| self.labels[r].unwrap_or(0)).collect()
    }
}

/// `(x - mean) / std` of the given rows and features.
pub fn scaled_matrix(
    table: &FeatureTable,
    rows: &[usize],
    features: &[usize],
    scaling: &Scaling,
) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), features.len()), |(i, j)| {
        (table.columns[features[j]][rows[i]] - scaling.mean[j]) / scaling.std[j]
    })
}

/// Split the bars of `regime` and fit the filter and the scaling; a refusal names the numbers.
pub fn prepare(
    table: &FeatureTable,
    regime: Regime,
    label: &LabelSettings,
    training: &TrainingSettings,
    interval_ms: i64,
) -> Result<Prepared, String> {
    let horizon = label.horizon_bars as usize;
    let forward_returns = labels::forward_returns(&table.close, horizon);
    let labels: Vec<Option<u8>> =
        forward_returns.iter().map(|&r| labels::label(r, label.fee_bps, label.threshold_bps)).collect();
    let in_regime = table.regime.iter().filter(|r| **r == Some(regime)).count();
    // A rolling window keeps the bars of its last days (features still read the bars
    // before it, as they would at any bar).
    let since = match (training.window_days, table.open_time.last()) {
        (Some(days), Some(&last)) => last - (days * 86_400_000.0) as i64,
        _ => i64::MIN,
    };
    let usable_rows: Vec<usize> = (0..table.len())
        .filter(|&t| {
            table.open_time[t] >= since
                && table.regime[t] == Some(regime)
                && labels[t].is_some()
                && table.complete(t)
        })
        .collect();
    let usable = usable_rows.len();
    let windowed = training
        .window_days
        .map_or(String::new(), |d| format!(" in the last {d} days (training.window_days)"));

    let (train, validation, test) = split(&usable_rows, training, horizon);
    let min = training.min_rows_per_part as usize;
    if train.rows.len() < min || validation.rows.len() < min || test.rows.len() < min {
        return Err(format!(
            "not enough data for the {regime} regime: {} candles, {in_regime} of them {regime}, {usable} with \
             complete features and a label{windowed}, split into train {}, validation {}, test {} (with {horizon}-bar \
             embargoes); each part needs at least {min} rows (training.min_rows_per_part)",
            table.len(),
            train.rows.len(),
            validation.rows.len(),
            test.rows.len()
        ));
    }

    let (train, noise) = if training.noise_filter {
        filter_noise(table, train, training.noise_mad_k, interval_ms, horizon)
    } else {
        (train, NoiseReport::default())
    };
    let positives = train.rows.iter().filter(|&&r| labels[r] == Some(1)).count();
    if positives == 0 || positives == train.rows.len() {
        let class = if positives == 0 { "0 (no rise above the threshold)" } else { "1" };
        return Err(format!(
            "the {} training rows of the {regime} regime are all labelled {class}: a model needs both classes; \
             change label.threshold_bps ({}) or label.horizon_bars ({horizon})",
            train.rows.len(),
            label.threshold_bps
        ));
    }

    let mut features = Vec::new();
    let mut constant = Vec::new();
    let (mut means, mut stds) = (Vec::new(), Vec::new());
    for (index, name) in table.names.iter().enumerate() {
        let values: Vec<f64> = train.rows.iter().map(|&r| table.columns[index][r]).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
        // Relative to the mean, so that the rule is the same for any feature scale.
        if std <= 1e-12 * mean.abs().max(1e-300) || std == 0.0 {
            constant.push(name.clone());
        } else {
            features.push(index);
            means.push(mean);
            stds.push(std);
        }
    }
    if features.is_empty() {
        return Err(format!("every feature is constant on the {} training rows", train.rows.len()));
    }
    Ok(Prepared {
        regime,
        features,
        constant,
        train,
        validation,
        test,
        labels,
        forward_returns,
        noise,
        scaling: Scaling { mean: means, std: stds },
        usable,
    })
}

/// Train, validation and test in time order by the configured shares, each part starting
/// more than `embargo` bars after the previous part's last row, so that no label (which
/// looks `embargo` bars ahead) straddles two parts.
fn split(rows: &[usize], training: &TrainingSettings, embargo: usize) -> (Part, Part, Part) {
    let n = rows.len();
    let train_len = (n as f64 * training.train_share).floor() as usize;
    let validation_len = (n as f64 * training.validation_share).floor() as usize;
    let train: Vec<usize> = rows[..train_len.min(n)].to_vec();
    let after = |last: Option<&usize>| last.map_or(0, |&l| l + embargo + 1);
    let validation_start = after(train.last());
    let validation: Vec<usize> =
        rows.iter().copied().filter(|&r| r >= validation_start).take(validation_len).collect();
    let test_start = after(validation.last()).max(validation_start);
    let test: Vec<usize> = if validation.is_empty() {
        Vec::new()
    } else {
        rows.iter().copied().filter(|&r| r >= test_start).collect()
    };
    (Part { rows: train }, Part { rows: validation }, Part { rows: test })
}

/// Leave out of training the bars next to a gap, and those whose one-bar log return is
/// further than `k` median absolute deviations (raw MAD, not scaled to a normal sigma)
/// from the median of the training rows' returns.
fn filter_noise(
    table: &FeatureTable,
    train: Part,
    k: f64,
    interval_ms: i64,
    horizon: usize,
) -> (Part, NoiseReport) {
    let near_gap = labels::touches_gap(&table.open_time, interval_ms, horizon);
    let one_bar = |t: usize| if t == 0 { f64::NAN } else { (table.close[t] / table.close[t - 1]).ln() };
    let returns: Vec<f64> = train.rows.iter().map(|&t| one_bar(t)).filter(|r| r.is_finite()).collect();
    let median_return = median(returns.clone());
    let mad = median(returns.iter().map(|r| (r - median_return).abs()).collect());
    let mut report = NoiseReport { median_return, mad, ..NoiseReport::default() };
    let rows = train
        .rows
        .into_iter()
        .filter(|&t| {
            if near_gap[t] {
                report.near_gaps += 1;
                false
            } else if mad > 0.0 && (one_bar(t) - median_return).abs() > k * mad {
                report.outliers += 1;
                false
            } else {
                true
            }
        })
        .collect();
    (Part { rows }, report)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> FeatureTable {
        // Alternating up and down closes, a trending regime throughout, one feature.
        let close: Vec<f64> = (0..n).map(|i| 100.0 + if i % 2 == 0 { 0.0 } else { 1.0 }).collect();
        FeatureTable {
            open_time: (0..n as i64).map(|i| i * 60_000).collect(),
            close,
            names: vec!["x".into(), "flat".into()],
            columns: vec![(0..n).map(|i| i as f64).collect(), vec![1.0; n]],
            regime: vec![Some(Regime::Trending); n],
        }
    }

    fn settings(min: u32) -> (LabelSettings, TrainingSettings) {
        let label = LabelSettings { horizon_bars: 3, threshold_bps: 0.0, fee_bps: 0.0 };
        let training =
            TrainingSettings { min_rows_per_part: min, noise_filter: false, ..TrainingSettings::default() };
        (label, training)
    }

    #[test]
    fn parts_are_in_time_order_with_an_embargo() {
        let t = table(1000);
        let (label, training) = settings(10);
        let p = prepare(&t, Regime::Trending, &label, &training, 60_000).unwrap();
        // 997 labelled rows: 598 train, 199 validation, the rest test, 3 bars apart at least.
        assert_eq!(p.usable, 997);
        assert_eq!(p.train.rows.len(), 598);
        assert_eq!(p.validation.rows.len(), 199);
        assert_eq!(p.validation.rows[0], p.train.rows.last().unwrap() + 4);
        assert_eq!(p.test.rows[0], p.validation.rows.last().unwrap() + 4);
        assert_eq!(*p.test.rows.last().unwrap(), 996);
        assert_eq!(p.constant, ["flat"]);
        assert_eq!(p.features, [0]);
    }

    #[test]
    fn too_few_rows_is_a_refusal_with_the_numbers() {
        let t = table(300);
        let (label, training) = settings(200);
        let err = prepare(&t, Regime::Trending, &label, &training, 60_000).unwrap_err();
        assert!(err.contains("300 candles, 300 of them trending, 297 with complete features"), "{err}");
        assert!(err.contains("train 178, validation 59, test 54"), "{err}");
        let err = prepare(&t, Regime::Volatile, &label, &training, 60_000).unwrap_err();
        assert!(err.contains("0 of them volatile"), "{err}");
    }

    #[test]
    fn a_single_class_is_a_refusal() {
        let t = table(1000);
        let (mut label, training) = settings(10);
        label.threshold_bps = 500.0;
        let err = prepare(&t, Regime::Trending, &label, &training, 60_000).unwrap_err();
        assert!(err.contains("are all labelled 0"), "{err}");
    }

    #[test]
    fn the_noise_filter_drops_outliers_and_gaps_from_training_only() {
        let mut t = table(1000);
        t.close[100] = 200.0; // a spike: two outlier returns (up at 100, down at 101)
        t.open_time[300..].iter_mut().for_each(|time| *time += 600_000); // a gap before bar 300
        let (label, mut training) = settings(10);
        training.noise_filter = true;
        let p = prepare(&t, Regime::Trending, &label, &training, 60_000).unwrap();
        assert_eq!(p.noise.outliers, 2);
        assert_eq!(p.noise.near_gaps, 4, "bars 296..=299 see the gap within their horizon, 300 after it");
        assert!(!p.train.rows.contains(&100) && !p.train.rows.contains(&300));
        assert_eq!(p.train.rows.len(), 598 - 7 + 1, "{}", p.train.rows.len());
    }
}
