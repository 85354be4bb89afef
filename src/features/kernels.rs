//! The recursive indicators, written out as TA-Lib computes them (seeds included), over
//! plain slices. Output is NaN where an indicator is not yet defined. Polars has no
//! expression for an SMA-seeded recursion, so these run as kernels beside the polars plan.
//!
//! One deliberate difference from TA-Lib: TA-Lib treats |x| < 1e-8 as zero (TA_IS_ZERO)
//! when it divides by RSI's gain + loss and ADX's true range. On an asset priced near
//! 1e-5 (ADA/BTC) real moves are that small, and TA-Lib returns RSI 0 and frozen DIs.
//! Here only an exact zero is zero, so that the features stay scale-free. (ADX's tie rule
//! below is the other difference.)

/// TA-Lib's EMA: the first value is the SMA of the first `period` inputs, then
/// `ema = alpha * x + (1 - alpha) * ema` with `alpha = 2 / (period + 1)`. Leading NaNs
/// (an input that is itself still warming up) are skipped; `seed_at` delays the seed to
/// that index at the earliest (MACD seeds its fast EMA where the slow one starts).
pub fn ema(values: &[f64], period: usize, seed_at: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    let Some(first) = values.iter().position(|v| !v.is_nan()) else { return out };
    let seed = (first + period - 1).max(seed_at);
    if period == 0 || seed >= values.len() {
        return out;
    }
    let alpha = 2.0 / (period as f64 + 1.0);
    let mut current = values[seed + 1 - period..=seed].iter().sum::<f64>() / period as f64;
    out[seed] = current;
    for (t, value) in values.iter().enumerate().skip(seed + 1) {
        current = (value - current) * alpha + current;
        out[t] = current;
    }
    out
}

/// TA-Lib's RSI with Wilder's smoothing: average gain and loss of the first `period`
/// changes, then `avg = (avg * (period - 1) + x) / period`; first value at index `period`.
pub fn rsi(close: &[f64], period: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    if period == 0 || close.len() <= period {
        return out;
    }
    let n = period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for t in 1..=period {
        let change = close[t] - close[t - 1];
        if change > 0.0 {
            gain += change;
        } else {
            loss -= change;
        }
    }
    gain /= n;
    loss /= n;
    let value = |gain: f64, loss: f64| if gain + loss == 0.0 { 0.0 } else { 100.0 * gain / (gain + loss) };
    out[period] = value(gain, loss);
    for t in period + 1..close.len() {
        let change = close[t] - close[t - 1];
        gain = (gain * (n - 1.0) + change.max(0.0)) / n;
        loss = (loss * (n - 1.0) + (-change).max(0.0)) / n;
        out[t] = value(gain, loss);
    }
    out
}

/// True range from the second bar on (TA-Lib leaves the first undefined).
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    for t in 1..close.len() {
        let previous = close[t - 1];
        out[t] = (high[t] - low[t]).max((high[t] - previous).abs()).max((low[t] - previous).abs());
    }
    out
}

/// TA-Lib's ATR: the SMA of the first `period` true ranges at index `period`, then
/// Wilder's smoothing.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let tr = true_range(high, low, close);
    let mut out = vec![f64::NAN; close.len()];
    if period == 0 || close.len() <= period {
        return out;
    }
    let n = period as f64;
    let mut current = tr[1..=period].iter().sum::<f64>() / n;
    out[period] = current;
    for t in period + 1..close.len() {
        current = (current * (n - 1.0) + tr[t]) / n;
        out[t] = current;
    }
    out
}

/// +DI, -DI and ADX as TA-Lib computes them: directional movements and true range summed
/// over the first `period - 1` bars, then `sum = sum - sum / period + x`; DX averaged
/// over `period` bars for the first ADX (index `2 * period - 1`), then Wilder's smoothing.
/// The DIs are defined from index `period`.
pub fn adx(high: &[f64], low: &[f64], close: &[f64], period: usize) -> [Vec<f64>; 3] {
    let len = close.len();
    let (mut plus_di, mut minus_di, mut adx) =
        (vec![f64::NAN; len], vec![f64::NAN; len], vec![f64::NAN; len]);
    if period < 2 || len < 2 * period {
        return [plus_di, minus_di, adx];
    }
    let n = period as f64;
    // TA-Lib compares the up and down moves exactly. Prices quoted in whole ticks often
    // tie, and a tie must stay a tie when the prices are rescaled (x 1e-6 rounds the two
    // differences apart), so moves closer than 1e-10 of the price count as equal.
    let movement = |t: usize| {
        let up = high[t] - high[t - 1];
        let down = low[t - 1] - low[t];
        let tie = (up - down).abs() <= 1e-10 * high[t].abs();
        let plus = if up > 0.0 && up > down && !tie { up } else { 0.0 };
        let minus = if down > 0.0 && down > up && !tie { down } else { 0.0 };
        (plus, minus)
    };
    let tr = true_range(high, low, close);
    let (mut plus_dm, mut minus_dm, mut range) = (0.0, 0.0, 0.0);
    for (t, bar_range) in tr.iter().enumerate().take(period).skip(1) {
        let (plus, minus) = movement(t);
        plus_dm += plus;
        minus_dm += minus;
        range += bar_range;
    }
    let mut dx_sum = 0.0;
    let mut current_adx = f64::NAN;
    for t in period..len {
        let (plus, minus) = movement(t);
        plus_dm = plus_dm - plus_dm / n + plus;
        minus_dm = minus_dm - minus_dm / n + minus;
        range = range - range / n + tr[t];
        let (plus_value, minus_value) =
            if range != 0.0 { (100.0 * plus_dm / range, 100.0 * minus_dm / range) } else { (0.0, 0.0) };
        plus_di[t] = plus_value;
        minus_di[t] = minus_value;
        // As TA-Lib: a bar without range or direction leaves the ADX where it was.
        let total = plus_value + minus_value;
        let dx = (range != 0.0 && total != 0.0).then(|| 100.0 * (plus_value - minus_value).abs() / total);
        if t < 2 * period - 1 {
            dx_sum += dx.unwrap_or(0.0);
        } else if t == 2 * period - 1 {
            current_adx = (dx_sum + dx.unwrap_or(0.0)) / n;
            adx[t] = current_adx;
        } else {
            if let Some(dx) = dx {
                current_adx = (current_adx * (n - 1.0) + dx) / n;
            }
            adx[t] = current_adx;
        }
    }
    [plus_di, minus_di, adx]
}

/// TA-Lib's CCI: `(tp - sma(tp)) / (0.015 * mean |tp_i - sma(tp)|)` over `period` bars,
/// with the deviation taken from the current window's mean; 0 when the deviation is 0.
pub fn cci(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let typical: Vec<f64> = (0..close.len()).map(|t| (high[t] + low[t] + close[t]) / 3.0).collect();
    let mut out = vec![f64::NAN; close.len()];
    if period == 0 {
        return out;
    }
    for t in period.saturating_sub(1)..close.len() {
        let window = &typical[t + 1 - period..=t];
        let mean = window.iter().sum::<f64>() / period as f64;
        let deviation = window.iter().map(|v| (v - mean).abs()).sum::<f64>() / period as f64;
        out[t] = if deviation == 0.0 { 0.0 } else { (typical[t] - mean) / (0.015 * deviation) };
    }
    out
}

/// The `q` quantile of each trailing window of `window` values, interpolated linearly
/// between order statistics as numpy's and polars' `linear` method: position
/// `q x (n - 1)` in the sorted window. NaN until a whole window of finite values is
/// there, and wherever the window holds a NaN (a value still warming up). The window is
/// kept sorted, so each step is a binary search and a shift of at most `window` values:
/// polars' rolling quantile took most of the feature time on a million bars.
pub fn rolling_quantile(values: &[f64], window: usize, q: f64) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if window == 0 {
        return out;
    }
    let mut sorted: Vec<f64> = Vec::with_capacity(window);
    let mut missing = 0usize;
    let position = q * (window - 1) as f64;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - below as f64;
    for (t, &value) in values.iter().enumerate() {
        if value.is_finite() {
            let at = sorted.partition_point(|x| *x < value);
            sorted.insert(at, value);
        } else {
            missing += 1;
        }
        if t >= window {
            let leaving = values[t - window];
            if leaving.is_finite() {
                let at = sorted.partition_point(|x| *x < leaving);
                sorted.remove(at);
            } else {
                missing -= 1;
            }
        }
        if t + 1 >= window && missing == 0 {
            let (low, high) = (sorted[below], sorted[above]);
            out[t] = if below == above { low } else { low + (high - low) * fraction };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against sorting every window afresh (numpy's linear method written out).
    #[test]
    fn rolling_quantiles_equal_a_sort_of_each_window() {
        let mut rng = crate::rng::SplitMix64(5);
        let mut values: Vec<f64> = (0..400).map(|_| (rng.normal() * 4.0).round() / 4.0).collect();
        values[3] = f64::NAN; // warming up
        values[250] = f64::NAN; // a hole: every window holding it is undefined
        for (window, q) in [(1, 0.5), (7, 0.0), (20, 0.2), (20, 0.8), (50, 1.0), (33, 0.37)] {
            let got = rolling_quantile(&values, window, q);
            for t in 0..values.len() {
                let start = (t + 1).saturating_sub(window);
                let mut part: Vec<f64> = values[start..=t].to_vec();
                if t + 1 < window || part.iter().any(|v| v.is_nan()) {
                    assert!(got[t].is_nan(), "{window} {q} {t}: {}", got[t]);
                    continue;
                }
                part.sort_by(f64::total_cmp);
                let h = q * (window - 1) as f64;
                let (lo, hi) = (part[h.floor() as usize], part[h.ceil() as usize]);
                let expected = lo + (hi - lo) * (h - h.floor());
                assert!((got[t] - expected).abs() <= 1e-12 * expected.abs().max(1.0), "{window} {q} {t}");
            }
        }
    }

    #[test]
    fn ema_seeds_with_the_sma() {
        let out = ema(&[1.0, 2.0, 3.0, 4.0, 5.0], 3, 0);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(out[2], 2.0);
        assert_eq!(out[3], 3.0); // (4 - 2) * 0.5 + 2
        assert_eq!(out[4], 4.0);
        let delayed = ema(&[1.0, 2.0, 3.0, 4.0, 5.0], 2, 3);
        assert_eq!(delayed[3], 3.5);
        assert!(delayed[2].is_nan());
    }

    #[test]
    fn rsi_of_a_rising_series_is_100_and_of_a_flat_one_0() {
        let rising: Vec<f64> = (0..20).map(f64::from).collect();
        assert_eq!(rsi(&rising, 14)[14], 100.0);
        assert_eq!(rsi(&[5.0; 20], 14)[19], 0.0);
    }

    #[test]
    fn tiny_prices_are_not_taken_for_zero() {
        let close: Vec<f64> = (0..40).map(|i| 2.8e-5 + 1e-9 * ((i * 7) % 5) as f64).collect();
        let scaled: Vec<f64> = close.iter().map(|c| c * 1e6).collect();
        let (a, b) = (rsi(&close, 14), rsi(&scaled, 14));
        for t in 14..40 {
            assert!((a[t] - b[t]).abs() < 1e-9, "{t}: {} vs {}", a[t], b[t]);
        }
        assert!(a[39] > 0.0);
    }
}
