//! Distribution distances between a reference sample and a current sample of one
//! feature: PSI and Jensen-Shannon over the reference's decile bins, and the Wasserstein
//! distance normalised by the reference's standard deviation. (The KS test is in `ks.rs`.)

use crate::artifact::deciles;

/// Shares of empty bins are replaced by this before PSI takes their logarithm; it is the
/// only place where PSI differs from the plain formula (common PSI tools use 1e-4 too).
pub const PSI_EPSILON: f64 = 1e-4;

/// The nine inner decile edges of `reference` (numpy's linear quantiles), with repeated
/// edges collapsed: the bins are (-inf, e1), [e1, e2), ..., [ek, inf).
pub fn bin_edges(reference: &[f64]) -> Vec<f64> {
    collapse(deciles(reference))
}

/// Remove repeated edges, keeping the order.
pub fn collapse(mut edges: Vec<f64>) -> Vec<f64> {
    edges.dedup();
    edges
}

/// Share of `values` in each bin of `edges`; a value equal to an edge counts in the bin
/// above it.
pub fn bin_shares(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for v in values {
        counts[edges.partition_point(|e| e <= v)] += 1;
    }
    let total = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / total).collect()
}

/// Population stability index: sum over bins of (cur - ref) ln(cur / ref).
pub fn psi(reference_shares: &[f64], current_shares: &[f64]) -> f64 {
    reference_shares
        .iter()
        .zip(current_shares)
        .map(|(&r, &c)| {
            let (r, c) = (r.max(0.0), c.max(0.0));
            let (r, c) = (if r == 0.0 { PSI_EPSILON } else { r }, if c == 0.0 { PSI_EPSILON } else { c });
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// Jensen-Shannon distance (natural log, as scipy.spatial.distance.jensenshannon): the
/// square root of the mean of the two KL divergences to the mixture; 0 ln 0 = 0.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let kl_to_mixture = |a: &[f64], b: &[f64]| -> f64 {
        a.iter().zip(b).filter(|(x, _)| **x > 0.0).map(|(&x, &y)| x * (x / ((x + y) / 2.0)).ln()).sum::<f64>()
    };
    let divergence = 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p);
    divergence.max(0.0).sqrt()
}

/// The first Wasserstein distance between two samples, sorted ascending: the area
/// between their empirical distribution functions (scipy.stats.wasserstein_distance).
pub fn wasserstein_sorted(u: &[f64], v: &[f64]) -> f64 {
    if u.is_empty() || v.is_empty() {
        return f64::NAN;
    }
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut area = 0.0;
    let mut x = u[0].min(v[0]);
    while i < u.len() || j < v.len() {
        let next = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        area += (i as f64 / nu - j as f64 / nv).abs() * (next - x);
        x = next;
        while i < u.len() && u[i] == next {
            i += 1;
        }
        while j < v.len() && v[j] == next {
            j += 1;
        }
    }
    area
}

/// Population standard deviation.
pub fn std_dev(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_collapse_and_ties_go_up() {
        assert_eq!(bin_edges(&[1.0; 20]), vec![1.0]);
        let edges = vec![1.0, 2.0];
        assert_eq!(bin_shares(&[0.5, 1.0, 1.5, 2.0, 3.0], &edges), vec![0.2, 0.4, 0.4]);
    }

    #[test]
    fn psi_follows_the_formula_and_smooths_only_empty_bins() {
        let (r, c) = ([0.5, 0.5], [0.25, 0.75]);
        let plain = (0.25 - 0.5) * (0.25_f64 / 0.5).ln() + (0.75 - 0.5) * (0.75_f64 / 0.5).ln();
        assert!((psi(&r, &c) - plain).abs() < 1e-15);
        assert_eq!(psi(&r, &r), 0.0);
        let smoothed = (PSI_EPSILON - 0.5) * (PSI_EPSILON / 0.5).ln() + (1.0 - 0.5) * 2.0_f64.ln();
        assert!((psi(&r, &[0.0, 1.0]) - smoothed).abs() < 1e-15);
    }

    #[test]
    fn js_distance_is_zero_for_equal_and_bounded_by_sqrt_ln2() {
        assert_eq!(jensen_shannon(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln().sqrt()).abs() < 1e-15);
    }

    #[test]
    fn wasserstein_of_shifted_samples_is_the_shift() {
        let u: Vec<f64> = (0..100).map(f64::from).collect();
        let v: Vec<f64> = u.iter().map(|x| x + 2.5).collect();
        assert!((wasserstein_sorted(&u, &v) - 2.5).abs() < 1e-12);
        assert_eq!(wasserstein_sorted(&u, &u), 0.0);
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0
        assert!((wasserstein_sorted(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-12);
        // scipy.stats.wasserstein_distance([0, 1], [0, 0, 1, 5]) = 1.0
        assert!((wasserstein_sorted(&[0.0, 1.0], &[0.0, 0.0, 1.0, 5.0]) - 1.0).abs() < 1e-12);
    }
}
