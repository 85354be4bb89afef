//! The Probabilistic and the Deflated Sharpe Ratio (Bailey & López de Prado, "The
//! Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest Overfitting and
//! Non-Normality", Journal of Portfolio Management 40(5), 2014).
//!
//! The best of N strategies tried has a high Sharpe ratio by luck alone. The DSR is the
//! probability that the true Sharpe ratio of the chosen strategy exceeds the Sharpe ratio
//! that the best of N skill-less trials would be expected to show, given the length of
//! its track record and the skewness and kurtosis of its returns. Sharpe ratios here are
//! per observation (not annualised), as in the paper.

use crate::normal::{cdf as normal_cdf, inverse_cdf};

/// The Euler-Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Moments of a return series: its per-observation Sharpe ratio (mean over the sample
/// standard deviation, ddof 1), skewness and kurtosis (not excess; the population moments,
/// as `scipy.stats.skew` and `scipy.stats.kurtosis(fisher=False)` with their defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub observations: usize,
    pub sharpe: f64,
    pub skewness: f64,
    pub kurtosis: f64,
}

/// The moments of `returns`; `None` with fewer than two finite values or no variance.
pub fn moments(returns: &[f64]) -> Option<Moments> {
    let x: Vec<f64> = returns.iter().copied().filter(|v| v.is_finite()).collect();
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let central = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n as f64;
    let m2 = central(2);
    if m2 <= 0.0 {
        return None;
    }
    let sample_sd = (m2 * n as f64 / (n - 1) as f64).sqrt();
    Some(Moments {
        observations: n,
        sharpe: mean / sample_sd,
        skewness: central(3) / m2.powf(1.5),
        kurtosis: central(4) / (m2 * m2),
    })
}

/// The Probabilistic Sharpe Ratio: the probability that the true Sharpe ratio exceeds
/// `benchmark`, given the observed moments (the paper's eq. 9):
/// `Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2)]`.
pub fn probabilistic_sharpe(m: &Moments, benchmark: f64) -> Option<f64> {
    let spread = 1.0 - m.skewness * m.sharpe + (m.kurtosis - 1.0) / 4.0 * m.sharpe * m.sharpe;
    (m.observations >= 2 && spread > 0.0)
        .then(|| normal_cdf((m.sharpe - benchmark) * ((m.observations - 1) as f64).sqrt() / spread.sqrt()))
}

/// The Sharpe ratio the best of `trials` independent skill-less trials is expected to
/// show, when the trials' Sharpe ratios vary with `variance` (the paper's eq. 10, from
/// the expected maximum of `trials` standard normals):
/// `sqrt(V) ((1 - gamma) Z^-1(1 - 1/N) + gamma Z^-1(1 - 1/(N e)))`. 0 for a single trial.
pub fn expected_max_sharpe(trials: usize, variance: f64) -> f64 {
    if trials < 2 || variance <= 0.0 {
        return 0.0;
    }
    let n = trials as f64;
    variance.sqrt()
        * ((1.0 - EULER_GAMMA) * inverse_cdf(1.0 - 1.0 / n)
            + EULER_GAMMA * inverse_cdf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// The Deflated Sharpe Ratio of the chosen strategy's moments, after `trials` trials whose
/// Sharpe ratios vary with `variance`: the PSR against [`expected_max_sharpe`].
pub fn deflated_sharpe(chosen: &Moments, trials: usize, variance: f64) -> Option<f64> {
    probabilistic_sharpe(chosen, expected_max_sharpe(trials, variance))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's numerical example: 100 trials whose annualised Sharpe ratios vary with
    /// variance 0.5, the best at an annualised 2.5 over 1,250 daily returns with skewness
    /// -3 and kurtosis 10. The expected maximum is an annualised 1.7894 and the DSR
    /// 0.9004, as the paper reports (and Python's statistics.NormalDist gives
    /// 0.90039683 from the same formulas).
    #[test]
    fn the_paper_s_worked_example() {
        let daily = 250f64;
        let chosen =
            Moments { observations: 1250, sharpe: 2.5 / daily.sqrt(), skewness: -3.0, kurtosis: 10.0 };
        let benchmark = expected_max_sharpe(100, 0.5 / daily);
        assert!((benchmark * daily.sqrt() - 1.789_406_466).abs() < 1e-6, "{}", benchmark * daily.sqrt());
        let dsr = deflated_sharpe(&chosen, 100, 0.5 / daily).unwrap();
        assert!((dsr - 0.900_396_834).abs() < 1e-6, "{dsr}");
        assert_eq!(format!("{dsr:.4}"), "0.9004");
        // One trial: nothing to deflate, the PSR against 0.
        assert_eq!(deflated_sharpe(&chosen, 1, 0.5 / daily), probabilistic_sharpe(&chosen, 0.0));
        // More trials, a higher bar, a lower DSR.
        assert!(deflated_sharpe(&chosen, 1000, 0.5 / daily).unwrap() < dsr);
    }

    /// Normal returns (skewness 0, kurtosis 3) give the textbook standard error of the
    /// Sharpe ratio, sqrt((1 + SR^2 / 2) / (T - 1)); fat tails and negative skew widen it.
    #[test]
    fn normal_returns_give_the_textbook_standard_error() {
        let normal = Moments { observations: 101, sharpe: 0.2, skewness: 0.0, kurtosis: 3.0 };
        let z = 0.2 / ((1.0 + 0.02) / 100.0f64).sqrt();
        assert!((probabilistic_sharpe(&normal, 0.0).unwrap() - normal_cdf(z)).abs() < 1e-12);
        let fat = Moments { skewness: -1.0, kurtosis: 8.0, ..normal };
        assert!(probabilistic_sharpe(&fat, 0.0).unwrap() < probabilistic_sharpe(&normal, 0.0).unwrap());
    }

    /// The moments of a small series, computed in plain Python by the definitions that
    /// `scipy.stats.skew` and `kurtosis(fisher=False)` use by default (population central
    /// moments), and the ddof-1 Sharpe ratio.
    #[test]
    fn moments_are_scipy_s() {
        let m = moments(&[0.01, -0.02, 0.03, 0.005, -0.01, 0.04, -0.03, 0.02, f64::NAN]).unwrap();
        assert_eq!(m.observations, 8);
        assert!((m.sharpe - 0.230_412_429_440_014_03).abs() < 1e-12);
        assert!((m.skewness - -0.080_815_510_637_777_41).abs() < 1e-12);
        assert!((m.kurtosis - 1.789_806_000_925_808_5).abs() < 1e-12);
        assert_eq!(moments(&[0.01; 5]), None, "no variance");
        assert_eq!(moments(&[0.01]), None);
    }
}
