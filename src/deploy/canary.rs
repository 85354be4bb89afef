//! Canary tests: which arm serves a bar, and how a test ends.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::signals::{Summary, summary, z_test};
use crate::store::Outcome;

crate::kinds::text_enum! {
    /// The arm that serves a prediction.
    pub enum Arm {
        Champion => "champion",
        Challenger => "challenger",
    }
}

/// The arm of (symbol, bar): the first 8 bytes of SHA-256("symbol:open_time") as a
/// uniform number in [0, 100), below `traffic_split` for the challenger. The same bar
/// always goes to the same arm, on any machine.
pub fn route(symbol: &str, open_time: i64, traffic_split: f64) -> Arm {
    let digest = Sha256::digest(format!("{symbol}:{open_time}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let uniform = u64::from_be_bytes(first) as f64 / 2f64.powi(64) * 100.0;
    if uniform < traffic_split { Arm::Challenger } else { Arm::Champion }
}

/// How the test stands or ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub champion: Summary,
    pub challenger: Summary,
    pub min_signals: usize,
    /// Both arms have `min_signals` resolved signals.
    pub complete: bool,
    /// One-sided two-proportion z-test (pooled) that the challenger's win rate over its
    /// trades is higher: z and the confidence Phi(z). `None` while incomplete, without a
    /// trade in an arm, or when every trade won or every one lost.
    pub z: Option<f64>,
    pub confidence: Option<f64>,
    pub min_confidence: f64,
    /// Complete, confidence at least `min_confidence`, and a mean return per signal at
    /// least the champion's.
    pub promote: bool,
    pub reason: String,
}

fn rate(s: &Summary) -> String {
    s.win_rate.map_or("-".to_string(), |r| format!("{:.1}%", 100.0 * r))
}

/// Decide a test from both arms' resolved signals.
pub fn decide(
    champion: &[Outcome],
    challenger: &[Outcome],
    min_signals: usize,
    min_confidence: f64,
) -> Decision {
    let (a, b) = (summary(champion), summary(challenger));
    let complete = a.signals >= min_signals && b.signals >= min_signals;
    let test = if complete { z_test(&a, &b) } else { None };
    let (z, confidence) = (test.map(|t| t.0), test.map(|t| t.1));
    let returns_hold = b.mean_return >= a.mean_return;
    let promote = complete && confidence.is_some_and(|c| c >= min_confidence) && returns_hold;
    let reason = if !complete {
        format!("running: {} and {} resolved signals, {min_signals} needed in each arm", a.signals, b.signals)
    } else {
        let rates = format!(
            "challenger win rate {} vs champion {} ({} vs {} trades), mean return {:+.4}% vs {:+.4}% per signal",
            rate(&b),
            rate(&a),
            b.trades,
            a.trades,
            100.0 * b.mean_return,
            100.0 * a.mean_return
        );
        match confidence {
            Some(c) if promote => format!("challenger better at confidence {c:.3}: {rates}"),
            Some(c) if c < min_confidence => {
                format!("confidence {c:.3} below deployment.canary.min_confidence {min_confidence}: {rates}")
            }
            Some(c) => format!("confidence {c:.3} but a lower mean return: {rates}"),
            None => {
                format!("no win rates to test (an arm without trades, or every trade won or lost): {rates}")
            }
        }
    };
    Decision {
        champion: a,
        challenger: b,
        min_signals,
        complete,
        z,
        confidence,
        min_confidence,
        promote,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(wins: usize, losses: usize, win_return: f64, loss_return: f64) -> Vec<Outcome> {
        (0..wins)
            .map(|i| Outcome { open_time: i as i64, realised_return: win_return, win: Some(true) })
            .chain((0..losses).map(|i| Outcome {
                open_time: i as i64,
                realised_return: loss_return,
                win: Some(false),
            }))
            .collect()
    }

    #[test]
    fn routing_is_deterministic_and_close_to_the_split() {
        let bars: Vec<i64> = (0..20_000).map(|i| 1_600_000_000_000 + i * 300_000).collect();
        let challenger = bars.iter().filter(|&&t| route("BTCUSDT", t, 10.0) == Arm::Challenger).count();
        // Binomial(20000, 0.1): sd 42; 4 sd either side.
        assert!((1832..=2168).contains(&challenger), "{challenger}");
        assert!(bars.iter().all(|&t| route("BTCUSDT", t, 10.0) == route("BTCUSDT", t, 10.0)));
        assert!(bars.iter().all(|&t| route("BTCUSDT", t, 0.0) == Arm::Champion));
        assert!(bars.iter().all(|&t| route("BTCUSDT", t, 100.0) == Arm::Challenger));
        // Raising the split only moves bars from the champion to the challenger.
        assert!(
            bars.iter()
                .all(|&t| route("X", t, 10.0) == Arm::Champion || route("X", t, 30.0) == Arm::Challenger)
        );
    }

    #[test]
    fn the_z_test_matches_the_textbook_and_both_criteria_decide() {
        // Champion 18/40 wins, challenger 26/40. Pooled p = 0.55; se = sqrt(.55*.45*(2/40));
        // z = 0.2 / 0.111243 = 1.797866; Phi(z) = 0.963901 (scipy.stats.norm.cdf).
        let d = decide(&outcomes(18, 22, 0.01, -0.01), &outcomes(26, 14, 0.01, -0.01), 30, 0.8);
        assert!((d.z.unwrap() - 1.797_866).abs() < 1e-6, "{d:?}");
        assert!((d.confidence.unwrap() - 0.963_901).abs() < 1e-6, "{d:?}");
        assert!(d.promote, "{}", d.reason);
        // The same win rates with a lower mean return keep the champion.
        let d = decide(&outcomes(18, 22, 0.01, -0.01), &outcomes(26, 14, 0.001, -0.05), 30, 0.8);
        assert!(!d.promote && d.reason.contains("lower mean return"), "{}", d.reason);
        // Equal win rates: confidence 0.5.
        let d = decide(&outcomes(20, 20, 0.01, -0.01), &outcomes(20, 20, 0.01, -0.01), 30, 0.8);
        assert!((d.confidence.unwrap() - 0.5).abs() < 1e-7 && !d.promote);
        // Too few signals in one arm: still running, never promoted.
        let d = decide(&outcomes(18, 22, 0.01, -0.01), &outcomes(29, 0, 0.01, -0.01), 30, 0.8);
        assert!(!d.complete && !d.promote && d.reason.starts_with("running"));
    }
}
