//! Features, regimes and labels: pure functions of candles, computed from the past only.
//!
//! Every feature is scale-free (a ratio, a return, an oscillator or a z-score), so the
//! same candles with every price times 1e-6 give the same features, and a feature at bar
//! t reads bars up to t only. Windows count rows, so across a gap in the data a window
//! spans more time than its length; such bars are left out of training by the noise
//! filter. Definitions follow TA-Lib; the differences are named where they are made.

pub mod kernels;
pub mod labels;
#[cfg(test)]
mod oracle_tests;

use polars::prelude::*;

use crate::candles::Candle;
use crate::config::{FeatureSettings, Regime, RegimeSettings};

/// Feature columns in a fixed order, with NaN where a feature is not yet defined.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub open_time: Vec<i64>,
    pub close: Vec<f64>,
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
    /// `None` while the regime's inputs are still warming up.
    pub regime: Vec<Option<Regime>>,
}

impl FeatureTable {
    pub fn len(&self) -> usize {
        self.open_time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open_time.is_empty()
    }

    /// Whether every feature of row `row` is defined.
    pub fn complete(&self, row: usize) -> bool {
        self.columns.iter().all(|column| column[row].is_finite())
    }
}

const MS_PER_DAY: i64 = 86_400_000;
/// 1970-01-01 was a Thursday: day 0 + 3 makes Monday 0.
const EPOCH_WEEKDAY: i64 = 3;

/// Whole series whose tables every later computation on a prefix of them slices instead
/// of computing again: a replay registers the series it walks, and each of its thousands
/// of steps then reads its features in the time of a copy. Exact because a feature at bar
/// t reads bars up to t only (`appending_future_bars_changes_no_earlier_row` checks it bit
/// for bit), and a prefix is recognised only when every candle of it is bitwise the same.
static PRECOMPUTED: std::sync::Mutex<Vec<Precomputed>> = std::sync::Mutex::new(Vec::new());

struct Precomputed {
    candles: Vec<Candle>,
    settings: (FeatureSettings, RegimeSettings),
    table: FeatureTable,
}

/// Compute the table of a whole series once, for every later [`compute`] on a prefix of
/// it with the same settings, until [`forget_precomputed`].
pub fn precompute(candles: &[Candle], f: &FeatureSettings, r: &RegimeSettings) -> PolarsResult<()> {
    let table = compute(candles, f, r)?;
    if let Ok(mut tables) = PRECOMPUTED.lock() {
        tables.push(Precomputed { candles: candles.to_vec(), settings: (f.clone(), r.clone()), table });
    }
    Ok(())
}

/// Drop every precomputed table.
pub fn forget_precomputed() {
    if let Ok(mut tables) = PRECOMPUTED.lock() {
        tables.clear();
    }
}

/// The precomputed table's first `candles.len()` rows, if `candles` is a prefix of a
/// precomputed series with these settings.
fn precomputed_prefix(candles: &[Candle], f: &FeatureSettings, r: &RegimeSettings) -> Option<FeatureTable> {
    let tables = PRECOMPUTED.lock().ok()?;
    let n = candles.len();
    let hit = tables.iter().find(|p| {
        n > 0
            && n <= p.candles.len()
            && p.settings.0 == *f
            && p.settings.1 == *r
            && candles.iter().zip(&p.candles).all(|(a, b)| a.same_as(b))
    })?;
    let t = &hit.table;
    Some(FeatureTable {
        open_time: t.open_time[..n].to_vec(),
        close: t.close[..n].to_vec(),
        names: t.names.clone(),
        columns: t.columns.iter().map(|c| c[..n].to_vec()).collect(),
        regime: t.regime[..n].to_vec(),
    })
}

/// Compute every feature and the regime of every bar of `candles` (in time order).
pub fn compute(candles: &[Candle], f: &FeatureSettings, r: &RegimeSettings) -> PolarsResult<FeatureTable> {
    if let Some(table) = precomputed_prefix(candles, f, r) {
        return Ok(table);
    }
    let open_time: Vec<i64> = candles.iter().map(|c| c.open_time).collect();
    let [open, high, low, close, volume] =
        [0, 1, 2, 3, 4].map(|i| candles.iter().map(|c| c.values()[i]).collect::<Vec<f64>>());

    let (fast, slow, signal) = (f.macd_fast as usize, f.macd_slow as usize, f.macd_signal as usize);
    // TA-Lib's MACD seeds the fast EMA where the slow one starts.
    let ema_fast = kernels::ema(&close, fast, slow - 1);
    let ema_slow = kernels::ema(&close, slow, 0);
    let macd: Vec<f64> = ema_fast.iter().zip(&ema_slow).map(|(a, b)| a - b).collect();
    let macd_signal = kernels::ema(&macd, signal, 0);
    let [plus_di, minus_di, adx] = kernels::adx(&high, &low, &close, f.adx_period as usize);
    let mut kernel_columns = vec![
        nullable("k_rsi", kernels::rsi(&close, f.rsi_period as usize)),
        nullable("k_atr", kernels::atr(&high, &low, &close, f.atr_period as usize)),
        nullable("k_adx", adx),
        nullable("k_plus_di", plus_di),
        nullable("k_minus_di", minus_di),
        nullable("k_macd", macd),
        nullable("k_macd_signal", macd_signal),
        nullable("k_cci", kernels::cci(&high, &low, &close, f.cci_period as usize)),
    ];
    for &window in &f.ma_windows {
        kernel_columns.push(nullable(&format!("k_ema_{window}"), kernels::ema(&close, window as usize, 0)));
    }

    let mut frame = DataFrame::new_infer_height(vec![
        Column::new("open_time".into(), &open_time),
        Column::new("open".into(), &open),
        Column::new("high".into(), &high),
        Column::new("low".into(), &low),
        Column::new("close".into(), &close),
        Column::new("volume".into(), &volume),
    ])?;
    for column in kernel_columns {
        frame.with_column(column)?;
    }

    let (exprs, names) = feature_exprs(f);
    let frame = frame.lazy().with_columns(exprs).collect()?;

    let mut columns = Vec::with_capacity(names.len() + 4);
    for name in &names {
        columns.push(as_f64(&frame, name)?);
    }
    let mut names = names;
    for (name, values) in time_features(&open_time) {
        names.push(name.to_string());
        columns.push(values);
    }
    let column = |name: &str| names.iter().position(|n| n == name).map(|i| &columns[i]);
    let regime = match (column("volatility"), column("bb_bandwidth"), column("adx")) {
        (Some(volatility), Some(bandwidth), Some(adx)) => regimes(volatility, bandwidth, adx, r),
        _ => return Err(PolarsError::ColumnNotFound("volatility, bb_bandwidth and adx".into())),
    };
    Ok(FeatureTable { open_time, close, names, columns, regime })
}

/// A kernel's output as a polars column, NaN (not yet defined) as null: polars orders NaN
/// above every number, and a comparison with it must not pass.
fn nullable(name: &str, values: Vec<f64>) -> Column {
    let options: Vec<Option<f64>> = values.into_iter().map(|v| v.is_finite().then_some(v)).collect();
    Column::new(name.into(), options)
}

fn as_f64(frame: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    Ok(frame.column(name)?.f64()?.iter().map(|v| v.filter(|v| v.is_finite()).unwrap_or(f64::NAN)).collect())
}

fn window(size: u32) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow { window_size: size as usize, min_periods: size as usize, ..Default::default() }
}

/// Population standard deviation, as TA-Lib's BBANDS uses.
fn population(size: u32) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow {
        fn_params: Some(RollingFnParams::Var(RollingVarParams { ddof: 0 })),
        ..window(size)
    }
}

/// `numerator / denominator`, or `otherwise` where the denominator is 0.
fn ratio(numerator: Expr, denominator: Expr, otherwise: f64) -> Expr {
    when(denominator.clone().eq(lit(0.0))).then(lit(otherwise)).otherwise(numerator / denominator)
}

fn feature_exprs(f: &FeatureSettings) -> (Vec<Expr>, Vec<String>) {
    let c = || col("close");
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    let mut add = |name: String, expr: Expr| {
        exprs.push(expr.alias(name.as_str()));
        names.push(name);
    };
    let ln = |x: Expr| x.log(lit(std::f64::consts::E));

    for &h in &f.return_horizons {
        add(format!("ret_{h}"), ln(c() / c().shift(lit(h as i64))));
    }
    // Not TA-Lib: the sample standard deviation (ddof 1) of one-bar log returns, as pandas.
    add("volatility".into(), ln(c() / c().shift(lit(1))).rolling_std(window(f.volatility_window)));
    add("rsi".into(), col("k_rsi"));
    // MACD in price units divided by the close, to be scale-free.
    add("macd".into(), col("k_macd") / c());
    add("macd_signal".into(), col("k_macd_signal") / c());
    add("macd_hist".into(), (col("k_macd") - col("k_macd_signal")) / c());

    let middle = || c().rolling_mean(window(f.bollinger_period));
    let width = || lit(2.0 * f.bollinger_std) * c().rolling_std(population(f.bollinger_period));
    let lower = || middle() - width() / lit(2.0);
    // %B and bandwidth are not TA-Lib functions; they are the usual ratios of its BBANDS.
    add("bb_pct_b".into(), ratio(c() - lower(), width(), 0.5));
    add("bb_bandwidth".into(), width() / middle());
    // TA-Lib's NATR is ATR / close x 100; here as a fraction.
    add("natr".into(), col("k_atr") / c());
    add("adx".into(), col("k_adx"));
    add("plus_di".into(), col("k_plus_di"));
    add("minus_di".into(), col("k_minus_di"));

    // TA-Lib's STOCHF: fast %K over `stochastic_k` bars and its SMA as %D.
    let lowest = col("low").rolling_min(window(f.stochastic_k));
    let highest = col("high").rolling_max(window(f.stochastic_k));
    let stoch_k = ratio(lit(100.0) * (c() - lowest.clone()), highest - lowest, 0.0);
    add("stoch_k".into(), stoch_k.clone());
    add("stoch_d".into(), stoch_k.rolling_mean(window(f.stochastic_d)));
    add("cci".into(), col("k_cci"));
    let lowest = col("low").rolling_min(window(f.williams_period));
    let highest = col("high").rolling_max(window(f.williams_period));
    add("williams_r".into(), ratio(lit(-100.0) * (highest.clone() - c()), highest - lowest, 0.0));

    // Not TA-Lib: volume z-score with the sample standard deviation, as pandas.
    let v = || col("volume");
    let vw = f.volatility_window;
    add("volume_z".into(), ratio(v() - v().rolling_mean(window(vw)), v().rolling_std(window(vw)), 0.0));
    // OBV's change over the window (its secant slope) per unit of volume traded in it:
    // TA-Lib's OBV level depends on where the series starts and on the volume's scale.
    let signed = when(c().gt(c().shift(lit(1))))
        .then(v())
        .when(c().lt(c().shift(lit(1))))
        .then(-v())
        .otherwise(lit(0.0));
    let ow = f.obv_slope_window;
    add("obv_slope".into(), ratio(signed.rolling_sum(window(ow)), v().rolling_sum(window(ow)), 0.0));

    for &w in &f.ma_windows {
        add(format!("dist_sma_{w}"), c() / c().rolling_mean(window(w)) - lit(1.0));
    }
    for &w in &f.ma_windows {
        add(format!("dist_ema_{w}"), c() / col(format!("k_ema_{w}").as_str()) - lit(1.0));
    }
    let range = || col("high") - col("low");
    let top = || when(col("open").gt(c())).then(col("open")).otherwise(c());
    let bottom = || when(col("open").lt(c())).then(col("open")).otherwise(c());
    add("range".into(), range() / c());
    add("body".into(), ratio(c() - col("open"), range(), 0.0));
    add("upper_wick".into(), ratio(col("high") - top(), range(), 0.0));
    add("lower_wick".into(), ratio(bottom() - col("low"), range(), 0.0));
    (exprs, names)
}

/// Each bar's regime from past data: volatile when realised volatility is at or above its
/// `volatile_percentile` over the last `lookback_bars`; else trending when ADX is at or
/// above `trend_adx`; else consolidation when the Bollinger bandwidth is at or below its
/// `squeeze_percentile`; else sideways. `None` while any input is warming up. The two
/// percentile lines are computed side by side.
fn regimes(volatility: &[f64], bandwidth: &[f64], adx: &[f64], r: &RegimeSettings) -> Vec<Option<Regime>> {
    let lookback = r.lookback_bars as usize;
    let (volatile_line, squeeze_line) = rayon::join(
        || kernels::rolling_quantile(volatility, lookback, r.volatile_percentile),
        || kernels::rolling_quantile(bandwidth, lookback, r.squeeze_percentile),
    );
    (0..volatility.len())
        .map(|t| {
            // A defined line means every value of its window, this bar's too, is defined.
            if volatile_line[t].is_nan() || squeeze_line[t].is_nan() || adx[t].is_nan() {
                None
            } else if volatility[t] >= volatile_line[t] {
                Some(Regime::Volatile)
            } else if adx[t] >= r.trend_adx {
                Some(Regime::Trending)
            } else if bandwidth[t] <= squeeze_line[t] {
                Some(Regime::Consolidation)
            } else {
                Some(Regime::Sideways)
            }
        })
        .collect()
}

/// Hour of day and day of week on the unit circle, from the open time (UTC).
fn time_features(open_time: &[i64]) -> [(&'static str, Vec<f64>); 4] {
    let tau = std::f64::consts::TAU;
    let day_share: Vec<f64> =
        open_time.iter().map(|t| t.rem_euclid(MS_PER_DAY) as f64 / MS_PER_DAY as f64).collect();
    let week_share: Vec<f64> = open_time
        .iter()
        .zip(&day_share)
        .map(|(t, d)| ((t.div_euclid(MS_PER_DAY) + EPOCH_WEEKDAY).rem_euclid(7) as f64 + d) / 7.0)
        .collect();
    [
        ("hour_sin", day_share.iter().map(|s| (tau * s).sin()).collect()),
        ("hour_cos", day_share.iter().map(|s| (tau * s).cos()).collect()),
        ("dow_sin", week_share.iter().map(|s| (tau * s).sin()).collect()),
        ("dow_cos", week_share.iter().map(|s| (tau * s).cos()).collect()),
    ]
}
