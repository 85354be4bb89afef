//! Synthetic candles for trying retrain without market data: a Markov chain of the four
//! regimes, GARCH(1,1) volatility clustering inside each, and a `regime` label per bar.
//! The random numbers come from [`crate::rng::SplitMix64`], so a seed writes the same bytes
//! on every machine.

use crate::candles::{Candle, Interval};
use crate::config::Regime;
use crate::rng::SplitMix64;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub start: i64,
    pub interval: Interval,
    pub bars: usize,
    pub seed: u64,
}

/// A synthetic candle and the regime that generated it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labelled {
    pub candle: Candle,
    pub regime: Regime,
}

/// Per-bar behaviour of a regime, at a 5-minute bar; other intervals scale drift by
/// time and volatility by the square root of time.
struct RegimeParams {
    drift: f64,
    volatility: f64,
    /// Pull of the log price back to where the regime started (sideways markets).
    mean_reversion: f64,
    volume: f64,
}

fn params(regime: Regime) -> RegimeParams {
    match regime {
        Regime::Trending => {
            RegimeParams { drift: 0.0006, volatility: 0.0020, mean_reversion: 0.0, volume: 1.3 }
        }
        Regime::Sideways => {
            RegimeParams { drift: 0.0, volatility: 0.0015, mean_reversion: 0.04, volume: 1.0 }
        }
        Regime::Volatile => RegimeParams { drift: 0.0, volatility: 0.0055, mean_reversion: 0.0, volume: 2.2 },
        Regime::Consolidation => {
            RegimeParams { drift: 0.0, volatility: 0.0005, mean_reversion: 0.02, volume: 0.5 }
        }
    }
}

/// Chance, per bar, of staying in the current regime (mean stay 150 bars).
const STAY: f64 = 1.0 - 1.0 / 150.0;
/// GARCH(1,1) weights of the last squared shock and the last variance.
const GARCH_ALPHA: f64 = 0.10;
const GARCH_BETA: f64 = 0.85;
const FIVE_MINUTES_MS: f64 = 300_000.0;

/// Generate `spec.bars` candles.
pub fn generate(spec: &Spec) -> Vec<Labelled> {
    let mut rng = SplitMix64(spec.seed);
    let time_scale = spec.interval.millis() as f64 / FIVE_MINUTES_MS;
    let mut regime = Regime::Sideways;
    let mut direction = 1.0;
    let mut anchor = 100.0_f64.ln();
    let mut log_price = anchor;
    let mut variance = params(regime).volatility.powi(2) * time_scale;
    let mut last_shock = 0.0_f64;
    let mut out = Vec::with_capacity(spec.bars);
    for bar in 0..spec.bars {
        if rng.uniform() > STAY {
            let others: Vec<Regime> = Regime::ALL.into_iter().filter(|r| *r != regime).collect();
            regime = others[(rng.uniform() * others.len() as f64) as usize % others.len()];
            direction = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
            anchor = log_price;
            // A new regime moves volatility at once, halfway in log terms; GARCH does the rest.
            variance = (variance * params(regime).volatility.powi(2) * time_scale).sqrt();
        }
        let p = params(regime);
        let target = p.volatility.powi(2) * time_scale;
        variance = target * (1.0 - GARCH_ALPHA - GARCH_BETA)
            + GARCH_ALPHA * last_shock.powi(2)
            + GARCH_BETA * variance;
        let sigma = variance.sqrt();
        last_shock = sigma * rng.normal();
        let drift = direction * p.drift * time_scale - p.mean_reversion * (log_price - anchor);
        let open = log_price.exp();
        log_price += drift + last_shock;
        let close = log_price.exp();
        let high = open.max(close) * (sigma * 0.6 * rng.normal().abs()).exp();
        let low = open.min(close) * (-sigma * 0.6 * rng.normal().abs()).exp();
        let volume = 1_000.0
            * p.volume
            * time_scale
            * (sigma / (0.002 * time_scale.sqrt())).sqrt()
            * (0.35 * rng.normal()).exp();
        let open_time = spec.start + bar as i64 * spec.interval.millis();
        out.push(Labelled { candle: Candle { open_time, open, high, low, close, volume }, regime });
    }
    out
}

/// The CSV that `retrain sample-data` writes: a header, text UTC times, a regime column.
pub fn to_csv(candles: &[Labelled]) -> String {
    let mut out = String::from("timestamp,open,high,low,close,volume,regime\n");
    for Labelled { candle: c, regime } in candles {
        let time = chrono::DateTime::from_timestamp_millis(c.open_time)
            .map_or_else(|| c.open_time.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        out.push_str(&format!(
            "{time},{:.4},{:.4},{:.4},{:.4},{:.2},{regime}\n",
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            regime = regime.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bars: usize, seed: u64) -> Spec {
        Spec { start: 1_704_067_200_000, interval: "5m".parse().unwrap(), bars, seed }
    }

    #[test]
    fn the_same_seed_gives_the_same_candles_and_another_does_not() {
        assert_eq!(to_csv(&generate(&spec(500, 7))), to_csv(&generate(&spec(500, 7))));
        assert_ne!(to_csv(&generate(&spec(500, 7))), to_csv(&generate(&spec(500, 8))));
    }

    #[test]
    fn candles_are_consistent_and_every_regime_occurs() {
        let candles = generate(&spec(8_640, 7));
        for l in &candles {
            let c = l.candle;
            assert!(c.low > 0.0 && c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close), "{c:?}");
            assert!(c.volume > 0.0);
        }
        for regime in Regime::ALL {
            assert!(candles.iter().filter(|l| l.regime == regime).count() > 300, "{regime:?} is rare");
        }
    }

    #[test]
    fn volatility_clusters_and_differs_by_regime() {
        let candles = generate(&spec(20_000, 3));
        let returns: Vec<f64> = candles.iter().map(|l| (l.candle.close / l.candle.open).ln()).collect();
        // Clustering: absolute returns are autocorrelated.
        let abs: Vec<f64> = returns.iter().map(|r| r.abs()).collect();
        let mean = abs.iter().sum::<f64>() / abs.len() as f64;
        let cov: f64 = abs.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
        let var: f64 = abs.iter().map(|a| (a - mean).powi(2)).sum();
        assert!(cov / var > 0.1, "lag-1 autocorrelation of |r| is {}", cov / var);
        let spread = |regime: Regime| {
            let r: Vec<f64> =
                candles.iter().zip(&returns).filter(|(l, _)| l.regime == regime).map(|(_, r)| *r).collect();
            (r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64).sqrt()
        };
        assert!(spread(Regime::Volatile) > 2.0 * spread(Regime::Sideways));
        assert!(spread(Regime::Consolidation) < spread(Regime::Sideways));
    }
}
