//! A signal is one standalone decision over its horizon: enter at the close of its bar as
//! the model saw it (a bar still forming when predicted may close elsewhere later), exit
//! at the close `horizon_bars` later, paying the costs of both sides. (The backtest
//! instead charges a cost per position change; live signals are judged one by one.)

use crate::store::{Outcome, Pending, Resolution};

/// What a position earned on a market return after costs on both sides, and for a trade
/// (long or short) whether it won: earned more than its costs. A flat signal earns 0 and
/// is no trade, so it neither wins nor loses (win rates are over trades, as empyrical's).
pub fn outcome(position: i8, market_return: f64, cost_per_side: f64) -> (f64, Option<bool>) {
    match position {
        0 => (0.0, None),
        p => {
            let realised = f64::from(p) * market_return - 2.0 * cost_per_side;
            (realised, Some(realised > 0.0))
        }
    }
}

/// Resolve the signals whose horizon has passed, given the series' (open_time, close)
/// in time order. The exit is the close of the bar `horizon_bars` later; over a gap, the
/// last bar before that time. A signal waits while no bar at or after its exit time is
/// stored.
pub fn resolve(pending: &[Pending], closes: &[(i64, f64)], interval_ms: i64) -> Vec<Resolution> {
    let mut out = Vec::new();
    for s in pending {
        let exit_time = s.open_time + s.horizon_bars * interval_ms;
        let after = closes.partition_point(|c| c.0 < exit_time);
        if after == closes.len() {
            continue;
        }
        let exit = if closes[after].0 == exit_time || after == 0 { after } else { after - 1 };
        let market_return = closes[exit].1 / s.entry_close - 1.0;
        let (realised_return, win) = outcome(s.position, market_return, s.cost_per_side);
        out.push(Resolution { id: s.id, market_return, realised_return, win });
    }
    out
}

/// Resolved signals summed up: trades, wins among them, mean realised return per signal.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub signals: usize,
    pub trades: usize,
    pub wins: usize,
    /// Wins over trades; `None` without a trade.
    pub win_rate: Option<f64>,
    /// Over every signal, flat ones earning 0.
    pub mean_return: f64,
}

pub fn summary(outcomes: &[Outcome]) -> Summary {
    let trades = outcomes.iter().filter(|o| o.win.is_some()).count();
    let wins = outcomes.iter().filter(|o| o.win == Some(true)).count();
    Summary {
        signals: outcomes.len(),
        trades,
        wins,
        win_rate: (trades > 0).then(|| wins as f64 / trades as f64),
        mean_return: outcomes.iter().map(|o| o.realised_return).sum::<f64>() / outcomes.len().max(1) as f64,
    }
}

/// One-sided two-proportion z-test (pooled variance) that `b`'s win rate is above `a`'s:
/// (z, Phi(z)); `None` without trades on either side or without variance (all won or
/// all lost).
pub fn z_test(a: &Summary, b: &Summary) -> Option<(f64, f64)> {
    let (n1, n2) = (a.trades as f64, b.trades as f64);
    if a.trades == 0 || b.trades == 0 {
        return None;
    }
    let pooled = (a.wins + b.wins) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (b.wins as f64 / n2 - a.wins as f64 / n1) / se;
    Some((z, crate::normal::cdf(z)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: i64, open_time: i64, position: i8, entry_close: f64) -> Pending {
        Pending { id, open_time, position, entry_close, horizon_bars: 3, cost_per_side: 0.001 }
    }

    #[test]
    fn trades_pay_costs_on_both_sides_and_flat_is_no_trade() {
        let (r, win) = outcome(1, 0.01, 0.001);
        assert!((r - 0.008).abs() < 1e-15 && win == Some(true));
        assert_eq!(outcome(1, 0.0015, 0.001).1, Some(false), "0.15% does not pay 0.2% of costs");
        assert_eq!(outcome(0, 0.03, 0.001), (0.0, None));
        let (r, win) = outcome(-1, -0.01, 0.001);
        assert!((r - 0.008).abs() < 1e-15 && win == Some(true));
        let s = summary(&[
            Outcome { open_time: 0, realised_return: 0.01, win: Some(true) },
            Outcome { open_time: 1, realised_return: -0.02, win: Some(false) },
            Outcome { open_time: 2, realised_return: 0.0, win: None },
        ]);
        assert_eq!((s.signals, s.trades, s.wins, s.win_rate), (3, 2, 1, Some(0.5)));
        assert!((s.mean_return - (-0.01 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn a_signal_resolves_once_its_exit_bar_exists_and_gaps_take_the_last_bar_before() {
        let m = 60_000;
        let closes: Vec<(i64, f64)> =
            vec![(0, 100.0), (m, 101.0), (2 * m, 99.0), (3 * m, 102.0), (5 * m, 90.0)];
        let signals = [
            pending(1, 0, 1, 100.0),
            pending(2, m, 1, 101.0),
            pending(3, 2 * m, 0, 99.0),
            pending(4, 3 * m, 1, 102.0),
        ];
        let out = resolve(&signals, &closes, m);
        assert_eq!(out.len(), 3, "signal 4 exits at 6m, not stored yet");
        assert_eq!(out[0].id, 1);
        assert!((out[0].market_return - 0.02).abs() < 1e-12, "exit at 3m: 102/100");
        assert!((out[0].realised_return - 0.018).abs() < 1e-12 && out[0].win == Some(true));
        // Signal 2 exits at 4m, missing: the last bar before it (3m) gives the close.
        assert!((out[1].market_return - (102.0 / 101.0 - 1.0)).abs() < 1e-12);
        // Signal 3 (flat) exits at 5m: no trade.
        assert!(out[2].win.is_none() && out[2].realised_return == 0.0);
        // The entry is the close the model saw, even if the bar was still forming.
        let forming = resolve(&[pending(9, 0, 1, 98.0)], &closes, m);
        assert!((forming[0].market_return - (102.0 / 98.0 - 1.0)).abs() < 1e-12);
    }
}

/// A fresh promotion's live trades against the version it replaced.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LiveDegradation {
    pub new: Summary,
    pub replaced: Summary,
    /// (replaced - new) / replaced, on win rates.
    pub relative_drop: f64,
    pub threshold: f64,
    /// Phi(z) of the one-sided two-proportion test that the replaced version wins more.
    pub confidence: f64,
    pub min_confidence: f64,
    pub degraded: bool,
}

/// Compare once both have `min_signals` resolved signals; `None` before that, without a
/// trade on either side, or without variance. Degraded: the win rate dropped by more
/// than `threshold` (relative) AND the drop is significant at `min_confidence`, so that
/// a few unlucky trades do not roll a model back.
pub fn live_degradation(
    new: &[Outcome],
    replaced: &[Outcome],
    min_signals: usize,
    threshold: f64,
    min_confidence: f64,
) -> Option<LiveDegradation> {
    if new.len() < min_signals || replaced.len() < min_signals {
        return None;
    }
    let (a, b) = (summary(new), summary(replaced));
    let (_, confidence) = z_test(&a, &b)?;
    let (rate, replaced_rate) = (a.win_rate?, b.win_rate?);
    if replaced_rate == 0.0 {
        return None;
    }
    let relative_drop = (replaced_rate - rate) / replaced_rate;
    Some(LiveDegradation {
        new: a,
        replaced: b,
        relative_drop,
        threshold,
        confidence,
        min_confidence,
        degraded: relative_drop > threshold && confidence >= min_confidence,
    })
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    fn outcomes(wins: usize, losses: usize, flats: usize) -> Vec<Outcome> {
        (0..wins + losses + flats)
            .map(|i| Outcome {
                open_time: i as i64,
                realised_return: 0.0,
                win: if i < wins {
                    Some(true)
                } else if i < wins + losses {
                    Some(false)
                } else {
                    None
                },
            })
            .collect()
    }

    #[test]
    fn degradation_needs_enough_signals_a_drop_past_the_threshold_and_significance() {
        assert!(
            live_degradation(&outcomes(5, 14, 0), &outcomes(12, 8, 0), 20, 0.1, 0.8).is_none(),
            "19 signals"
        );
        // 10/40 against 30/50: z = 3.3204 (pooled 40/90), confidence 0.999551 (scipy.stats.norm.cdf).
        let d = live_degradation(&outcomes(10, 30, 5), &outcomes(30, 20, 0), 20, 0.1, 0.8).unwrap();
        assert!((d.relative_drop - (0.6 - 0.25) / 0.6).abs() < 1e-12 && d.degraded, "{d:?}");
        assert!((d.confidence - 0.999_551).abs() < 1e-6, "{d:?}");
        // The same drop on few trades is not significant.
        let d = live_degradation(&outcomes(1, 2, 30), &outcomes(2, 1, 30), 20, 0.1, 0.8).unwrap();
        assert!(d.relative_drop > 0.1 && d.confidence < 0.8 && !d.degraded, "{d:?}");
        assert!(
            live_degradation(&outcomes(0, 0, 25), &outcomes(15, 15, 0), 20, 0.1, 0.8).is_none(),
            "no trade"
        );
    }
}
