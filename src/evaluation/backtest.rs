//! A long/flat (or long/short) backtest of a signal over consecutive bars, and its
//! trading metrics as empyrical defines them.
//!
//! The position taken at bar t's close is held over bar t + 1:
//! `r_t = p_t (c_{t+1} / c_t - 1) - cost |p_t - p_{t-1}|`, flat before the first bar.
//! No bar's position reads a later close.

use serde::{Deserialize, Serialize};

use crate::candles::Interval;
use crate::config::{EvaluationSettings, PositionMode};

/// One bar of the backtest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub open_time: i64,
    /// -1 short, 0 flat, 1 long.
    pub position: i8,
    /// The market's return over the next bar.
    pub market_return: f64,
    /// The strategy's return, costs included.
    pub strategy_return: f64,
    /// Compounded equity after this bar, starting from 1.
    pub equity: f64,
}

/// Trading metrics; `None` where a value is undefined (no trades, a flat series).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Trading {
    pub bars: usize,
    pub total_return: f64,
    pub annual_return: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    /// As a positive fraction of the running peak (empyrical's value, negated).
    pub max_drawdown: f64,
    pub calmar: Option<f64>,
    pub trades: usize,
    pub win_rate: Option<f64>,
    pub profit_factor: Option<f64>,
    pub average_trade: Option<f64>,
    pub exposure: f64,
    pub consistency: Option<f64>,
    pub hit_rate: Option<f64>,
}

/// How signals become positions and what a position change costs.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub threshold: f64,
    pub mode: PositionMode,
    /// Fees plus slippage per side, as a fraction.
    pub cost_per_side: f64,
    pub bars_per_year: f64,
}

impl Rules {
    /// The configured rules for bars of `interval`.
    pub fn from_settings(e: &EvaluationSettings, interval: Interval) -> Rules {
        Rules {
            threshold: e.threshold,
            mode: e.position,
            cost_per_side: (e.fee_bps + e.slippage_bps) / 1e4,
            bars_per_year: interval.bars_per_year(),
        }
    }
}

/// The position for P(up) `probability` (`None`: no signal on this bar, flat).
pub fn position(probability: Option<f64>, rules: &Rules) -> i8 {
    match probability {
        Some(p) if p > rules.threshold => 1,
        Some(p) if rules.mode == PositionMode::LongShort && p < 1.0 - rules.threshold => -1,
        _ => 0,
    }
}

/// Run the backtest: `next_close[t]` is the close of the bar after bar t (the last bar
/// without one is left out).
pub fn run(
    open_time: &[i64],
    close: &[f64],
    next_close: &[f64],
    signal: &[Option<f64>],
    rules: &Rules,
) -> Vec<Bar> {
    let positions: Vec<i8> = signal.iter().map(|s| position(*s, rules)).collect();
    run_positions(open_time, close, next_close, &positions, rules.cost_per_side)
}

/// [`run`] on positions already taken (a replay's recorded signals), paying
/// `cost_per_side` per unit of position change.
pub fn run_positions(
    open_time: &[i64],
    close: &[f64],
    next_close: &[f64],
    positions: &[i8],
    cost_per_side: f64,
) -> Vec<Bar> {
    let mut bars = Vec::with_capacity(open_time.len());
    let mut previous = 0i8;
    let mut equity = 1.0;
    for t in 0..open_time.len() {
        if !next_close[t].is_finite() {
            break;
        }
        let p = positions[t];
        let market_return = next_close[t] / close[t] - 1.0;
        // `+ 0.0` turns the -0.0 of a flat bar on a falling market into 0.
        let strategy_return =
            f64::from(p) * market_return - cost_per_side * f64::from((p - previous).unsigned_abs()) + 0.0;
        equity *= 1.0 + strategy_return;
        bars.push(Bar { open_time: open_time[t], position: p, market_return, strategy_return, equity });
        previous = p;
    }
    bars
}

const WEEK_MS: i64 = 7 * 86_400_000;
/// 1970-01-05 was a Monday.
const FIRST_MONDAY_MS: i64 = 4 * 86_400_000;

/// Metrics of a backtest (empyrical's definitions, `bars_per_year` periods a year).
pub fn metrics(bars: &[Bar], rules: &Rules) -> Trading {
    let returns: Vec<f64> = bars.iter().map(|b| b.strategy_return).collect();
    let n = returns.len();
    if n == 0 {
        return Trading::default();
    }
    let total_return = returns.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0;
    let years = n as f64 / rules.bars_per_year;
    let annual_return = (1.0 + total_return).powf(1.0 / years) - 1.0;
    let max_drawdown = max_drawdown(&returns);
    let trades = closed_trades(bars, rules.cost_per_side);
    let wins = trades.iter().filter(|r| **r > 0.0).count();
    let gains = trades.iter().filter(|r| **r > 0.0).fold(0.0, |acc, r| acc + r);
    let losses = trades.iter().filter(|r| **r < 0.0).fold(0.0, |acc, r| acc - r);
    let exposed = bars.iter().filter(|b| b.position != 0).count();
    let hits =
        bars.iter().filter(|b| b.position != 0 && f64::from(b.position) * b.market_return > 0.0).count();
    Trading {
        bars: n,
        total_return,
        annual_return: annual_return.is_finite().then_some(annual_return),
        sharpe: sharpe(&returns, rules.bars_per_year),
        sortino: sortino(&returns, rules.bars_per_year),
        max_drawdown,
        calmar: (max_drawdown > 0.0 && annual_return.is_finite()).then(|| annual_return / max_drawdown),
        trades: trades.len(),
        win_rate: (!trades.is_empty()).then(|| wins as f64 / trades.len() as f64),
        profit_factor: (losses > 0.0).then(|| gains / losses),
        average_trade: (!trades.is_empty()).then(|| trades.iter().sum::<f64>() / trades.len() as f64),
        exposure: exposed as f64 / n as f64,
        consistency: consistency(bars),
        hit_rate: (exposed > 0).then(|| hits as f64 / exposed as f64),
    }
}

/// empyrical's sharpe_ratio: mean / sample standard deviation x sqrt(periods); undefined
/// for fewer than two bars or a series without dispersion.
pub fn sharpe(returns: &[f64], periods: f64) -> Option<f64> {
    if returns.len() < 2 || all_equal(returns) {
        return None;
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Some(mean / std * periods.sqrt())
}

/// empyrical's sortino_ratio: mean x periods over the downside risk,
/// sqrt(mean(min(r, 0)^2)) x sqrt(periods); undefined without a losing bar.
pub fn sortino(returns: &[f64], periods: f64) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let n = returns.len() as f64;
    let downside = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt() * periods.sqrt();
    (downside > 0.0).then(|| returns.iter().sum::<f64>() / n * periods / downside)
}

/// The largest fall from a running peak of equity (starting at 1), as a positive fraction.
pub fn max_drawdown(returns: &[f64]) -> f64 {
    let (mut equity, mut peak, mut worst) = (1.0_f64, 1.0_f64, 0.0_f64);
    for r in returns {
        equity *= 1.0 + r;
        peak = peak.max(equity);
        worst = worst.min((equity - peak) / peak);
    }
    // `+ 0.0`: no drawdown is 0, not the -0 of negating 0.
    -worst + 0.0
}

fn all_equal(values: &[f64]) -> bool {
    values.windows(2).all(|w| w[0] == w[1])
}

/// Returns of the trades closed inside the backtest (a run of one non-zero position,
/// ended by a change of position): entry and exit costs included.
fn closed_trades(bars: &[Bar], cost: f64) -> Vec<f64> {
    let mut trades = Vec::new();
    let mut current: Option<(i8, f64)> = None;
    for bar in bars {
        if let Some((_, growth)) = current.filter(|(side, _)| *side != bar.position) {
            trades.push(growth * (1.0 - cost) - 1.0);
            current = None;
        }
        if bar.position != 0 {
            let move_ = 1.0 + f64::from(bar.position) * bar.market_return;
            current = Some(match current {
                Some((side, growth)) => (side, growth * move_),
                None => (bar.position, (1.0 - cost) * move_),
            });
        }
    }
    trades
}

/// Share of calendar weeks (UTC, from Monday) whose compounded strategy return is positive.
fn consistency(bars: &[Bar]) -> Option<f64> {
    let week = |t: i64| (t - FIRST_MONDAY_MS).div_euclid(WEEK_MS);
    let weekly: Vec<f64> = bars
        .chunk_by(|a, b| week(a.open_time) == week(b.open_time))
        .map(|w| w.iter().fold(1.0, |acc, b| acc * (1.0 + b.strategy_return)) - 1.0)
        .collect();
    (!weekly.is_empty()).then(|| weekly.iter().filter(|r| **r > 0.0).count() as f64 / weekly.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(mode: PositionMode) -> Rules {
        Rules { threshold: 0.5, mode, cost_per_side: 0.001, bars_per_year: 365.0 }
    }

    #[test]
    fn positions_follow_the_threshold_and_the_mode() {
        let long_flat = rules(PositionMode::LongFlat);
        let long_short = rules(PositionMode::LongShort);
        assert_eq!(position(Some(0.7), &long_flat), 1);
        assert_eq!(position(Some(0.3), &long_flat), 0);
        assert_eq!(position(Some(0.3), &long_short), -1);
        assert_eq!(position(Some(0.5), &long_short), 0);
        assert_eq!(position(None, &long_short), 0);
    }

    #[test]
    fn a_hand_worked_backtest() {
        // Closes 100, 110, 99, 99, 108.9; long on bars 0 and 1, flat on 2, long on 3.
        let close = [100.0, 110.0, 99.0, 99.0, 108.9];
        let next: Vec<f64> = close[1..].iter().copied().chain([f64::NAN]).collect();
        let times: Vec<i64> = (0..5).map(|d| d * 86_400_000).collect();
        let signal = [Some(0.9), Some(0.8), Some(0.1), Some(0.6), Some(0.9)];
        let r = rules(PositionMode::LongFlat);
        let bars = run(&times, &close, &next, &signal, &r);
        assert_eq!(bars.len(), 4, "the last bar has no next close");
        let returns: Vec<f64> = bars.iter().map(|b| b.strategy_return).collect();
        let expected = [0.1 - 0.001, -0.1, -0.001, 0.1 - 0.001];
        for (a, b) in returns.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{returns:?}");
        }
        let m = metrics(&bars, &r);
        // One closed trade (bars 0-1): 0.999 x 1.1 x 0.9 x 0.999 - 1; the one from bar 3 is open.
        assert_eq!(m.trades, 1);
        assert!((m.average_trade.unwrap() - (0.999 * 1.1 * 0.9 * 0.999 - 1.0)).abs() < 1e-12);
        assert_eq!(m.win_rate, Some(0.0));
        assert_eq!(m.profit_factor, Some(0.0), "only a losing trade");
        assert_eq!(m.exposure, 0.75);
        assert_eq!(m.hit_rate, Some(2.0 / 3.0));
        // Equity 1.099, then x 0.9 and x 0.999 before it rises: a fall of 1 - 0.9 x 0.999.
        assert!((m.max_drawdown - (1.0 - 0.9 * 0.999)).abs() < 1e-12, "{}", m.max_drawdown);
    }

    #[test]
    fn flat_series_have_undefined_ratios() {
        let zeros = [0.0; 10];
        assert_eq!(sharpe(&zeros, 365.0), None);
        assert_eq!(sortino(&zeros, 365.0), None);
        assert_eq!(max_drawdown(&zeros), 0.0);
        assert_eq!(sortino(&[0.01, 0.02], 365.0), None, "no downside");
    }

    #[test]
    fn agrees_with_empyrical() {
        // Made by scripts/oracles/trading.py with empyrical-reloaded on real BTC returns.
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/oracles/trading.json")).unwrap();
        for case in fixture.as_array().unwrap() {
            let returns: Vec<f64> = serde_json::from_value(case["returns"].clone()).unwrap();
            let periods = case["periods"].as_f64().unwrap();
            let e = &case["empyrical"];
            let close = |ours: f64, name: &str| {
                let theirs = e[name].as_f64().unwrap();
                assert!((ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "{name}: {ours} vs {theirs}");
            };
            close(sharpe(&returns, periods).unwrap(), "sharpe");
            close(sortino(&returns, periods).unwrap(), "sortino");
            close(-max_drawdown(&returns), "max_drawdown");
            let total = returns.iter().fold(1.0, |a, r| a * (1.0 + r)) - 1.0;
            close(total, "cum_returns_final");
            close((1.0 + total).powf(periods / returns.len() as f64) - 1.0, "annual_return");
        }
    }
}
