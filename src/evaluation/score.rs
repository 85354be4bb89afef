//! Scoring a version on bars it never saw: its predictions, a backtest and the
//! classification metrics on a window, computed with the version's own feature, regime
//! and label settings.

use std::ops::Range;

use ndarray::Array2;

use super::backtest::{self, Bar, Rules, Trading};
use crate::artifact::Loaded;
use crate::candles::Candle;
use crate::features::{self, FeatureTable, labels};
use crate::model::metrics::{self, Classification};

/// A version's view of the candles: its features, its P(up) where it has an opinion
/// (its regime, complete features), and its labels.
pub struct View {
    pub table: FeatureTable,
    pub predictions: Vec<Option<f64>>,
    pub labels: Vec<Option<u8>>,
}

/// Compute `loaded`'s features on `candles` and predict every bar of its regime.
pub fn view(candles: &[Candle], loaded: &Loaded) -> Result<View, String> {
    let m = &loaded.manifest;
    let table =
        features::compute(candles, &m.feature_settings, &m.regime_settings).map_err(|e| e.to_string())?;
    view_of(table, loaded, None)
}

/// `loaded`'s view of `table` (computed on the whole series with the version's own feature
/// and regime settings), predicting only the bars of the last `days` days when given (as
/// [`window`] measures `Requested::LastDays`): earlier bars have no prediction. A window
/// of at most that many last days scores exactly as on the whole view; the hourly checks
/// read the last days only, and predicting every stored bar would make their work grow
/// with the history.
pub fn view_of(table: FeatureTable, loaded: &Loaded, days: Option<u32>) -> Result<View, String> {
    let m = &loaded.manifest;
    let first = match (days, table.open_time.last()) {
        (Some(days), Some(&last)) => table.open_time.partition_point(|&t| t < last_days_from(last, days)),
        _ => 0,
    };
    let asked: Vec<usize> = (first..table.len()).collect();
    let mut predictions = vec![None; first];
    predictions.extend(predict_rows(&table, loaded, &asked)?);
    let forward = labels::forward_returns(&table.close, m.label.horizon_bars as usize);
    let labels = forward.iter().map(|&r| labels::label(r, m.label.fee_bps, m.label.threshold_bps)).collect();
    Ok(View { table, predictions, labels })
}

/// `loaded`'s P(up) on the bars `rows` of `table` (a table computed with the version's own
/// feature and regime settings), in that order: `None` where the bar is not of its regime
/// or a feature is undefined.
pub fn predict_rows(
    table: &FeatureTable,
    loaded: &Loaded,
    rows: &[usize],
) -> Result<Vec<Option<f64>>, String> {
    let m = &loaded.manifest;
    let columns: Vec<usize> = m
        .features
        .iter()
        .map(|name| {
            table
                .names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("the model's feature {name} is not computed"))
        })
        .collect::<Result<_, _>>()?;
    let opinion: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            let t = rows[i];
            table.regime[t] == Some(m.regime) && columns.iter().all(|&c| table.columns[c][t].is_finite())
        })
        .collect();
    let x = Array2::from_shape_fn((opinion.len(), columns.len()), |(i, j)| {
        (table.columns[columns[j]][rows[opinion[i]]] - m.scaling.mean[j]) / m.scaling.std[j]
    });
    let mut predictions = vec![None; rows.len()];
    for (i, p) in opinion.iter().zip(loaded.predict(x.view())) {
        predictions[*i] = Some(p);
    }
    Ok(predictions)
}

/// The first bar a version never saw: after its validation window, plus the embargo.
pub fn unseen_start(open_time: &[i64], seen_until: i64, embargo: usize) -> usize {
    open_time.partition_point(|&t| t <= seen_until) + embargo
}

/// The bars to evaluate.
#[derive(Debug, Clone, Copy)]
pub enum Requested {
    Between(i64, i64),
    LastDays(u32),
}

/// The first open time of the last `days` days of a series whose last bar opens at `last`.
fn last_days_from(last: i64, days: u32) -> i64 {
    last - i64::from(days) * 86_400_000
}

/// The window's bar range: the request, cut to start at `unseen`; an error says why
/// nothing is left.
pub fn window(open_time: &[i64], requested: Requested, unseen: usize) -> Result<Range<usize>, String> {
    let Some(&last) = open_time.last() else { return Err("no candles are stored".into()) };
    let (from, to) = match requested {
        Requested::Between(from, to) => (from, to),
        Requested::LastDays(days) => (last_days_from(last, days), last),
    };
    let requested_start = open_time.partition_point(|&t| t < from);
    let start = requested_start.max(unseen);
    let end = open_time.partition_point(|&t| t <= to);
    if requested_start >= end {
        return Err("no stored bar falls in the window".into());
    }
    if start >= end {
        let unseen_from = open_time.get(unseen).map_or("after the last stored candle".to_string(), |&t| {
            format!("from {}", crate::candles::time::format_minute(t))
        });
        return Err(format!(
            "the window holds no bar the version never saw (its unseen bars start {unseen_from})"
        ));
    }
    Ok(start..end)
}

/// Everything measured on a window.
pub struct Scored {
    pub window: Range<usize>,
    pub bars: Vec<Bar>,
    pub trading: Trading,
    /// Bars of the window with a prediction and a label, and those values.
    pub rows: Vec<usize>,
    pub probabilities: Vec<f64>,
    pub labels: Vec<u8>,
    pub classification: Option<Classification>,
}

/// Backtest and classify over `window`.
pub fn score(view: &View, window: Range<usize>, rules: &Rules) -> Scored {
    let t = &view.table;
    let next_close: Vec<f64> =
        window.clone().map(|i| t.close.get(i + 1).copied().unwrap_or(f64::NAN)).collect();
    let bars = backtest::run(
        &t.open_time[window.clone()],
        &t.close[window.clone()],
        &next_close,
        &view.predictions[window.clone()],
        rules,
    );
    let trading = backtest::metrics(&bars, rules);
    let rows: Vec<usize> =
        window.clone().filter(|&i| view.predictions[i].is_some() && view.labels[i].is_some()).collect();
    let probabilities: Vec<f64> = rows.iter().filter_map(|&i| view.predictions[i]).collect();
    let labels: Vec<u8> = rows.iter().filter_map(|&i| view.labels[i]).collect();
    let classification = metrics::classification(&probabilities, &labels, rules.threshold);
    Scored { window, bars, trading, rows, probabilities, labels, classification }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_after_what_the_version_saw() {
        let times: Vec<i64> = (0..100).map(|i| i * 60_000).collect();
        let unseen = unseen_start(&times, 49 * 60_000, 12);
        assert_eq!(unseen, 62);
        assert_eq!(window(&times, Requested::LastDays(1), unseen).unwrap(), 62..100);
        assert_eq!(window(&times, Requested::Between(70 * 60_000, 80 * 60_000), unseen).unwrap(), 70..81);
        let err = window(&times, Requested::Between(0, 50 * 60_000), unseen).unwrap_err();
        assert!(err.contains("never saw"), "{err}");
        let err = window(&times, Requested::LastDays(1), 100).unwrap_err();
        assert!(err.contains("after the last stored candle"), "{err}");
    }
}
