//! Champion against challenger: both versions' views of the same candles, scored on the
//! same unseen bars by the gate metric, with the paired block bootstrap.

use std::ops::Range;

use super::backtest::{self, Bar, Rules};
use super::compare::{self, Bootstrap, Comparison};
use super::score::{self, Requested, View};
use crate::candles::Interval;
use crate::config::{SearchMetric, Settings};
use crate::model::metrics;

/// Score both views on the shared window and bootstrap the difference in the gate metric.
pub fn compare_views(
    settings: &Settings,
    interval: Interval,
    champion: &View,
    challenger: &View,
    requested: Requested,
    unseen: usize,
) -> Result<(Range<usize>, Comparison), String> {
    let window = score::window(&challenger.table.open_time, requested, unseen)?;
    let rules = Rules::from_settings(&settings.evaluation, interval);
    let bootstrap = Bootstrap {
        block_bars: settings.evaluation.bootstrap_block_bars as usize,
        resamples: settings.evaluation.bootstrap_resamples as usize,
        seed: settings.evaluation.bootstrap_seed,
        min_bars: settings.evaluation.min_compare_bars as usize,
        min_probability: settings.gates.min_probability_better,
    };
    let metric = settings.evaluation.metric;
    let name = metric.as_str();
    let result = match metric {
        SearchMetric::Sharpe => {
            let a = score::score(champion, window.clone(), &rules).bars;
            let b = score::score(challenger, window.clone(), &rules).bars;
            let bars = a.len().min(b.len());
            let returns = |bars: &[Bar]| -> Vec<f64> { bars.iter().map(|b| b.strategy_return).collect() };
            let (ra, rb) = (returns(&a), returns(&b));
            let periods = rules.bars_per_year;
            compare::compare(name, bars, &bootstrap, &|idx: &[usize], is_challenger: bool| {
                let r = if is_challenger { &rb } else { &ra };
                let picked: Vec<f64> = idx.iter().map(|&i| r[i]).collect();
                backtest::sharpe(&picked, periods).unwrap_or(0.0)
            })
        }
        SearchMetric::F1 | SearchMetric::Auc => {
            // The same rows for both: bars of the window where both predict, labelled by
            // the challenger's label rule.
            let rows: Vec<usize> = window
                .clone()
                .filter(|&i| {
                    champion.predictions[i].is_some()
                        && challenger.predictions[i].is_some()
                        && challenger.labels[i].is_some()
                })
                .collect();
            let labels: Vec<u8> = rows.iter().filter_map(|&i| challenger.labels[i]).collect();
            let p_a: Vec<f64> = rows.iter().filter_map(|&i| champion.predictions[i]).collect();
            let p_b: Vec<f64> = rows.iter().filter_map(|&i| challenger.predictions[i]).collect();
            let threshold = rules.threshold;
            compare::compare(name, rows.len(), &bootstrap, &|idx: &[usize], is_challenger: bool| {
                let p = if is_challenger { &p_b } else { &p_a };
                let picked: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
                let y: Vec<u8> = idx.iter().map(|&i| labels[i]).collect();
                if metric == SearchMetric::Auc {
                    metrics::roc_auc(&picked, &y).unwrap_or(0.5)
                } else {
                    metrics::classification(&picked, &y, threshold).map_or(0.0, |m| m.f1)
                }
            })
        }
    };
    Ok((window, result))
}

/// A no-skill baseline a first model must beat: one constant P(up) on every bar the model
/// has an opinion on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Never in the market: P(up) at the threshold, neither long nor short, never "up".
    Flat,
    /// Long on every bar of the regime: P(up) 1.
    Long,
    /// The base rate of the labels the model was fitted and selected on, as a constant
    /// probability.
    BaseRate,
}

impl Baseline {
    pub const ALL: [Baseline; 3] = [Baseline::Flat, Baseline::Long, Baseline::BaseRate];

    pub fn describe(self) -> &'static str {
        match self {
            Baseline::Flat => "always flat",
            Baseline::Long => "always long",
            Baseline::BaseRate => "base rate",
        }
    }
}

/// The candidate against each no-skill baseline on its unseen bars (from `unseen` on),
/// baseline as champion and candidate as challenger, by the same paired block bootstrap
/// as a champion. The base rate comes from the labelled bars before `unseen` that the
/// candidate predicts (the bars it learned and was selected on), so that no baseline
/// knows the bars it is judged on.
pub fn against_baselines(
    settings: &Settings,
    interval: Interval,
    candidate: &View,
    unseen: usize,
) -> Result<Vec<(Baseline, Comparison)>, String> {
    let seen: Vec<u8> = (0..unseen.min(candidate.labels.len()))
        .filter(|&i| candidate.predictions[i].is_some())
        .filter_map(|i| candidate.labels[i])
        .collect();
    if seen.is_empty() {
        return Err("no labelled bar before the unseen ones to take a base rate from".into());
    }
    let base_rate = seen.iter().map(|&y| f64::from(y)).sum::<f64>() / seen.len() as f64;
    Baseline::ALL
        .iter()
        .map(|&baseline| {
            let p = match baseline {
                Baseline::Flat => settings.evaluation.threshold,
                Baseline::Long => 1.0,
                Baseline::BaseRate => base_rate,
            };
            let view = View {
                table: candidate.table.clone(),
                predictions: candidate.predictions.iter().map(|q| q.map(|_| p)).collect(),
                labels: candidate.labels.clone(),
            };
            let (_, comparison) = compare_views(
                settings,
                interval,
                &view,
                candidate,
                Requested::Between(i64::MIN, i64::MAX),
                unseen,
            )?;
            Ok((baseline, comparison))
        })
        .collect()
}
