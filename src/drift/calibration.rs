//! Calibrated drift thresholds: what a feature's statistic looks like when nothing has
//! changed, measured on the model's own training period.
//!
//! Market features are autocorrelated: one week's distribution of a volatility feature
//! differs from the training period's even when the market behaves as it did, so a fixed
//! threshold (KS 0.15, PSI 0.15) fires on most weeks. Following the idea of NannyML's
//! chunk-based thresholds, the training rows are cut into contiguous, time-ordered chunks
//! the size of a monitoring window, and each chunk is compared with the rest of the
//! training rows (leaving the chunk out). Those statistics are the feature's null
//! distribution; a recent window drifts when its statistic lies beyond the null's
//! `drift.calibrated_quantile`.
//!
//! With a few dozen overlapping chunks an empirical 99th percentile is the largest chunk
//! and no more; the quantile is taken from a normal fitted to the null on a scale where it
//! is near symmetric instead (the logit of KS, which lies in [0, 1]; the log of PSI), which
//! extrapolates past the largest chunk and never past what the statistic can reach.

use serde::{Deserialize, Serialize};

use super::{ks, stats};

/// Fewest rows a chunk may have: below it the statistics are too noisy to calibrate.
pub const MIN_CHUNK_ROWS: usize = 20;

/// The null statistics of every feature (and of the model's predictions), kept with the
/// artifact's drift reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Per feature, in the reference's order, over the training rows.
    pub features: Vec<Null>,
    /// The model's predictions over its validation and test rows (the rows it did not
    /// learn from); `None` when those are too few to calibrate on.
    pub prediction: Option<Null>,
}

/// One column's statistics, chunk by chunk, each chunk against the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Null {
    /// Rows of each chunk: the expected rows of a monitoring window.
    pub chunk_rows: usize,
    /// Rows between the starts of consecutive chunks.
    pub stride: usize,
    pub ks: Vec<f64>,
    pub psi: Vec<f64>,
}

impl Null {
    /// How many chunks would fit without overlapping: what the null knows independently.
    pub fn independent(&self) -> f64 {
        let chunks = self.ks.len().max(self.psi.len());
        if chunks == 0 {
            0.0
        } else {
            1.0 + (chunks - 1) as f64 * self.stride as f64 / self.chunk_rows as f64
        }
    }
}

/// Chunk size and stride for `rows` time-ordered rows spanning `span_days`, monitored in
/// windows of `window_days`: chunks of a window's expected rows, a quarter of one apart.
/// `None` when a window would hold fewer than [`MIN_CHUNK_ROWS`] rows, or fewer than
/// `min_chunks` chunks fit side by side without overlapping.
pub fn chunking(rows: usize, span_days: f64, window_days: f64, min_chunks: usize) -> Option<(usize, usize)> {
    if rows == 0 || span_days <= 0.0 {
        return None;
    }
    let chunk = (rows as f64 * window_days / span_days).round() as usize;
    let stride = (chunk / 4).max(1);
    (chunk >= MIN_CHUNK_ROWS && rows / chunk >= min_chunks).then_some((chunk, stride))
}

/// The null of one time-ordered column: each chunk's KS statistic and PSI (on `edges`)
/// against the other rows. Non-finite values are left out of both sides.
pub fn null(values: &[f64], edges: &[f64], chunk: usize, stride: usize) -> Null {
    let starts: Vec<usize> = (0..).map(|i| i * stride).take_while(|&s| s + chunk <= values.len()).collect();
    let edges = stats::collapse(edges.to_vec());
    let finite_sorted = |part: &mut dyn Iterator<Item = &f64>| -> Vec<f64> {
        let mut v: Vec<f64> = part.copied().filter(|v| v.is_finite()).collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let mut null = Null {
        chunk_rows: chunk,
        stride,
        ks: Vec::with_capacity(starts.len()),
        psi: Vec::with_capacity(starts.len()),
    };
    for start in starts {
        let window = finite_sorted(&mut values[start..start + chunk].iter());
        let rest = finite_sorted(&mut values[..start].iter().chain(&values[start + chunk..]));
        if window.is_empty() || rest.is_empty() {
            continue;
        }
        if let Some(test) = ks::ks_statistic_sorted(&rest, &window) {
            null.ks.push(test);
        }
        null.psi.push(stats::psi(&stats::bin_shares(&rest, &edges), &stats::bin_shares(&window, &edges)));
    }
    null
}

/// How a statistic is mapped to the line before a normal is fitted to its null: KS lies
/// in [0, 1] (logit), PSI in [0, inf) (log). Both are skewed to the right near 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Log,
    Logit,
}

impl Scale {
    fn forward(self, v: f64) -> f64 {
        // A statistic of exactly 0 (identical samples) or 1 (disjoint ones) is pulled in so
        // that the transform is finite.
        match self {
            Self::Log => v.max(1e-9).ln(),
            Self::Logit => {
                let v = v.clamp(1e-9, 1.0 - 1e-9);
                (v / (1.0 - v)).ln()
            }
        }
    }

    fn back(self, x: f64) -> f64 {
        match self {
            Self::Log => x.exp(),
            Self::Logit => 1.0 / (1.0 + (-x).exp()),
        }
    }
}

/// The `quantile` of the statistic a new window would give, from a normal fitted to
/// `values` on `scale` (one statistic of a [`Null`] with `independent` non-overlapping
/// chunks' worth of information): the Student-t prediction quantile
/// `mean + t(q, n - 1) sd sqrt(1 + 1/n)` of the transformed values, which widens as the
/// null thins. `None` with fewer than two independent chunks, or fewer than three values.
pub fn threshold(values: &[f64], independent: f64, quantile: f64, scale: Scale) -> Option<f64> {
    let mapped: Vec<f64> =
        values.iter().filter(|v| v.is_finite() && **v >= 0.0).map(|&v| scale.forward(v)).collect();
    if mapped.len() < 3 || independent < 2.0 {
        return None;
    }
    let n = mapped.len() as f64;
    let mean = mapped.iter().sum::<f64>() / n;
    let sd = (mapped.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let spread = student_t_quantile(quantile, independent - 1.0) * (1.0 + 1.0 / independent).sqrt();
    Some(scale.back(mean + spread * sd))
}

/// The Student-t quantile with `df` degrees of freedom (any df > 0, not only whole
/// ones), for p in (0.5, 1): bisection on the CDF `1 - I(df / (df + t^2); df/2, 1/2) / 2`.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let cdf = |t: f64| 1.0 - 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5);
    let (mut low, mut high) = (0.0, 1.0);
    while cdf(high) < p && high < 1e12 {
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if cdf(mid) < p { low = mid } else { high = mid }
    }
    0.5 * (low + high)
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction
/// (Numerical Recipes' betacf, modified Lentz).
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast for x below (a + 1) / (a + b + 2); use the symmetry above.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        for aa in
            [m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))]
        {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms: 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn student_t_quantiles_are_the_tabled_ones() {
        // scipy.stats.t.ppf (scipy 1.16.3).
        for (p, df, t) in [
            (0.99, 4.0, 3.746_947_387_981_136_6),
            (0.99, 10.0, 2.763_769_458_112_695_3),
            (0.975, 2.0, 4.302_652_729_696_142),
            (0.99, 1.0, 31.820_515_953_757_58),
            (0.99, 2.5, 5.353_111_173_030_872),
            (0.99, 1000.0, 2.330_082_674_755_509_7),
            (0.999, 3.25, 9.132_985_123_430_386),
        ] {
            let got = student_t_quantile(p, df);
            assert!((got / t - 1.0).abs() < 1e-9, "t({p}; {df}) = {got}, scipy {t}");
        }
    }

    #[test]
    fn chunks_are_the_window_s_size_and_need_room() {
        // 3,000 rows over 30 days, weekly windows: 700-row chunks every 175 rows; 4 fit
        // side by side.
        assert_eq!(chunking(3000, 30.0, 7.0, 4), Some((700, 175)));
        assert_eq!(chunking(3000, 30.0, 7.0, 5), None);
        assert_eq!(chunking(3000, 30.0, 5.0, 5), Some((500, 125)));
        assert_eq!(chunking(60, 30.0, 7.0, 2), None, "14-row chunks are too small");
    }

    /// Chunks of a stationary series: the null's statistics against the rest are those
    /// computed directly, and a threshold from it is beyond nearly every chunk.
    #[test]
    fn the_null_is_each_chunk_against_the_rest() {
        let mut rng = SplitMix64(8);
        let values: Vec<f64> = (0..2000).map(|_| rng.normal()).collect();
        let edges = crate::artifact::deciles(&values);
        let null = null(&values, &edges, 400, 100);
        assert_eq!(null.ks.len(), 17);
        let rest: Vec<f64> = values[..300].iter().chain(&values[700..]).copied().collect();
        let window = &values[300..700];
        let direct = crate::drift::feature("x", &rest, window, Some(&edges), &Default::default());
        assert!((null.ks[3] - direct.ks_statistic.unwrap()).abs() < 1e-12);
        assert!((null.psi[3] - direct.psi.unwrap()).abs() < 1e-12);
        assert!((null.independent() - 5.0).abs() < 1e-12, "17 chunks a quarter apart: 5 independent");
        let limit = threshold(&null.ks, null.independent(), 0.99, Scale::Logit).unwrap();
        assert!(null.ks.iter().all(|&d| d < limit), "{limit} {:?}", null.ks);
        // A log-normal of known parameters, known well: its 0.99 quantile comes back; known
        // from a few chunks, the threshold is wider.
        let lognormal: Vec<f64> = (0..20_000).map(|_| (-2.0 + 0.5 * rng.normal()).exp()).collect();
        let expected = (-2.0f64 + 0.5 * 2.326_347_874_040_841).exp();
        assert!((threshold(&lognormal, 20_000.0, 0.99, Scale::Log).unwrap() / expected - 1.0).abs() < 0.02);
        assert!(threshold(&lognormal, 5.0, 0.99, Scale::Log).unwrap() > 1.5 * expected);
        assert_eq!(threshold(&[0.1, 0.2], 5.0, 0.99, Scale::Log), None);
        assert_eq!(threshold(&[0.1, 0.2, 0.3], 1.5, 0.99, Scale::Log), None);
        // On the logit scale a KS threshold stays below 1 however wide the null.
        let wide = [0.05, 0.6, 0.2, 0.9, 0.1];
        let ks_limit = threshold(&wide, 3.0, 0.99, Scale::Logit).unwrap();
        assert!(ks_limit < 1.0 && ks_limit > 0.9, "{ks_limit}");
        assert!(threshold(&wide, 3.0, 0.99, Scale::Log).unwrap() > 1.0);
    }
}
