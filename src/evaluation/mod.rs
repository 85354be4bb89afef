//! Measuring versions honestly: backtests on unseen bars, champion against challenger,
//! and whether a production model has decayed from what its test promised.

pub mod backtest;
pub mod compare;
pub mod deflated;
#[cfg(test)]
mod planted_tests;
pub mod score;
pub mod versus;

use serde::{Deserialize, Serialize};

use crate::config::SearchMetric;
use crate::model::metrics::Classification;
use backtest::Trading;

/// The metrics an evaluation stores: classification on the labelled rows, trading on the
/// window's bars; either may be missing (no labelled row, no bar).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub classification: Option<Classification>,
    pub trading: Option<Trading>,
}

impl Record {
    /// The value of `metric`, where defined.
    pub fn value(&self, metric: SearchMetric) -> Option<f64> {
        match metric {
            SearchMetric::F1 => self.classification.map(|c| c.f1),
            SearchMetric::Auc => self.classification.and_then(|c| c.roc_auc),
            SearchMetric::Sharpe => self.trading.and_then(|t| t.sharpe),
        }
    }
}

/// A recent value of the gate metric against the version's own test value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Degradation {
    pub metric: String,
    pub test: f64,
    pub recent: f64,
    /// (test - recent) / |test|.
    pub relative_drop: f64,
    pub threshold: f64,
    pub degraded: bool,
}

/// Compare the recent value with the test value; `None` when either is undefined or the
/// test value is 0 (no relative drop to speak of).
pub fn degradation(
    metric: SearchMetric,
    test: &Record,
    recent: &Record,
    threshold: f64,
) -> Option<Degradation> {
    let (test_value, recent_value) = (test.value(metric)?, recent.value(metric)?);
    if test_value == 0.0 {
        return None;
    }
    let relative_drop = (test_value - recent_value) / test_value.abs();
    Some(Degradation {
        metric: metric.as_str().to_string(),
        test: test_value,
        recent: recent_value,
        relative_drop,
        threshold,
        degraded: relative_drop > threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(f1: f64) -> Record {
        let c = Classification {
            rows: 10,
            accuracy: 0.5,
            precision: 0.5,
            recall: 0.5,
            f1,
            roc_auc: None,
            log_loss: 0.7,
            brier: 0.25,
            positive_rate: 0.5,
        };
        Record { classification: Some(c), trading: None }
    }

    #[test]
    fn a_drop_beyond_the_threshold_is_degradation() {
        let d = degradation(SearchMetric::F1, &record(0.5), &record(0.4), 0.1).unwrap();
        assert!((d.relative_drop - 0.2).abs() < 1e-12);
        assert!(d.degraded);
        assert!(!degradation(SearchMetric::F1, &record(0.5), &record(0.46), 0.1).unwrap().degraded);
        assert!(degradation(SearchMetric::Auc, &record(0.5), &record(0.4), 0.1).is_none(), "AUC undefined");
        assert!(degradation(SearchMetric::F1, &record(0.0), &record(0.4), 0.1).is_none());
    }
}
