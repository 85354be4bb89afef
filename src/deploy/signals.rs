//! A signal is one standalone decision over its horizon: enter at the close of its bar as
//! the model saw it (a bar still forming when predicted may close elsewhere later), exit
//! at the close `horizon_bars` later, paying the costs of both sides. (The backtest
//! instead charges a cost per position change; live signals are judged one by one.)

use crate::store::{Outcome, Pending, Resolution};

/// What a position earned on a market return, and whether it was the right call: a
/// long or short wins when it earned more than its costs; flat wins when no position it
/// could have taken would have.
pub fn outcome(position: i8, market_return: f64, cost_per_side: f64, long_short: bool) -> (f64, bool) {
    let round_trip = 2.0 * cost_per_side;
    match position {
        0 => {
            let long_pays = market_return - round_trip > 0.0;
            let short_pays = long_short && -market_return - round_trip > 0.0;
            (0.0, !long_pays && !short_pays)
        }
        p => {
            let realised = f64::from(p) * market_return - round_trip;
            (realised, realised > 0.0)
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
        let (realised_return, win) = outcome(s.position, market_return, s.cost_per_side, s.long_short);
        out.push(Resolution { id: s.id, market_return, realised_return, win });
    }
    out
}

/// Share of wins and mean realised return.
pub fn summary(outcomes: &[Outcome]) -> (f64, f64) {
    let n = outcomes.len().max(1) as f64;
    let wins = outcomes.iter().filter(|o| o.win).count() as f64;
    (wins / n, outcomes.iter().map(|o| o.realised_return).sum::<f64>() / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: i64, open_time: i64, position: i8, entry_close: f64) -> Pending {
        Pending {
            id,
            open_time,
            position,
            entry_close,
            horizon_bars: 3,
            cost_per_side: 0.001,
            long_short: false,
        }
    }

    #[test]
    fn outcomes_charge_both_sides_and_flat_wins_when_staying_out_was_right() {
        let (r, win) = outcome(1, 0.01, 0.001, false);
        assert!((r - 0.008).abs() < 1e-15 && win);
        assert!(!outcome(1, 0.0015, 0.001, false).1, "0.15% does not pay 0.2% of costs");
        assert_eq!(outcome(0, 0.0015, 0.001, false), (0.0, true));
        assert_eq!(outcome(0, 0.003, 0.001, false), (0.0, false), "a long would have earned 0.1%");
        assert_eq!(outcome(0, -0.01, 0.001, false), (0.0, true));
        assert_eq!(outcome(0, -0.01, 0.001, true), (0.0, false), "a short would have earned 0.8%");
        let (r, win) = outcome(-1, -0.01, 0.001, true);
        assert!((r - 0.008).abs() < 1e-15 && win);
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
        assert!((out[0].realised_return - 0.018).abs() < 1e-12 && out[0].win);
        // Signal 2 exits at 4m, missing: the last bar before it (3m) gives the close.
        assert!((out[1].market_return - (102.0 / 101.0 - 1.0)).abs() < 1e-12);
        // Signal 3 (flat) exits at 5m: 90/99, staying out was right.
        assert!(out[2].win && out[2].realised_return == 0.0);
        // The entry is the close the model saw, even if the bar was still forming.
        let forming = resolve(&[pending(9, 0, 1, 98.0)], &closes, m);
        assert!((forming[0].market_return - (102.0 / 98.0 - 1.0)).abs() < 1e-12);
    }
}

/// A fresh promotion's live win rate against the version it replaced.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LiveDegradation {
    pub signals: usize,
    pub win_rate: f64,
    pub replaced_signals: usize,
    pub replaced_win_rate: f64,
    /// (replaced - new) / replaced.
    pub relative_drop: f64,
    pub threshold: f64,
    pub degraded: bool,
}

/// Compare once both have `min_signals` resolved signals; `None` before that, or when
/// the replaced version never won (no relative drop to speak of).
pub fn live_degradation(
    new: &[Outcome],
    replaced: &[Outcome],
    min_signals: usize,
    threshold: f64,
) -> Option<LiveDegradation> {
    if new.len() < min_signals || replaced.len() < min_signals {
        return None;
    }
    let ((win_rate, _), (replaced_win_rate, _)) = (summary(new), summary(replaced));
    if replaced_win_rate == 0.0 {
        return None;
    }
    let relative_drop = (replaced_win_rate - win_rate) / replaced_win_rate;
    Some(LiveDegradation {
        signals: new.len(),
        win_rate,
        replaced_signals: replaced.len(),
        replaced_win_rate,
        relative_drop,
        threshold,
        degraded: relative_drop > threshold,
    })
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    fn outcomes(wins: usize, losses: usize) -> Vec<Outcome> {
        (0..wins + losses)
            .map(|i| Outcome { open_time: i as i64, realised_return: 0.0, win: i < wins })
            .collect()
    }

    #[test]
    fn degradation_needs_enough_signals_on_both_sides_and_a_drop_past_the_threshold() {
        assert!(live_degradation(&outcomes(5, 14), &outcomes(12, 8), 20, 0.1).is_none(), "19 signals");
        let d = live_degradation(&outcomes(10, 15), &outcomes(15, 15), 20, 0.1).unwrap();
        assert!((d.relative_drop - 0.2).abs() < 1e-12 && d.degraded, "0.40 vs 0.50: {d:?}");
        let d = live_degradation(&outcomes(23, 27), &outcomes(15, 15), 20, 0.1).unwrap();
        assert!(!d.degraded, "0.46 vs 0.50 is an 8% drop: {d:?}");
        assert!(live_degradation(&outcomes(10, 15), &outcomes(0, 30), 20, 0.1).is_none());
    }
}
