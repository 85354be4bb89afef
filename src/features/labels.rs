//! Labels from the future, and which bars touch a gap in the data.

/// The simple return from bar t's close to bar t + `horizon`'s close; NaN where the
/// horizon runs past the last bar.
pub fn forward_returns(close: &[f64], horizon: usize) -> Vec<f64> {
    (0..close.len())
        .map(|t| close.get(t + horizon).map_or(f64::NAN, |later| later / close[t] - 1.0))
        .collect()
}

/// 1 when the forward return, less round-trip fees, exceeds the threshold (both in basis
/// points), else 0; `None` without a full horizon.
pub fn label(forward_return: f64, fee_bps: f64, threshold_bps: f64) -> Option<u8> {
    forward_return.is_finite().then(|| u8::from(forward_return * 1e4 - fee_bps > threshold_bps))
}

/// Bars whose one-bar return or whose label horizon spans a gap (a step longer than
/// one interval): their return or label mixes data from both sides of missing bars.
pub fn touches_gap(open_time: &[i64], interval_ms: i64, horizon: usize) -> Vec<bool> {
    let len = open_time.len();
    let step_is_gap: Vec<bool> =
        (0..len).map(|t| t > 0 && open_time[t] - open_time[t - 1] > interval_ms).collect();
    // gaps_before[t] = number of gap steps among steps 1..=t.
    let mut gaps_before = vec![0usize; len];
    for t in 1..len {
        gaps_before[t] = gaps_before[t - 1] + usize::from(step_is_gap[t]);
    }
    (0..len)
        .map(|t| {
            let end = (t + horizon).min(len - 1);
            step_is_gap[t] || gaps_before[end] > gaps_before[t]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_need_the_threshold_after_fees() {
        let close = [100.0, 100.1, 100.3, 100.0];
        let forward = forward_returns(&close, 2);
        assert!((forward[0] - 0.003).abs() < 1e-12);
        assert!(forward[2].is_nan() && forward[3].is_nan());
        // 30 bps - 10 fee = 20 > 10: up; 30 - 10 = 20 > 25: not.
        assert_eq!(label(forward[0], 10.0, 10.0), Some(1));
        assert_eq!(label(forward[0], 10.0, 25.0), Some(0));
        assert_eq!(label(forward[1], 0.0, 0.0), Some(0));
        assert_eq!(label(forward[2], 0.0, 0.0), None);
    }

    #[test]
    fn bars_next_to_a_gap_are_flagged() {
        // Minutes 0, 1, 2, 5, 6, 7: a gap between 2 and 5.
        let t: Vec<i64> = [0, 1, 2, 5, 6, 7].iter().map(|m| m * 60_000).collect();
        assert_eq!(touches_gap(&t, 60_000, 1), [false, false, true, true, false, false]);
        assert_eq!(touches_gap(&t, 60_000, 2), [false, true, true, true, false, false]);
    }
}
