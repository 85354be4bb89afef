//! Probability calibration: a monotone map from a model's P(up) to one that means what it
//! says, fitted on the validation rows (which the model was not fitted on) as
//! scikit-learn's `CalibratedClassifierCV(cv="prefit")` fits it, and measured on the test
//! rows by the expected calibration error and a reliability table.
//!
//! - **Platt** (`method="sigmoid"`): P = 1 / (1 + exp(a p + b)), with a and b minimising
//!   the log loss against Platt's smoothed targets ((n1 + 1) / (n1 + 2) for up rows,
//!   1 / (n0 + 2) for the others), as scikit-learn's `_sigmoid_calibration` does. Its
//!   minimiser (L-BFGS-B) and ours (Newton's method with a halving line search) find the
//!   same optimum of this convex loss.
//! - **Isotonic**: the non-decreasing step function closest in squared error (pool
//!   adjacent violators, equal inputs pooled first), read between its steps by linear
//!   interpolation and clipped outside them: scikit-learn's
//!   `IsotonicRegression(out_of_bounds="clip")`.

use serde::{Deserialize, Serialize};

pub use crate::config::CalibrationMethod as Method;

/// A fitted calibration map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Calibrator {
    /// P = 1 / (1 + exp(a p + b)).
    Platt { a: f64, b: f64 },
    /// The steps' inputs (increasing) and outputs (non-decreasing), scikit-learn's
    /// `X_thresholds_` and `y_thresholds_`.
    Isotonic { x: Vec<f64>, y: Vec<f64> },
}

impl Calibrator {
    /// Fit `method` on probabilities `p` and labels `y` (0 or 1); `None` for
    /// [`Method::None`] or when there is nothing to fit on (no rows, or one class).
    pub fn fit(method: Method, p: &[f64], y: &[u8]) -> Option<Calibrator> {
        let positives = y.iter().filter(|&&v| v == 1).count();
        if p.is_empty() || p.len() != y.len() || positives == 0 || positives == y.len() {
            return None;
        }
        match method {
            Method::None => None,
            Method::Platt => Some(platt(p, y)),
            Method::Isotonic => Some(isotonic(p, y)),
        }
    }

    /// The calibrated probability of `p`.
    pub fn apply(&self, p: f64) -> f64 {
        match self {
            Calibrator::Platt { a, b } => 1.0 / (1.0 + (a * p + b).exp()),
            Calibrator::Isotonic { x, y } => interpolate(x, y, p),
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Calibrator::Platt { .. } => Method::Platt,
            Calibrator::Isotonic { .. } => Method::Isotonic,
        }
    }

    /// A map read from an artifact must be usable: finite numbers, and for isotonic
    /// steps, as many outputs as inputs, inputs increasing, outputs non-decreasing in [0, 1].
    pub fn validate(&self) -> Result<(), String> {
        let ok = match self {
            Calibrator::Platt { a, b } => a.is_finite() && b.is_finite(),
            Calibrator::Isotonic { x, y } => {
                !x.is_empty()
                    && x.len() == y.len()
                    && x.iter().all(|v| v.is_finite())
                    && y.iter().all(|v| (0.0..=1.0).contains(v))
                    && x.windows(2).all(|w| w[0] < w[1])
                    && y.windows(2).all(|w| w[0] <= w[1])
            }
        };
        if ok { Ok(()) } else { Err("the probability calibration is malformed".into()) }
    }
}

/// np.interp(clip(p, x[0], x[-1]), x, y).
fn interpolate(x: &[f64], y: &[f64], p: f64) -> f64 {
    let Some((&first, &last)) = x.first().zip(x.last()) else { return p };
    if p.is_nan() {
        return p;
    }
    if p <= first {
        return y[0];
    }
    if p >= last {
        return y[y.len() - 1];
    }
    // x[i - 1] < p <= x[i]... find the first x >= p.
    let i = x.partition_point(|&v| v < p);
    if x[i] == p {
        return y[i];
    }
    let (x0, x1, y0, y1) = (x[i - 1], x[i], y[i - 1], y[i]);
    y0 + (p - x0) * (y1 - y0) / (x1 - x0)
}

fn platt(p: &[f64], y: &[u8]) -> Calibrator {
    let n1 = y.iter().filter(|&&v| v == 1).count() as f64;
    let n0 = y.len() as f64 - n1;
    let (hi, lo) = ((n1 + 1.0) / (n1 + 2.0), 1.0 / (n0 + 2.0));
    let t: Vec<f64> = y.iter().map(|&v| if v == 1 { hi } else { lo }).collect();
    // Loss of (a, b): sum of -t log q - (1 - t) log(1 - q), q = 1 / (1 + exp(a p + b)).
    // With z = a p + b: -log q = softplus(z), -log(1 - q) = softplus(-z).
    let softplus = |z: f64| if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
    let loss = |a: f64, b: f64| -> f64 {
        p.iter().zip(&t).map(|(&f, &t)| t * softplus(a * f + b) + (1.0 - t) * softplus(-(a * f + b))).sum()
    };
    let (mut a, mut b) = (0.0, ((n0 + 1.0) / (n1 + 1.0)).ln());
    let mut current = loss(a, b);
    for _ in 0..100 {
        // d loss / d z = (1 - q) - (1 - t) ... = t - q' where q' = 1 - q = sigmoid(z).
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&f, &t) in p.iter().zip(&t) {
            let s = 1.0 / (1.0 + (-(a * f + b)).exp());
            let g = s - (1.0 - t);
            let h = s * (1.0 - s);
            ga += g * f;
            gb += g;
            haa += h * f * f;
            hab += h * f;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if !(det.is_finite() && det > 0.0) || ga.abs().max(gb.abs()) < 1e-12 {
            break;
        }
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let (na, nb) = (a - step * da, b - step * db);
            let next = loss(na, nb);
            if next <= current {
                improved = next < current;
                (a, b, current) = (na, nb, next);
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    Calibrator::Platt { a, b }
}

fn isotonic(p: &[f64], y: &[u8]) -> Calibrator {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    // Equal inputs first become one point with their mean label and their count as weight.
    let mut points: Vec<(f64, f64, f64)> = Vec::new(); // (x, mean y, weight)
    for &i in &order {
        let label = f64::from(y[i]);
        match points.last_mut() {
            Some((x, mean, weight)) if *x == p[i] => {
                *mean = (*mean * *weight + label) / (*weight + 1.0);
                *weight += 1.0;
            }
            _ => points.push((p[i], label, 1.0)),
        }
    }
    // Pool adjacent violators: blocks of (mean, weight, points covered).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(points.len());
    for &(_, mean, weight) in &points {
        blocks.push((mean, weight, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 >= blocks[blocks.len() - 1].0 {
            let (m2, w2, c2) = blocks.pop().expect("two blocks");
            let last = blocks.last_mut().expect("two blocks");
            let w = last.1 + w2;
            *last = ((last.0 * last.1 + m2 * w2) / w, w, last.2 + c2);
        }
    }
    let mut fitted = Vec::with_capacity(points.len());
    for &(mean, _, covered) in &blocks {
        fitted.extend(std::iter::repeat_n(mean.clamp(0.0, 1.0), covered));
    }
    // Keep the first and last point of each run of equal outputs (scikit-learn's
    // `_build_y`: the points in between change nothing when interpolating).
    let mut x = Vec::new();
    let mut out = Vec::new();
    for i in 0..points.len() {
        let same_before = i > 0 && fitted[i - 1] == fitted[i];
        let same_after = i + 1 < points.len() && fitted[i + 1] == fitted[i];
        if !(same_before && same_after) {
            x.push(points[i].0);
            out.push(fitted[i]);
        }
    }
    Calibrator::Isotonic { x, y: out }
}

/// Bins of the reliability table: ten of equal width over [0, 1], as
/// scikit-learn's `calibration_curve(n_bins=10, strategy="uniform")`.
pub const BINS: usize = 10;

/// One row of the reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// (from, to] of P(up); the first bin includes 0.
    pub from: f64,
    pub to: f64,
    pub rows: usize,
    /// Mean P(up) of the bin's rows, and the share of them that went up.
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// How well probabilities match outcomes on some rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// Expected calibration error: sum over bins of (rows / all rows) x |observed rate -
    /// mean predicted| (Naeini et al. 2015, Guo et al. 2017), over [`BINS`] equal-width bins.
    pub ece: f64,
    /// The non-empty bins.
    pub bins: Vec<Bin>,
}

/// A version's reliability on its test rows, before and after calibration (the same
/// when it has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReliability {
    pub before: Reliability,
    pub after: Reliability,
}

/// The reliability of `p` against labels `y`; `None` without rows.
pub fn reliability(p: &[f64], y: &[u8]) -> Option<Reliability> {
    if p.is_empty() || p.len() != y.len() {
        return None;
    }
    let mut sums = [(0usize, 0.0f64, 0usize); BINS];
    for (&p, &y) in p.iter().zip(y) {
        // scikit-learn: np.searchsorted(np.linspace(0, 1, BINS + 1)[1:-1], p), the number
        // of inner edges below p; linspace's edges are k x (1 / BINS).
        let bin = (1..BINS).filter(|&k| (k as f64 * (1.0 / BINS as f64)) < p).count();
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += usize::from(y == 1);
    }
    let n = p.len() as f64;
    let mut ece = 0.0;
    let mut bins = Vec::new();
    for (k, &(rows, sum, ups)) in sums.iter().enumerate() {
        if rows == 0 {
            continue;
        }
        let mean_predicted = sum / rows as f64;
        let observed_rate = ups as f64 / rows as f64;
        ece += rows as f64 / n * (observed_rate - mean_predicted).abs();
        bins.push(Bin {
            from: k as f64 / BINS as f64,
            to: (k + 1) as f64 / BINS as f64,
            rows,
            mean_predicted,
            observed_rate,
        });
    }
    Some(Reliability { ece, bins })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHI: f64 = 0.6180339887498949;
    const PLASTIC: f64 = 0.7548776662466927;

    /// scripts/oracles/calibration.py's inputs, by the same formulas.
    fn case(spec: &serde_json::Value) -> (Vec<f64>, Vec<u8>) {
        let (n, power, scale) =
            (spec["n"].as_u64().unwrap(), spec["power"].as_f64().unwrap(), spec["scale"].as_f64().unwrap());
        let flip = spec["flip"].as_bool().unwrap();
        let frac = |x: f64| x - x.floor();
        (1..=n)
            .map(|i| {
                let q = (frac(i as f64 * PHI) * 40.0).floor() / 40.0;
                let truth = scale * if flip { (1.0 - q).powf(power) } else { q.powf(power) };
                (q, u8::from(frac(i as f64 * PLASTIC) < truth))
            })
            .unzip()
    }

    fn numbers(v: &serde_json::Value) -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    }

    #[track_caller]
    fn close(ours: f64, theirs: f64, tolerance: f64, what: &str) {
        assert!((ours - theirs).abs() <= tolerance, "{what}: ours {ours}, scikit-learn {theirs}");
    }

    #[test]
    fn agrees_with_scikit_learn() {
        let oracle: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/oracles/calibration.json")).unwrap();
        let queries = numbers(&oracle["queries"]);
        for (name, expected) in oracle["cases"].as_object().unwrap() {
            let (p, y) = case(expected);
            // Platt: the same optimum as L-BFGS-B (which stops at a gradient of 1e-6).
            let Some(Calibrator::Platt { a, b }) = Calibrator::fit(Method::Platt, &p, &y) else { panic!() };
            close(a, expected["platt"]["a"].as_f64().unwrap(), 1e-4, &format!("{name} a"));
            close(b, expected["platt"]["b"].as_f64().unwrap(), 1e-4, &format!("{name} b"));
            let platt = Calibrator::Platt { a, b };
            for (q, want) in queries.iter().zip(numbers(&expected["platt"]["at_queries"])) {
                close(platt.apply(*q), want, 1e-5, &format!("{name} platt at {q}"));
            }
            // Isotonic: the same steps, and the same interpolation and clipping.
            let isotonic = Calibrator::fit(Method::Isotonic, &p, &y).unwrap();
            let Calibrator::Isotonic { x, y: steps } = &isotonic else { panic!() };
            assert_eq!(x, &numbers(&expected["isotonic"]["x"]), "{name}");
            let want = numbers(&expected["isotonic"]["y"]);
            assert_eq!(steps.len(), want.len(), "{name}");
            for (ours, theirs) in steps.iter().zip(want) {
                close(*ours, theirs, 1e-12, &format!("{name} isotonic step"));
            }
            for (q, want) in queries.iter().zip(numbers(&expected["isotonic"]["at_queries"])) {
                close(isotonic.apply(*q), want, 1e-12, &format!("{name} isotonic at {q}"));
            }
            // The reliability table is calibration_curve's, with the rows of each bin.
            let table = reliability(&p, &y).unwrap();
            let curve = &expected["curve"];
            let rows: Vec<f64> = table.bins.iter().map(|b| b.rows as f64).collect();
            assert_eq!(rows, numbers(&curve["rows"]), "{name}");
            for (bin, (t, m)) in table
                .bins
                .iter()
                .zip(numbers(&curve["prob_true"]).into_iter().zip(numbers(&curve["prob_pred"])))
            {
                close(bin.observed_rate, t, 1e-12, &format!("{name} observed"));
                close(bin.mean_predicted, m, 1e-12, &format!("{name} predicted"));
            }
            close(table.ece, curve["ece"].as_f64().unwrap(), 1e-12, &format!("{name} ece"));
        }
    }

    /// A calibration fitted on validation rows never reorders them: isotonic is
    /// non-decreasing, and Platt's map follows the sign of its slope.
    #[test]
    fn the_calibration_maps_validation_probabilities_monotonically() {
        let oracle: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/oracles/calibration.json")).unwrap();
        for expected in oracle["cases"].as_object().unwrap().values() {
            let (mut p, y) = case(expected);
            for method in [Method::Platt, Method::Isotonic] {
                let calibrator = Calibrator::fit(method, &p, &y).unwrap();
                calibrator.validate().unwrap();
                p.sort_by(f64::total_cmp);
                let mapped: Vec<f64> = p.iter().map(|&q| calibrator.apply(q)).collect();
                let increasing = mapped.windows(2).all(|w| w[0] <= w[1]);
                let decreasing = mapped.windows(2).all(|w| w[0] >= w[1]);
                match calibrator {
                    Calibrator::Platt { a, .. } if a > 0.0 => assert!(decreasing, "{method:?}"),
                    _ => assert!(increasing, "{method:?}"),
                }
                assert!(mapped.iter().all(|q| (0.0..=1.0).contains(q)));
            }
        }
        // Nothing to fit on one class.
        assert_eq!(Calibrator::fit(Method::Isotonic, &[0.2, 0.4], &[1, 1]), None);
        assert_eq!(Calibrator::fit(Method::None, &[0.2, 0.4], &[0, 1]), None);
    }

    #[test]
    fn calibration_lowers_the_error_it_is_fitted_to_remove() {
        let oracle: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/oracles/calibration.json")).unwrap();
        let (p, y) = case(&oracle["cases"]["overconfident"]);
        let before = reliability(&p, &y).unwrap().ece;
        for method in [Method::Platt, Method::Isotonic] {
            let calibrator = Calibrator::fit(method, &p, &y).unwrap();
            let mapped: Vec<f64> = p.iter().map(|&q| calibrator.apply(q)).collect();
            let after = reliability(&mapped, &y).unwrap().ece;
            assert!(after < before / 3.0, "{method:?}: {before} -> {after}");
        }
    }
}
