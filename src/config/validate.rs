//! Checks of every value that the types alone do not constrain; each error names the
//! key and what was expected.

use super::Settings;

fn check(ok: bool, key: &str, expected: &str, value: impl std::fmt::Display) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("{key}: expected {expected}, got {value}")) }
}

fn share(key: &str, value: f64) -> Result<(), String> {
    check((0.0..=1.0).contains(&value), key, "a number from 0 to 1", value)
}

fn positive(key: &str, value: f64) -> Result<(), String> {
    check(value.is_finite() && value > 0.0, key, "a positive number", value)
}

fn non_negative(key: &str, value: f64) -> Result<(), String> {
    check(value.is_finite() && value >= 0.0, key, "a number >= 0", value)
}

fn at_least(key: &str, value: u32, min: u32) -> Result<(), String> {
    check(value >= min, key, &format!("an integer >= {min}"), value)
}

/// An integer with an upper bound too: values that size allocations or loops (a window,
/// a count of resamples or trees) are bounded so that a typo cannot ask for terabytes.
fn between(key: &str, value: impl Into<u64>, min: u64, max: u64) -> Result<(), String> {
    let value = value.into();
    check((min..=max).contains(&value), key, &format!("an integer from {min} to {max}"), value)
}

/// The bounds of the integers that size windows of bars.
const MAX_WINDOW_BARS: u64 = 10_000;
/// ... and of those counted in days (ten years).
const MAX_DAYS: u64 = 3_650;

fn non_empty<T>(key: &str, values: &[T]) -> Result<(), String> {
    check(!values.is_empty(), key, "at least one value", "an empty list")
}

/// Check every value that the types alone do not constrain.
pub(super) fn validate(s: &Settings) -> Result<(), String> {
    check(!s.state.database.as_os_str().is_empty(), "state.database", "a file path", "\"\"")?;
    check(!s.state.models_dir.as_os_str().is_empty(), "state.models_dir", "a folder path", "\"\"")?;
    crate::artifact::Models::open(&s.state.models_dir.to_string_lossy(), std::path::Path::new("."))
        .map_err(|e| format!("state.models_dir: {e}"))?;

    share("data.quality_threshold", s.data.quality_threshold)?;
    let src = &s.data.source;
    check(
        src.base_url.starts_with("http://") || src.base_url.starts_with("https://"),
        "data.source.base_url",
        "an http:// or https:// URL",
        &src.base_url,
    )?;
    between("data.source.days", src.days, 1, MAX_DAYS)?;
    between("data.max_unpacked_mb", s.data.max_unpacked_mb, 1, crate::ingest::MAX_UNPACKED_MB_LIMIT)?;
    check(src.timeout_secs >= 1, "data.source.timeout_secs", "an integer >= 1", src.timeout_secs)?;
    check(
        src.max_backoff_ms >= src.backoff_ms,
        "data.source.max_backoff_ms",
        &format!("at least data.source.backoff_ms ({})", src.backoff_ms),
        src.max_backoff_ms,
    )?;

    for (i, sym) in s.symbols.iter().enumerate() {
        non_empty(&format!("symbols[{i}].regimes"), &sym.regimes)?;
        let first = s.symbols.iter().position(|other| other.symbol == sym.symbol);
        if let Some(first) = first.filter(|first| *first < i) {
            return Err(format!(
                "symbols[{i}].symbol: {} is listed already (symbols[{first}]); give each symbol one entry",
                sym.symbol
            ));
        }
    }

    let f = &s.features;
    non_empty("features.return_horizons", &f.return_horizons)?;
    for (key, value) in [
        ("features.volatility_window", f.volatility_window),
        ("features.rsi_period", f.rsi_period),
        ("features.macd_fast", f.macd_fast),
        ("features.macd_signal", f.macd_signal),
        ("features.bollinger_period", f.bollinger_period),
        ("features.atr_period", f.atr_period),
        ("features.adx_period", f.adx_period),
        ("features.stochastic_k", f.stochastic_k),
        ("features.stochastic_d", f.stochastic_d),
        ("features.cci_period", f.cci_period),
        ("features.williams_period", f.williams_period),
        ("features.obv_slope_window", f.obv_slope_window),
    ] {
        between(key, value, 2, MAX_WINDOW_BARS)?;
    }
    for (i, h) in f.return_horizons.iter().enumerate() {
        between(&format!("features.return_horizons[{i}]"), *h, 1, MAX_WINDOW_BARS)?;
    }
    non_empty("features.ma_windows", &f.ma_windows)?;
    for (i, w) in f.ma_windows.iter().enumerate() {
        between(&format!("features.ma_windows[{i}]"), *w, 2, MAX_WINDOW_BARS)?;
    }
    between("features.macd_slow", f.macd_slow, 2, MAX_WINDOW_BARS)?;
    check(
        f.macd_slow > f.macd_fast,
        "features.macd_slow",
        &format!("more than features.macd_fast ({})", f.macd_fast),
        f.macd_slow,
    )?;
    positive("features.bollinger_std", f.bollinger_std)?;

    let r = &s.regimes;
    check((0.0..=100.0).contains(&r.trend_adx), "regimes.trend_adx", "a number from 0 to 100", r.trend_adx)?;
    between("regimes.lookback_bars", r.lookback_bars, 20, 100_000)?;
    share("regimes.volatile_percentile", r.volatile_percentile)?;
    share("regimes.squeeze_percentile", r.squeeze_percentile)?;
    check(
        r.squeeze_percentile < r.volatile_percentile,
        "regimes.squeeze_percentile",
        &format!("less than regimes.volatile_percentile ({})", r.volatile_percentile),
        r.squeeze_percentile,
    )?;

    between("label.horizon_bars", s.label.horizon_bars, 1, MAX_WINDOW_BARS)?;
    check(s.label.threshold_bps.is_finite(), "label.threshold_bps", "a number", s.label.threshold_bps)?;
    non_negative("label.fee_bps", s.label.fee_bps)?;

    let t = &s.training;
    for (key, value) in [
        ("training.train_share", t.train_share),
        ("training.validation_share", t.validation_share),
        ("training.test_share", t.test_share),
    ] {
        check(value > 0.0 && value < 1.0, key, "a share between 0 and 1", value)?;
    }
    let total = t.train_share + t.validation_share + t.test_share;
    check(
        (total - 1.0).abs() < 1e-9,
        "training.test_share",
        "train_share + validation_share + test_share = 1",
        format!("a sum of {total}"),
    )?;
    between("training.min_rows_per_part", t.min_rows_per_part, 1, 10_000_000)?;
    if let Some(days) = t.window_days {
        positive("training.window_days", days)?;
    }
    positive("training.noise_mad_k", t.noise_mad_k)?;
    between("training.reference_sample", t.reference_sample, 10, 1_000_000)?;
    check(
        t.replace_share > 0.0 && t.replace_share <= 1.0,
        "training.replace_share",
        "a share in (0, 1]",
        t.replace_share,
    )?;
    let search = &t.search;
    between("training.search.max_trials", search.max_trials, 1, 1_000)?;
    non_empty("training.search.max_depth", &search.max_depth)?;
    non_empty("training.search.min_samples_leaf", &search.min_samples_leaf)?;
    non_empty("training.search.n_trees", &search.n_trees)?;
    non_empty("training.search.feature_fraction", &search.feature_fraction)?;
    for (i, v) in search.max_depth.iter().enumerate() {
        between(&format!("training.search.max_depth[{i}]"), *v, 1, 64)?;
    }
    for (i, v) in search.min_samples_leaf.iter().enumerate() {
        between(&format!("training.search.min_samples_leaf[{i}]"), *v, 1, 1_000_000)?;
    }
    for (i, v) in search.n_trees.iter().enumerate() {
        between(&format!("training.search.n_trees[{i}]"), *v, 1, 5_000)?;
    }
    for (i, v) in search.feature_fraction.iter().enumerate() {
        let key = format!("training.search.feature_fraction[{i}]");
        check(*v > 0.0 && *v <= 1.0, &key, "a share in (0, 1]", v)?;
    }
    let boosting = &search.boosting;
    let key = |name: &str, i: usize| format!("training.search.boosting.{name}[{i}]");
    non_empty("training.search.boosting.iterations", &boosting.iterations)?;
    non_empty("training.search.boosting.learning_rate", &boosting.learning_rate)?;
    non_empty("training.search.boosting.max_depth", &boosting.max_depth)?;
    non_empty("training.search.boosting.min_leaf_weight", &boosting.min_leaf_weight)?;
    non_empty("training.search.boosting.subsample", &boosting.subsample)?;
    non_empty("training.search.boosting.colsample", &boosting.colsample)?;
    for (i, v) in boosting.iterations.iter().enumerate() {
        between(&key("iterations", i), *v, 1, 10_000)?;
    }
    for (i, v) in boosting.learning_rate.iter().enumerate() {
        check(*v > 0.0 && *v <= 1.0, &key("learning_rate", i), "a rate in (0, 1]", v)?;
    }
    for (i, v) in boosting.max_depth.iter().enumerate() {
        between(&key("max_depth", i), *v, 1, 32)?;
    }
    for (i, v) in boosting.min_leaf_weight.iter().enumerate() {
        check(
            v.is_finite() && *v >= 0.0 && *v <= 1e9,
            &key("min_leaf_weight", i),
            "a weight in [0, 1e9]",
            v,
        )?;
    }
    for (i, v) in boosting.subsample.iter().enumerate() {
        check(*v > 0.0 && *v <= 1.0, &key("subsample", i), "a share in (0, 1]", v)?;
    }
    for (i, v) in boosting.colsample.iter().enumerate() {
        check(*v > 0.0 && *v <= 1.0, &key("colsample", i), "a share in (0, 1]", v)?;
    }

    let e = &s.evaluation;
    check(
        e.threshold > 0.0 && e.threshold < 1.0,
        "evaluation.threshold",
        "a probability in (0, 1)",
        e.threshold,
    )?;
    non_negative("evaluation.fee_bps", e.fee_bps)?;
    non_negative("evaluation.slippage_bps", e.slippage_bps)?;
    between("evaluation.window_days", e.window_days, 1, MAX_DAYS)?;
    between("evaluation.min_compare_bars", e.min_compare_bars, 2, 10_000_000)?;
    between("evaluation.bootstrap_block_bars", e.bootstrap_block_bars, 1, 100_000)?;
    between("evaluation.bootstrap_resamples", e.bootstrap_resamples, 100, 100_000)?;

    let g = &s.gates;
    for (key, value) in [
        ("gates.min_f1", g.min_f1),
        ("gates.min_precision", g.min_precision),
        ("gates.min_recall", g.min_recall),
        ("gates.min_win_rate", g.min_win_rate),
        ("gates.max_drawdown", g.max_drawdown),
        ("gates.max_feature_drift_ks", g.max_feature_drift_ks),
        ("gates.max_drifted_importance", g.max_drifted_importance),
        ("gates.min_probability_better", g.min_probability_better),
    ] {
        share(key, value)?;
    }
    check(g.min_f1_improvement.is_finite(), "gates.min_f1_improvement", "a number", g.min_f1_improvement)?;
    non_negative("gates.min_profit_factor", g.min_profit_factor)?;
    non_negative("gates.cooldown_hours", g.cooldown_hours)?;

    let d = &s.drift;
    let bands = [d.psi_low, d.psi_medium, d.psi_high, d.psi_critical];
    for (key, value) in
        ["drift.psi_low", "drift.psi_medium", "drift.psi_high", "drift.psi_critical"].iter().zip(bands)
    {
        positive(key, value)?;
    }
    check(
        bands.windows(2).all(|pair| pair[0] < pair[1]),
        "drift.psi_critical",
        "psi_low < psi_medium < psi_high < psi_critical",
        format!("{bands:?}"),
    )?;
    check(
        d.ks_statistic > 0.0 && d.ks_statistic <= 1.0,
        "drift.ks_statistic",
        "a number in (0, 1]",
        d.ks_statistic,
    )?;
    check(
        d.dataset_share > 0.0 && d.dataset_share <= 1.0,
        "drift.dataset_share",
        "a share in (0, 1]",
        d.dataset_share,
    )?;
    check(
        d.calibrated_quantile > 0.5 && d.calibrated_quantile < 1.0,
        "drift.calibrated_quantile",
        "a number between 0.5 and 1, exclusive",
        d.calibrated_quantile,
    )?;
    check(
        d.weighted_share > 0.0 && d.weighted_share <= 1.0,
        "drift.weighted_share",
        "a number above 0, at most 1",
        d.weighted_share,
    )?;
    between("drift.min_chunks", d.min_chunks, 3, 10_000)?;
    between("drift.window_days", d.window_days, 1, MAX_DAYS)?;

    let tr = &s.triggers;
    share("triggers.min_win_rate", tr.min_win_rate)?;
    at_least("triggers.min_signals", tr.min_signals, 1)?;
    at_least("triggers.live_window", tr.live_window, tr.min_signals)?;
    between("triggers.live_window", tr.live_window, 1, 1_000_000)?;
    positive("triggers.performance_decay", tr.performance_decay)?;
    positive("triggers.max_age_days", tr.max_age_days)?;
    at_least("triggers.min_initial_rows", tr.min_initial_rows, 1)?;
    non_negative("triggers.drift_backoff_hours", tr.drift_backoff_hours)?;

    between("schedule.max_concurrent_jobs", s.schedule.max_concurrent_jobs, 1, 1_024)?;
    // A lease renewed every third of it: under a second is a storm of renewals, over a
    // day leaves a dead worker's job waiting a day.
    let lease = s.schedule.lease_seconds;
    check(
        lease.is_finite() && (1.0..=86_400.0).contains(&lease),
        "schedule.lease_seconds",
        "seconds from 1 to 86400",
        lease,
    )?;
    for (i, job) in s.schedule.jobs.iter().enumerate() {
        let key = format!("schedule.jobs[{i}]");
        check(!job.models.trim().is_empty(), &format!("{key}.models"), "a SYMBOL/regime pattern", "\"\"")?;
        if let Err(why) = job.cron.parse::<crate::schedule::Crontab>() {
            return Err(format!("{key}.cron: {why}"));
        }
        if let Err(why) = crate::schedule::zone(&job.timezone) {
            return Err(format!("{key}.timezone: {why}"));
        }
    }

    let c = &s.deployment.canary;
    check(
        c.traffic_split > 0.0 && c.traffic_split < 100.0,
        "deployment.canary.traffic_split",
        "a percentage between 0 and 100",
        c.traffic_split,
    )?;
    at_least("deployment.canary.min_signals", c.min_signals, 1)?;
    share("deployment.canary.min_confidence", c.min_confidence)?;
    positive("deployment.watch_hours", s.deployment.watch_hours)?;

    let n = &s.notifications;
    if let Some(url) = &n.webhook_url {
        check(
            url.starts_with("http://") || url.starts_with("https://"),
            "notifications.webhook_url",
            "an http:// or https:// URL",
            // Never the whole URL: its path is the secret.
            crate::notify::redact(url),
        )?;
    }
    check(
        (1..=120).contains(&n.timeout_secs),
        "notifications.timeout_secs",
        "an integer from 1 to 120",
        n.timeout_secs,
    )?;
    // Each post can take (retries + 1) x timeout: bounded, so a dead webhook cannot hold a run.
    check(n.retries <= 5, "notifications.retries", "an integer from 0 to 5", n.retries)?;
    email(&n.email)?;

    positive("status.max_run_age_hours", s.status.max_run_age_hours)?;
    between("status.recent_jobs", s.status.recent_jobs, 1, 10_000)?;
    Ok(())
}

/// An SMTP server and the addresses, whole; or none of it.
fn email(e: &super::EmailSettings) -> Result<(), String> {
    let Some(host) = &e.smtp_host else {
        let set = [
            ("smtp_port", e.smtp_port.is_some()),
            ("username", e.username.is_some()),
            ("from", e.from.is_some()),
            ("to", !e.to.is_empty()),
            ("ca_file", e.ca_file.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
            return Err(format!(
                "notifications.email.{key}: set notifications.email.smtp_host too, or email is off"
            ));
        }
        return Ok(());
    };
    check(
        !host.trim().is_empty() && !host.contains(['/', ' ', ':']),
        "notifications.email.smtp_host",
        "a host name or address (the port goes in smtp_port)",
        format!("{host:?}"),
    )?;
    if let Some(port) = e.smtp_port {
        check(port > 0, "notifications.email.smtp_port", "a port from 1 to 65535", port)?;
    }
    let Some(from) = &e.from else {
        return Err(
            "notifications.email.from: expected the sender's address, e.g. retrain <alerts@example.com>"
                .into(),
        );
    };
    crate::notify::email::mailbox(from).map_err(|why| format!("notifications.email.from: {why}"))?;
    non_empty("notifications.email.to", &e.to)?;
    for (i, to) in e.to.iter().enumerate() {
        crate::notify::email::mailbox(to).map_err(|why| format!("notifications.email.to[{i}]: {why}"))?;
    }
    if e.username.is_some() && e.tls == super::SmtpTls::None {
        return Err(
            "notifications.email.username: a password is never sent unencrypted; set notifications.email.tls \
             to starttls or tls"
                .into(),
        );
    }
    Ok(())
}
