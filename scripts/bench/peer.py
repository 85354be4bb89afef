#!/usr/bin/env python3
"""The benchmark's Python peer of `retrain`: the same nightly job, written as a competent
Python engineer would write it, with pandas/numpy (vectorised), scikit-learn, scipy and
sqlite3. It reads the same input and does the same work as retrain's commands, with the
same settings (retrain's config defaults, in SETTINGS below):

    peer.py collect  --db DB --file CSV --symbol S --interval 1m
    peer.py features --db DB --symbol S --interval 1m --out features.parquet
    peer.py train    --db DB --models DIR --symbol S --interval 1m --regime trending [--trials 20 --seed 42]
                     [--model gradient-boosting: LightGBM instead of a random forest]
    peer.py evaluate --db DB --models DIR --symbol S --regime trending
    peer.py drift    --db DB --models DIR --symbol S --regime trending
    peer.py job      --db DB --models DIR --file CSV --symbol S --interval 1m --regime trending

Each prints one JSON line with its results. Where the peer follows retrain's code, the
Rust file is named. Heavy modules (scikit-learn, scipy, joblib) are imported by the
subcommands that use them, so that `collect` and `features` do not pay for them.
Requirements: scripts/bench/requirements.txt.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

# retrain's defaults (src/config/settings.rs; the config.yaml `retrain init` writes).
SETTINGS = {
    "data": {"quality_threshold": 0.8, "max_zero_volume_run": 5},
    "features": {
        "return_horizons": [1, 3, 6, 12, 24],
        "volatility_window": 20,
        "rsi_period": 14,
        "macd_fast": 12,
        "macd_slow": 26,
        "macd_signal": 9,
        "bollinger_period": 20,
        "bollinger_std": 2.0,
        "atr_period": 14,
        "adx_period": 14,
        "stochastic_k": 14,
        "stochastic_d": 3,
        "cci_period": 20,
        "williams_period": 14,
        "obv_slope_window": 20,
        "ma_windows": [20, 50],
    },
    "regimes": {"trend_adx": 25.0, "lookback_bars": 500, "volatile_percentile": 0.8, "squeeze_percentile": 0.2},
    "label": {"horizon_bars": 12, "threshold_bps": 10.0, "fee_bps": 10.0},
    "training": {
        "seed": 42,
        "train_share": 0.6,
        "validation_share": 0.2,
        "test_share": 0.2,
        "min_rows_per_part": 200,
        "noise_filter": True,
        "noise_mad_k": 10.0,
        "reference_sample": 5000,
        "search": {
            "max_trials": 20,
            "metric": "f1",
            "max_depth": [3, 4, 6, 8, 10],
            "min_samples_leaf": [5, 10, 20, 50],
            "n_trees": [25, 50, 100],
            "feature_fraction": [0.3, 0.5, 0.7, 1.0],
        },
    },
    "evaluation": {"threshold": 0.5, "fee_bps": 5.0, "slippage_bps": 2.0, "window_days": 7},
    "drift": {
        "psi_low": 0.10,
        "psi_medium": 0.15,
        "psi_high": 0.20,
        "psi_critical": 0.30,
        "ks_statistic": 0.15,
        "dataset_share": 0.5,
        "window_days": 7,
    },
    "triggers": {"performance_decay": 0.10},
}
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
DAY_MS = 86_400_000
PSI_EPSILON = 1e-4


class Refused(Exception):
    """Data that cannot be stored or trained on (retrain's exit code 3)."""


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def interval_ms(text):
    units = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}
    return int(text[:-1]) * units[text[-1]]


def bars_per_year(interval):
    return 365.25 * DAY_MS / interval_ms(interval)


# ---------------------------------------------------------------------------- state


SCHEMA = """
CREATE TABLE IF NOT EXISTS candles (
    symbol TEXT NOT NULL, interval TEXT NOT NULL, open_time INTEGER NOT NULL,
    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL,
    PRIMARY KEY (symbol, interval, open_time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS collects (
    id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, interval TEXT NOT NULL, source TEXT NOT NULL,
    finished_at INTEGER NOT NULL, rows_read INTEGER NOT NULL, inserted INTEGER NOT NULL,
    updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL,
    duplicates INTEGER NOT NULL, gaps INTEGER NOT NULL, missing_bars INTEGER NOT NULL,
    first_open_time INTEGER, last_open_time INTEGER, quality_score REAL NOT NULL, reasons TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS version_counters (
    symbol TEXT NOT NULL, regime TEXT NOT NULL, last_version INTEGER NOT NULL,
    PRIMARY KEY (symbol, regime)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS model_versions (
    id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, regime TEXT NOT NULL, version INTEGER NOT NULL,
    interval TEXT NOT NULL, status TEXT NOT NULL, model_kind TEXT NOT NULL, hyperparameters TEXT NOT NULL,
    seed INTEGER NOT NULL, train_from INTEGER NOT NULL, train_to INTEGER NOT NULL,
    validation_from INTEGER NOT NULL, validation_to INTEGER NOT NULL, test_from INTEGER NOT NULL,
    test_to INTEGER NOT NULL, data_fingerprint TEXT NOT NULL, config_hash TEXT NOT NULL,
    artifact_path TEXT NOT NULL, sha256 TEXT NOT NULL, created_at INTEGER NOT NULL,
    UNIQUE (symbol, regime, version)
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL REFERENCES model_versions (id),
    kind TEXT NOT NULL, window_from INTEGER NOT NULL, window_to INTEGER NOT NULL,
    rows INTEGER NOT NULL, metrics TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drift_reports (
    id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL REFERENCES model_versions (id),
    window_from INTEGER NOT NULL, window_to INTEGER NOT NULL, current_rows INTEGER NOT NULL,
    drifted_features INTEGER NOT NULL, share_drifted REAL NOT NULL, dataset_drift INTEGER NOT NULL,
    severity TEXT, prediction TEXT, label TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drift_features (
    report_id INTEGER NOT NULL REFERENCES drift_reports (id), feature TEXT NOT NULL,
    reference_rows INTEGER NOT NULL, current_rows INTEGER NOT NULL, psi REAL, ks_statistic REAL,
    ks_p_value REAL, js_distance REAL, wasserstein REAL, drifted INTEGER NOT NULL, severity TEXT,
    note TEXT, PRIMARY KEY (report_id, feature)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, severity TEXT NOT NULL, symbol TEXT NOT NULL,
    regime TEXT NOT NULL, version_id INTEGER, message TEXT NOT NULL, details TEXT NOT NULL,
    created_at INTEGER NOT NULL, resolved_at INTEGER
);
"""


def connect(path):
    """WAL, foreign keys, a busy timeout and synchronous=FULL, as retrain's store
    (src/store/mod.rs); the schema is created on first use."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")
    if conn.execute("PRAGMA user_version").fetchone()[0] < 1:
        conn.executescript("BEGIN;" + SCHEMA + "PRAGMA user_version=1; COMMIT;")
    return conn


def load_candles(conn, symbol, interval):
    frame = pd.read_sql_query(
        "SELECT open_time, open, high, low, close, volume FROM candles "
        "WHERE symbol = ? AND interval = ? ORDER BY open_time",
        conn,
        params=(symbol, interval),
    )
    if frame.empty:
        raise SystemExit(f"no {interval} candles of {symbol} are stored")
    return frame


# ---------------------------------------------------------------------------- collect


def parse_times(column):
    """UTC epoch milliseconds from text timestamps or epoch numbers of any unit."""
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(np.int64)
        magnitude = np.abs(values).max() if len(values) else 0
        unit = 1 if magnitude < 1e11 else 1_000 if magnitude < 1e14 else 1_000_000 if magnitude < 1e17 else 10**9
        return values * 1000 // unit if unit == 1 else values // (unit // 1000)
    try:
        parsed = pd.to_datetime(column, format="%Y-%m-%d %H:%M:%S.%f", utc=True)
    except ValueError:
        parsed = pd.to_datetime(column, format="ISO8601", utc=True)
    return parsed.to_numpy("datetime64[ms]").astype(np.int64)


def read_candles_csv(path):
    frame = pd.read_csv(path)
    frame.columns = [c.strip().lower() for c in frame.columns]
    time_column = next(c for c in ("timestamp", "time", "date", "datetime", "open_time") if c in frame.columns)
    out = pd.DataFrame({"open_time": parse_times(frame[time_column])})
    for name in ("open", "high", "low", "close", "volume"):
        out[name] = frame[name].to_numpy(np.float64)
    out["line"] = np.arange(2, len(out) + 2)
    return out


def first_line(lines, mask):
    return int(lines[mask][0]) if mask.any() else None


def assess(rows, interval, max_zero_volume_run):
    """retrain's quality checks (src/candles/quality.rs): the clean, sorted, de-duplicated
    candles and a report with a score."""
    step = interval_ms(interval)
    lines = rows["line"].to_numpy()
    t = rows["open_time"].to_numpy()
    report = {"rows_read": len(rows)}
    counts = {}

    # Order: rows against the file's overall direction.
    diff = np.diff(t)
    ascents, descents = diff > 0, diff < 0
    report["reversed"] = bool(descents.sum() > ascents.sum())
    against = ascents if report["reversed"] else descents
    counts["out_of_order"] = (int(against.sum()), first_line(lines[1:], against))

    # Row checks, in retrain's order: a row counts for its first defect only.
    values = rows[["open", "high", "low", "close", "volume"]].to_numpy()
    o, h, l, c, v = values.T
    non_finite = ~np.isfinite(values).all(axis=1)
    non_positive = ~non_finite & ((values[:, :4] <= 0).any(axis=1) | (v < 0))
    inconsistent = ~non_finite & ~non_positive & ((h < np.maximum(o, c)) | (l > np.minimum(o, c)))
    offset = 4 * DAY_MS if interval.endswith("w") else 0  # weeks start on Monday
    misaligned = ~non_finite & ~non_positive & ~inconsistent & ((t - offset) % step != 0)
    for name, mask in [("non_finite", non_finite), ("non_positive", non_positive),
                       ("ohlc_inconsistent", inconsistent), ("misaligned", misaligned)]:
        counts[name] = (int(mask.sum()), first_line(lines, mask))
    valid = rows[~(non_finite | non_positive | inconsistent | misaligned)]
    valid = valid.sort_values("open_time", kind="stable")

    # Rows sharing a time: exact copies collapse to one, disagreeing ones are all rejected.
    shared = valid["open_time"].duplicated(keep=False).to_numpy()
    columns = ["open_time", "open", "high", "low", "close", "volume"]
    if shared.any():
        group = valid[shared]
        distinct = group.drop_duplicates(subset=columns).groupby("open_time").size()
        conflicting_times = distinct.index[distinct > 1]
        conflicting = valid["open_time"].isin(conflicting_times).to_numpy()
        duplicate = valid.duplicated(subset=columns, keep="first").to_numpy() & ~conflicting
    else:
        conflicting = duplicate = np.zeros(len(valid), dtype=bool)
    vlines = valid["line"].to_numpy()
    counts["conflicting"] = (int(conflicting.sum()), first_line(vlines, conflicting))
    counts["duplicates"] = (int(duplicate.sum()), first_line(vlines, duplicate))
    candles = valid[~(conflicting | duplicate)].reset_index(drop=True)

    times = candles["open_time"].to_numpy()
    spacing = np.diff(times)
    if len(spacing):
        found, frequency = np.unique(spacing, return_counts=True)
        modal = found[np.argmax(frequency)]  # smallest on ties, as retrain
        if modal != step:
            raise SystemExit(f"most candles are {modal} ms apart, not {interval}")

    # Over-long runs of zero volume.
    zero = candles["volume"].to_numpy() == 0
    run_id = np.cumsum(np.r_[True, zero[1:] != zero[:-1]]) if len(zero) else zero.astype(int)
    run_sizes = pd.Series(zero).groupby(run_id).agg(["first", "size"])
    long_runs = run_sizes[run_sizes["first"] & (run_sizes["size"] > max_zero_volume_run)]
    report["zero_volume_runs"] = len(long_runs)
    report["zero_volume_run_rows"] = int(long_runs["size"].sum())

    bars = spacing // step
    report["gaps"] = int((bars > 1).sum())
    report["missing_bars"] = int((bars[bars > 1] - 1).sum())
    for name, (n, line) in counts.items():
        report[name] = n
        report[name + "_first_line"] = line
    report["rejected"] = sum(counts[k][0] for k in ("non_finite", "non_positive", "ohlc_inconsistent",
                                                    "misaligned", "conflicting"))
    defects = report["rejected"] + report["duplicates"] + report["out_of_order"] + 0.5 * report["zero_volume_run_rows"]
    row_score = max(0.0, 1 - defects / len(rows)) if len(rows) else 0.0
    spanned = len(candles) + report["missing_bars"]
    missing_share = report["missing_bars"] / spanned if spanned else 0.0
    report["score"] = row_score * (1 - 0.25 * missing_share) if len(rows) else 0.0
    report["reasons"] = [
        f"{report[k]} {what}" + (f" (first at line {report[k + '_first_line']})" if report[k + "_first_line"] else "")
        for k, what in [("non_finite", "rows with NaN or infinite values"),
                        ("non_positive", "rows with a non-positive price or a negative volume"),
                        ("ohlc_inconsistent", "rows with high < max(open, close) or low > min(open, close)"),
                        ("misaligned", "rows whose time is not on the interval's boundary"),
                        ("conflicting", "rows that share a time with a different candle"),
                        ("duplicates", "duplicate rows"), ("out_of_order", "rows out of time order")]
        if report[k]
    ]
    if report["zero_volume_runs"]:
        report["reasons"].append(f"{report['zero_volume_run_rows']} rows in {report['zero_volume_runs']} runs of zero volume")
    if report["gaps"]:
        report["reasons"].append(f"{report['gaps']} gaps missing {report['missing_bars']} bars")
    return candles, report


def collect(conn, path, symbol, interval):
    rows = read_candles_csv(path)
    candles, report = assess(rows, interval, SETTINGS["data"]["max_zero_volume_run"])
    threshold = SETTINGS["data"]["quality_threshold"]
    if report["score"] < threshold or candles.empty:
        raise Refused(f"quality {report['score']:.3f} is below {threshold}: {'; '.join(report['reasons'])}")

    n = len(candles)
    data = zip([symbol] * n, [interval] * n, *(candles[k].tolist() for k in
                                                ("open_time", "open", "high", "low", "close", "volume")))
    first, last = int(candles["open_time"].iat[0]), int(candles["open_time"].iat[-1])
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = "SELECT COUNT(*) FROM candles WHERE symbol = ? AND interval = ? AND open_time BETWEEN ? AND ?"
        before = conn.execute(count, (symbol, interval, first, last)).fetchone()[0]
        changes = conn.total_changes
        conn.executemany(
            """INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (symbol, interval, open_time) DO UPDATE SET
                   open = excluded.open, high = excluded.high, low = excluded.low,
                   close = excluded.close, volume = excluded.volume
               WHERE candles.open <> excluded.open OR candles.high <> excluded.high
                  OR candles.low <> excluded.low OR candles.close <> excluded.close
                  OR candles.volume <> excluded.volume""",
            data,
        )
        changed = conn.total_changes - changes
        inserted = conn.execute(count, (symbol, interval, first, last)).fetchone()[0] - before
        updated = changed - inserted
        conn.execute(
            """INSERT INTO collects (symbol, interval, source, finished_at, rows_read, inserted, updated,
                   unchanged, rejected, duplicates, gaps, missing_bars, first_open_time, last_open_time,
                   quality_score, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (symbol, interval, str(path), now_ms(), report["rows_read"], inserted, updated, n - changed,
             report["rejected"], report["duplicates"], report["gaps"], report["missing_bars"], first, last,
             report["score"], json.dumps(report["reasons"])),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return {"rows_read": report["rows_read"], "inserted": inserted, "updated": updated,
            "unchanged": n - changed, "rejected": report["rejected"], "duplicates": report["duplicates"],
            "gaps": report["gaps"], "quality": report["score"], "from": iso(first), "to": iso(last)}


# ---------------------------------------------------------------------------- features


def seeded_ewm(values, alpha, seed_index, seed_value, ignore_na=False):
    """The recursion y = (1 - alpha) y + alpha x started at `seed_index` with
    `seed_value` (TA-Lib seeds its EMAs and Wilder averages with an SMA)."""
    if seed_index >= len(values):
        return pd.Series(np.nan, index=values.index)
    seeded = values.copy()
    seeded.iloc[:seed_index] = np.nan
    seeded.iloc[seed_index] = seed_value
    return seeded.ewm(alpha=alpha, adjust=False, ignore_na=ignore_na).mean()


def ta_ema(values, period, seed_at=0):
    """TA-Lib's EMA: the SMA of the first `period` values, then alpha = 2 / (period + 1);
    `seed_at` delays the seed (MACD's fast EMA starts where the slow one does)."""
    first = values.first_valid_index()
    if first is None:
        return pd.Series(np.nan, index=values.index)
    seed = max(first + period - 1, seed_at)
    if seed >= len(values):
        return pd.Series(np.nan, index=values.index)
    return seeded_ewm(values, 2 / (period + 1), seed, values.iloc[seed + 1 - period: seed + 1].mean())


def wilder(values, period, seed_index, seed_value, ignore_na=False):
    return seeded_ewm(values, 1 / period, seed_index, seed_value, ignore_na)


def ratio(numerator, denominator, otherwise):
    """numerator / denominator, `otherwise` where the denominator is 0 (NaN stays NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(denominator == 0, otherwise, numerator / denominator), index=numerator.index)


def compute_features(candles, f=SETTINGS["features"], r=SETTINGS["regimes"]):
    """The 34 features of src/features/mod.rs and kernels.rs, and the regime of each bar."""
    o, h, l, c, v = (candles[k] for k in ("open", "high", "low", "close", "volume"))
    t = candles["open_time"].to_numpy()
    out = {}
    log_return = np.log(c / c.shift(1))
    for n in f["return_horizons"]:
        out[f"ret_{n}"] = np.log(c / c.shift(n))
    out["volatility"] = log_return.rolling(f["volatility_window"]).std()

    n = f["rsi_period"]
    change = c.diff()
    gain, loss = change.clip(lower=0), (-change).clip(lower=0)
    avg_gain = wilder(gain, n, n, gain.iloc[1:n + 1].mean())
    avg_loss = wilder(loss, n, n, loss.iloc[1:n + 1].mean())
    out["rsi"] = ratio(100 * avg_gain, avg_gain + avg_loss, 0.0)

    ema_fast = ta_ema(c, f["macd_fast"], f["macd_slow"] - 1)
    ema_slow = ta_ema(c, f["macd_slow"])
    macd = ema_fast - ema_slow
    signal = ta_ema(macd, f["macd_signal"])
    out["macd"], out["macd_signal"], out["macd_hist"] = macd / c, signal / c, (macd - signal) / c

    # Bollinger bands with the population std of each window computed two-pass over a
    # sliding window view: pandas' rolling std is an online update that loses ~1e-11 of
    # relative precision on prices near 4e4 (%B off by 3e-8); this matches TA-Lib to 1e-13.
    bp = f["bollinger_period"]
    middle = c.rolling(bp).mean()
    deviation = np.full(len(c), np.nan)
    if len(c) >= bp:
        deviation[bp - 1:] = np.lib.stride_tricks.sliding_window_view(c.to_numpy(), bp).std(axis=1)
    width = 2 * f["bollinger_std"] * pd.Series(deviation)
    out["bb_pct_b"] = ratio(c - (middle - width / 2), width, 0.5)
    out["bb_bandwidth"] = width / middle

    previous = c.shift(1)
    tr = pd.concat([h - l, (h - previous).abs(), (l - previous).abs()], axis=1).max(axis=1, skipna=False)
    n = f["atr_period"]
    out["natr"] = wilder(tr, n, n, tr.iloc[1:n + 1].mean()) / c

    # ADX, +DI, -DI: Wilder sums (here as means: the ratios are the same) seeded with the
    # first period - 1 bars; moves within 1e-10 of the price are ties (retrain's rule).
    n = f["adx_period"]
    up, down = h.diff(), -l.diff()
    tie = (up - down).abs() <= 1e-10 * h.abs()
    plus_dm = pd.Series(np.where((up > 0) & (up > down) & ~tie, up, 0.0))
    minus_dm = pd.Series(np.where((down > 0) & (down > up) & ~tie, down, 0.0))
    smooth = {name: wilder(x, n, n - 1, x.iloc[1:n].sum() / n)
              for name, x in [("plus", plus_dm), ("minus", minus_dm), ("tr", tr)]}
    smooth = {k: x.where(x.index >= n) for k, x in smooth.items()}
    plus_di = ratio(100 * smooth["plus"], smooth["tr"], 0.0)
    minus_di = ratio(100 * smooth["minus"], smooth["tr"], 0.0)
    total = plus_di + minus_di
    dx = (100 * (plus_di - minus_di).abs() / total).where((smooth["tr"] != 0) & (total != 0))
    out["adx"] = wilder(dx, n, 2 * n - 1, dx.iloc[n:2 * n].fillna(0).sum() / n, ignore_na=True)
    out["plus_di"], out["minus_di"] = plus_di, minus_di

    k = f["stochastic_k"]
    lowest, highest = l.rolling(k).min(), h.rolling(k).max()
    stoch_k = ratio(100 * (c - lowest), highest - lowest, 0.0)
    out["stoch_k"], out["stoch_d"] = stoch_k, stoch_k.rolling(f["stochastic_d"]).mean()

    # CCI with the mean absolute deviation from each window's own mean, as TA-Lib.
    n = f["cci_period"]
    typical = ((h + l + c) / 3).to_numpy()
    cci = np.full(len(c), np.nan)
    if len(c) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(typical, n)
        mean = windows.mean(axis=1)
        deviation = np.abs(windows - mean[:, None]).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            cci[n - 1:] = np.where(deviation == 0, 0.0, (typical[n - 1:] - mean) / (0.015 * deviation))
    out["cci"] = pd.Series(cci)

    w = f["williams_period"]
    lowest, highest = l.rolling(w).min(), h.rolling(w).max()
    out["williams_r"] = ratio(-100 * (highest - c), highest - lowest, 0.0)

    vw = f["volatility_window"]
    out["volume_z"] = ratio(v - v.rolling(vw).mean(), v.rolling(vw).std(), 0.0)
    signed = pd.Series(np.where(c > previous, v, np.where(c < previous, -v, 0.0)))
    ow = f["obv_slope_window"]
    out["obv_slope"] = ratio(signed.rolling(ow).sum(), v.rolling(ow).sum(), 0.0)

    for w in f["ma_windows"]:
        out[f"dist_sma_{w}"] = c / c.rolling(w).mean() - 1
    for w in f["ma_windows"]:
        out[f"dist_ema_{w}"] = c / ta_ema(c, w) - 1
    bar_range = h - l
    out["range"] = bar_range / c
    out["body"] = ratio(c - o, bar_range, 0.0)
    out["upper_wick"] = ratio(h - np.maximum(o, c), bar_range, 0.0)
    out["lower_wick"] = ratio(np.minimum(o, c) - l, bar_range, 0.0)
    day = (t % DAY_MS) / DAY_MS
    week = ((t // DAY_MS + 3) % 7 + day) / 7  # 1970-01-01 was a Thursday
    out["hour_sin"], out["hour_cos"] = np.sin(2 * np.pi * day), np.cos(2 * np.pi * day)
    out["dow_sin"], out["dow_cos"] = np.sin(2 * np.pi * week), np.cos(2 * np.pi * week)
    table = pd.DataFrame({name: np.asarray(x, dtype=np.float64) for name, x in out.items()})
    table = table.where(np.isfinite(table))  # +-inf (a zero price) counts as undefined

    # Regime from past data (src/features/mod.rs, regime_expr).
    lookback = r["lookback_bars"]
    volatility, bandwidth, adx = table["volatility"], table["bb_bandwidth"], table["adx"]
    volatile_line = volatility.rolling(lookback).quantile(r["volatile_percentile"], interpolation="linear")
    squeeze_line = bandwidth.rolling(lookback).quantile(r["squeeze_percentile"], interpolation="linear")
    warming_up = volatile_line.isna() | squeeze_line.isna() | adx.isna()
    regime = np.select(
        [warming_up, volatility >= volatile_line, adx >= r["trend_adx"], bandwidth <= squeeze_line],
        [None, "volatile", "trending", "consolidation"],
        "sideways",
    )
    return table, pd.Series(regime, dtype=object)


def labels_of(close, label=SETTINGS["label"]):
    """Forward return over the horizon and the label (None without a full horizon)."""
    forward = close.shift(-label["horizon_bars"]) / close - 1
    up = (forward * 1e4 - label["fee_bps"] > label["threshold_bps"]).astype("Int32")
    return forward, up.where(forward.notna())


def features_command(conn, symbol, interval, out):
    candles = load_candles(conn, symbol, interval)
    table, regime = compute_features(candles)
    forward, label = labels_of(candles["close"])
    frame = pd.concat(
        [pd.DataFrame({"open_time": pd.to_datetime(candles["open_time"], unit="ms", utc=True).astype("datetime64[ms, UTC]")}),
         table, pd.DataFrame({"regime": regime, "label": label, "forward_return": forward})],
        axis=1,
    )
    frame.to_parquet(out, index=False)
    return {"rows": len(frame), "features": table.shape[1], "labelled": int(label.notna().sum()),
            "regimes": {k: int(v) for k, v in regime.value_counts().items()}}


# ---------------------------------------------------------------------------- train


class SplitMix64:
    """retrain's generator (src/rng.rs), only to draw the same trials as retrain when asked."""

    MASK = (1 << 64) - 1

    def __init__(self, seed, stream):
        mixer = (seed ^ (stream * 0xD1B54A32D192ED03)) & self.MASK
        self.state = mixer
        self.state = self.next_u64()

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        return (self.next_u64() * n) >> 64


def trials_of(trials, seed, order):
    grid = SETTINGS["training"]["search"]
    if order == "retrain":
        # src/model/search.rs: the grid in nested order, shuffled by SplitMix64, the first `trials`.
        points = [{"max_depth": d, "min_samples_leaf": m, "n_trees": n, "feature_fraction": f}
                  for d in grid["max_depth"] for m in grid["min_samples_leaf"]
                  for n in grid["n_trees"] for f in grid["feature_fraction"]]
        rng = SplitMix64(seed, 0x5EA2C4)
        for i in range(len(points) - 1, 0, -1):
            j = rng.below(i + 1)
            points[i], points[j] = points[j], points[i]
        return points[:trials]
    from sklearn.model_selection import ParameterSampler

    space = {k: grid[k] for k in ("max_depth", "min_samples_leaf", "n_trees", "feature_fraction")}
    return list(ParameterSampler(space, n_iter=trials, random_state=seed))


# The grid a Python user would search LightGBM over (random search, ParameterSampler), the
# peer of retrain's gradient boosting (training.search.boosting). LightGBM grows trees leaf
# by leaf, so num_leaves stands where retrain's grid has max_depth.
LIGHTGBM_GRID = {
    "num_leaves": [7, 15, 31, 63, 127],
    "learning_rate": [0.01, 0.02, 0.05, 0.1],
    "n_estimators": [100, 200, 400, 800],
    "min_child_samples": [10, 20, 50, 100],
    "subsample": [0.6, 0.8, 1.0],
    "colsample_bytree": [0.5, 0.7, 0.9, 1.0],
    "reg_lambda": [0.0, 0.1, 1.0, 10.0],
}


def fitted(model, point, seed, x_train, y_train):
    """One trial's model, fitted: a random forest on `point` (retrain's grid) or LightGBM."""
    if model == "gradient-boosting":
        import warnings

        import lightgbm

        # LightGBM 4.6 names the columns of a numpy array, and scikit-learn then warns at
        # every predict_proba on the same kind of array.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return lightgbm.LGBMClassifier(subsample_freq=1, random_state=seed, n_jobs=os.cpu_count(),
                                       verbose=-1, **point).fit(x_train, y_train)
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=point["n_trees"], max_depth=point["max_depth"],
        min_samples_leaf=point["min_samples_leaf"], max_features=point["feature_fraction"],
        bootstrap=True, n_jobs=os.cpu_count(), random_state=seed,
    ).fit(x_train, y_train)


def split(usable, horizon, training):
    """src/model/dataset.rs split(): time order by shares, each part starting more than
    `horizon` bars after the previous part's last row."""
    n = len(usable)
    train = usable[: math.floor(n * training["train_share"])]
    validation_start = train[-1] + horizon + 1 if len(train) else 0
    validation = usable[usable >= validation_start][: math.floor(n * training["validation_share"])]
    if len(validation) == 0:
        return train, validation, validation
    test = usable[usable >= max(validation[-1] + horizon + 1, validation_start)]
    return train, validation, test


def noise_filter(open_time, close, train, interval, horizon, k):
    """Leave out training bars next to a gap and those whose one-bar log return is more
    than k raw MADs from the training median (src/model/dataset.rs filter_noise)."""
    step_is_gap = np.r_[False, np.diff(open_time) > interval_ms(interval)]
    gaps_before = np.cumsum(step_is_gap)
    end = np.minimum(np.arange(len(open_time)) + horizon, len(open_time) - 1)
    near_gap = step_is_gap | (gaps_before[end] > gaps_before)
    one_bar = np.log(close / np.r_[np.nan, close[:-1]])
    returns = one_bar[train]
    returns = returns[np.isfinite(returns)]
    median = float(np.median(returns)) if len(returns) else 0.0
    mad = float(np.median(np.abs(returns - median))) if len(returns) else 0.0
    gap = near_gap[train]
    outlier = ~gap & (mad > 0) & (np.abs(one_bar[train] - median) > k * mad)
    report = {"outliers": int(outlier.sum()), "near_gaps": int(gap.sum()), "median_return": median, "mad": mad}
    return train[~gap & ~outlier], report


def classification(y, p, threshold):
    from sklearn import metrics

    if len(y) == 0:
        return None
    predicted = (p > threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "rows": int(len(y)),
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, zero_division=0),
        "recall": metrics.recall_score(y, predicted, zero_division=0),
        "f1": metrics.f1_score(y, predicted, zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, p) if both else None,
        "log_loss": metrics.log_loss(y, p, labels=[0, 1]),
        "brier": metrics.brier_score_loss(y, p, pos_label=1) if both else float(np.mean((p - y) ** 2)),
        "positive_rate": float(np.mean(y)),
    }


def backtest(open_time, close, next_close, probability, interval, e=SETTINGS["evaluation"]):
    """Long/flat at each bar's close, held over the next bar, fee + slippage per side per
    change of position (src/evaluation/backtest.rs); the metrics as empyrical defines them."""
    cost = (e["fee_bps"] + e["slippage_bps"]) / 1e4
    keep = np.isfinite(next_close)
    if not keep.all():  # the series ends: stop at the first bar without a next close
        stop = int(np.argmin(keep))
        open_time, close, next_close, probability = open_time[:stop], close[:stop], next_close[:stop], probability[:stop]
    position = (probability > e["threshold"]).astype(np.int8)  # NaN (no opinion) is flat
    market = next_close / close - 1
    strategy = position * market - cost * np.abs(np.diff(position, prepend=0))
    n = len(strategy)
    if n == 0:
        return {"bars": 0}
    periods = bars_per_year(interval)
    equity = np.cumprod(1 + strategy)
    total = float(equity[-1] - 1)
    annual = (1 + total) ** (periods / n) - 1
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    max_drawdown = float(-min(0.0, ((equity - peak) / peak).min()))
    sharpe = None
    if n >= 2 and not np.all(strategy == strategy[0]):
        sharpe = float(strategy.mean() / strategy.std(ddof=1) * math.sqrt(periods))
    downside = math.sqrt(np.mean(np.minimum(strategy, 0) ** 2)) * math.sqrt(periods)
    sortino = float(strategy.mean() * periods / downside) if n >= 2 and downside > 0 else None

    # Closed trades: runs of one non-zero position that end inside the window.
    frame = pd.DataFrame({"position": position, "move": 1 + position * market})
    frame["run"] = (frame["position"] != frame["position"].shift()).cumsum()
    runs = frame.groupby("run").agg(position=("position", "first"), growth=("move", "prod"))
    closed = runs.iloc[:-1]
    trades = (closed.loc[closed["position"] != 0, "growth"] * (1 - cost) ** 2 - 1).to_numpy()
    gains, losses = trades[trades > 0].sum(), -trades[trades < 0].sum()
    exposed = position != 0
    week = (open_time - 4 * DAY_MS) // (7 * DAY_MS)  # weeks from Monday, UTC
    weekly = pd.Series(1 + strategy).groupby(week).prod() - 1
    return {
        "bars": n,
        "total_return": total,
        "annual_return": annual if math.isfinite(annual) else None,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_drawdown,
        "calmar": annual / max_drawdown if max_drawdown > 0 and math.isfinite(annual) else None,
        "trades": int(len(trades)),
        "win_rate": float((trades > 0).mean()) if len(trades) else None,
        "profit_factor": float(gains / losses) if losses > 0 else None,
        "average_trade": float(trades.mean()) if len(trades) else None,
        "exposure": float(exposed.mean()),
        "consistency": float((weekly > 0).mean()),
        "hit_rate": float((position[exposed] * market[exposed] > 0).mean()) if exposed.any() else None,
    }


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_durably(path, data):
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def train(conn, models, symbol, interval, regime, trials, seed, trial_order, candles=None, features=None,
          model="random-forest"):
    """features -> regime -> labels -> split with embargo -> noise filter -> scaling ->
    random search on validation -> test metrics -> artifact -> registry row
    (src/model/pipeline.rs, src/commands/train.rs). `model` gradient-boosting searches
    LightGBM over LIGHTGBM_GRID instead of a random forest over retrain's grid."""
    import joblib

    started = time.perf_counter()
    s_label, s_training = SETTINGS["label"], SETTINGS["training"]
    horizon = s_label["horizon_bars"]
    if candles is None:
        candles = load_candles(conn, symbol, interval)
    if not np.isfinite(candles[["open", "high", "low", "close", "volume"]].to_numpy()).all():
        raise Refused("the stored candles hold a non-finite value")
    table, regimes = features if features is not None else compute_features(candles)
    forward, label = labels_of(candles["close"])
    usable = np.flatnonzero((regimes == regime).to_numpy() & label.notna().to_numpy()
                            & table.notna().all(axis=1).to_numpy())
    train_rows, validation_rows, test_rows = split(usable, horizon, s_training)
    minimum = s_training["min_rows_per_part"]
    if min(len(train_rows), len(validation_rows), len(test_rows)) < minimum:
        raise Refused(f"not enough data for the {regime} regime: train {len(train_rows)}, validation "
                      f"{len(validation_rows)}, test {len(test_rows)}; each part needs {minimum}")
    open_time = candles["open_time"].to_numpy()
    close = candles["close"].to_numpy()
    noise = None
    if s_training["noise_filter"]:
        train_rows, noise = noise_filter(open_time, close, train_rows, interval, horizon, s_training["noise_mad_k"])
    y = label.to_numpy(dtype=np.int64, na_value=0)
    y_train, y_validation, y_test = y[train_rows], y[validation_rows], y[test_rows]
    if y_train.min() == y_train.max():
        raise Refused(f"the training rows of the {regime} regime are all labelled {y_train[0]}")

    # Z-scores with the training rows' statistics; constant features left out.
    raw_train = table.iloc[train_rows]
    mean, std = raw_train.mean(), raw_train.std(ddof=0)
    constant = (std == 0) | (std <= 1e-12 * mean.abs().clip(lower=1e-300))
    names = list(table.columns[~constant.to_numpy()])
    mean, std = mean[names], std[names]
    scaled = ((table[names] - mean) / std).to_numpy()
    x_train, x_validation, x_test = scaled[train_rows], scaled[validation_rows], scaled[test_rows]
    features_time = time.perf_counter() - started

    # Search: each trial fitted on train, scored on validation; the best (earliest on a
    # tie) is kept as fitted, as retrain does (no refit).
    started = time.perf_counter()
    threshold = SETTINGS["evaluation"]["threshold"]
    from sklearn.metrics import f1_score

    if model == "gradient-boosting":
        from sklearn.model_selection import ParameterSampler

        points = list(ParameterSampler(LIGHTGBM_GRID, n_iter=trials, random_state=seed))
    else:
        points = trials_of(trials, seed, trial_order)
    scores, best, best_model = [], None, None
    for index, point in enumerate(points):
        candidate = fitted(model, point, seed, x_train, y_train)
        score = f1_score(y_validation, candidate.predict_proba(x_validation)[:, 1] > threshold, zero_division=0)
        scores.append({"hyper": point, "score": score})
        if best is None or score > scores[best]["score"]:
            best, best_model = index, candidate
    search_time = time.perf_counter() - started

    started = time.perf_counter()
    p_test = best_model.predict_proba(x_test)[:, 1]
    test_metrics = classification(y_test, p_test, threshold)
    next_close = np.r_[close[1:], np.nan]
    window = slice(test_rows[0], test_rows[-1] + 1)
    probability = np.full(len(close), np.nan)
    probability[test_rows] = p_test  # the test window's bars of the regime with complete features
    trading = backtest(open_time[window], close[window], next_close[window], probability[window], interval)

    def part(rows):
        return {"from": int(open_time[rows[0]]), "to": int(open_time[rows[-1]]), "rows": int(len(rows)),
                "positive_rate": float(y[rows].mean())}

    windows = {"train": part(train_rows), "validation": part(validation_rows), "test": part(test_rows)}

    # The drift reference: up to reference_sample training rows evenly spaced in time, the
    # deciles of every feature over all training rows, the predictions on the sample.
    size = s_training["reference_sample"]
    picked = train_rows if len(train_rows) <= size else train_rows[np.arange(size) * len(train_rows) // size]
    sample = table[names].iloc[picked].reset_index(drop=True)
    sample["prediction"] = best_model.predict_proba(scaled[picked])[:, 1]
    deciles = np.quantile(raw_train[names].to_numpy(), np.arange(1, 10) / 10, axis=0)

    version = conn.execute(
        """INSERT INTO version_counters (symbol, regime, last_version) VALUES (?, ?, 1)
           ON CONFLICT (symbol, regime) DO UPDATE SET last_version = last_version + 1
           RETURNING last_version""", (symbol, regime)).fetchone()[0]
    relative = Path(symbol) / regime / f"v{version}"
    target = Path(models) / relative
    temporary = target.parent / f".v{version}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    joblib.dump(best_model, temporary / "model.joblib")
    sample.to_parquet(temporary / "reference.parquet", index=False)
    for name in ("model.joblib", "reference.parquet"):
        with open(temporary / name, "rb") as written:
            os.fsync(written.fileno())
    hyper = scores[best]["hyper"]
    manifest = {
        "tool": "peer.py", "symbol": symbol, "regime": regime, "interval": interval, "version": version,
        "model": "lightgbm LGBMClassifier" if model == "gradient-boosting" else "sklearn RandomForestClassifier",
        "features": names,
        "scaling": {"mean": mean.tolist(), "std": std.tolist()},
        "constant_features": list(table.columns[constant.to_numpy()]),
        "hyperparameters": hyper, "seed": seed,
        "search": {"metric": "f1", "trials": len(scores), "best_validation_score": scores[best]["score"]},
        "settings": {k: SETTINGS[k] for k in ("features", "regimes", "label")},
        **windows, "noise_filter": noise, "test_metrics": test_metrics,
        "reference": {"training_rows": int(len(train_rows)), "sample_rows": int(len(picked)),
                      "deciles": deciles.T.tolist(), "label_rate": float(y_train.mean())},
        "files": {name: sha256_of(temporary / name) for name in ("model.joblib", "reference.parquet")},
    }
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    write_durably(temporary / "manifest.json", manifest_bytes)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)
    sha256 = hashlib.sha256(manifest_bytes).hexdigest()

    conn.execute("BEGIN IMMEDIATE")
    cursor = conn.execute(
        """INSERT INTO model_versions (symbol, regime, version, interval, status, model_kind, hyperparameters,
               seed, train_from, train_to, validation_from, validation_to, test_from, test_to,
               data_fingerprint, config_hash, artifact_path, sha256, created_at)
           VALUES (?, ?, ?, ?, 'candidate', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (symbol, regime, version, interval, model, json.dumps(hyper), seed,
         windows["train"]["from"], windows["train"]["to"], windows["validation"]["from"],
         windows["validation"]["to"], windows["test"]["from"], windows["test"]["to"],
         hashlib.sha256(candles.to_numpy().tobytes()).hexdigest(),
         hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest(),
         str(relative), sha256, now_ms()))
    conn.execute(
        "INSERT INTO evaluations (version_id, kind, window_from, window_to, rows, metrics, created_at) "
        "VALUES (?, 'test', ?, ?, ?, ?, ?)",
        (cursor.lastrowid, windows["test"]["from"], windows["test"]["to"], len(test_rows),
         json.dumps({"classification": test_metrics, "trading": trading}), now_ms()))
    conn.execute("COMMIT")
    writing_time = time.perf_counter() - started
    report = {
        "symbol": symbol, "regime": regime, "version": version,
        "rows": {k: w["rows"] for k, w in windows.items()},
        "windows": {k: {**w, "from": iso(w["from"]), "to": iso(w["to"])} for k, w in windows.items()},
        "noise_filter": noise, "constant_features": manifest["constant_features"],
        "search": {"trials": len(scores), "best": best, "best_validation_f1": scores[best]["score"],
                   "trees": sum(t["hyper"].get("n_trees", t["hyper"].get("n_estimators", 0)) for t in scores)},
        "hyperparameters": hyper, "test_metrics": test_metrics, "test_trading": trading,
        "seconds": {"features": features_time, "search": search_time, "writing": writing_time},
    }
    return report, {"model": best_model, "manifest": manifest, "sample": sample}


# ---------------------------------------------------------------------------- evaluate, drift


def load_version(conn, models, symbol, regime, production_first=False):
    """The newest version (drift: the production one, else the newest), its checksums
    verified as retrain does (src/artifact.rs verify)."""
    import joblib

    order = "status = 'production' DESC, version DESC" if production_first else "version DESC"
    row = conn.execute(
        f"SELECT id, version, artifact_path, sha256 FROM model_versions WHERE symbol = ? AND regime = ? "
        f"ORDER BY {order} LIMIT 1", (symbol, regime)).fetchone()
    if row is None:
        raise SystemExit(f"no versions of {symbol} {regime}: train one first")
    version_id, version, relative, sha256 = row
    folder = Path(models) / relative
    manifest_bytes = (folder / "manifest.json").read_bytes()
    if hashlib.sha256(manifest_bytes).hexdigest() != sha256:
        raise Refused(f"{folder / 'manifest.json'}: checksum mismatch")
    manifest = json.loads(manifest_bytes)
    for name, expected in manifest["files"].items():
        if sha256_of(folder / name) != expected:
            raise Refused(f"{folder / name}: checksum mismatch")
    return version_id, version, folder, manifest, joblib.load(folder / "model.joblib")


def predictable(table, regimes, regime, names):
    """Bars of the model's regime with every model feature defined."""
    return (regimes == regime).to_numpy() & table[names].notna().all(axis=1).to_numpy()


def predict(model, manifest, table, rows):
    names = manifest["features"]
    x = ((table[names].iloc[rows] - manifest["scaling"]["mean"]) / manifest["scaling"]["std"]).to_numpy()
    return model.predict_proba(x)[:, 1] if len(rows) else np.empty(0)


def evaluate(conn, models, symbol, regime, loaded=None, candles=None, features=None):
    """A backtest of the newest version on the last evaluation.window_days of bars it never
    saw (after its validation window plus the embargo), stored (src/commands/evaluate.rs)."""
    version_id, version, _, manifest, model = loaded or load_version(conn, models, symbol, regime)
    interval = manifest["interval"]
    if candles is None:
        candles = load_candles(conn, symbol, interval)
    table, regimes = features if features is not None else compute_features(candles)
    forward, label = labels_of(candles["close"])
    open_time, close = candles["open_time"].to_numpy(), candles["close"].to_numpy()
    unseen = np.searchsorted(open_time, manifest["validation"]["to"], side="right") + manifest["settings"]["label"]["horizon_bars"]
    start = max(np.searchsorted(open_time, open_time[-1] - SETTINGS["evaluation"]["window_days"] * DAY_MS), unseen)
    if start >= len(open_time):
        raise Refused("the window holds no bar the version never saw")
    window = np.arange(start, len(open_time))
    rows = window[predictable(table.iloc[window], regimes.iloc[window], regime, manifest["features"])]
    probability = np.full(len(open_time), np.nan)
    probability[rows] = predict(model, manifest, table, rows)
    next_close = np.r_[close[1:], np.nan]
    trading = backtest(open_time[window], close[window], next_close[window], probability[window], interval)
    labelled = rows[label.iloc[rows].notna().to_numpy()]
    classes = classification(label.iloc[labelled].to_numpy(dtype=np.int64), probability[labelled],
                             SETTINGS["evaluation"]["threshold"])
    record = {"classification": classes, "trading": trading}
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO evaluations (version_id, kind, window_from, window_to, rows, metrics, created_at) "
        "VALUES (?, 'backtest', ?, ?, ?, ?, ?)",
        (version_id, int(open_time[start]), int(open_time[-1]), trading["bars"], json.dumps(record), now_ms()))
    test_f1 = manifest["test_metrics"]["f1"]
    conn.execute("COMMIT")
    degradation = None
    if classes is not None and test_f1:
        drop = (test_f1 - classes["f1"]) / abs(test_f1)
        degradation = {"test": test_f1, "recent": classes["f1"], "relative_drop": drop,
                       "degraded": drop > SETTINGS["triggers"]["performance_decay"]}
    return {"symbol": symbol, "regime": regime, "version": version,
            "window": {"from": iso(open_time[start]), "to": iso(open_time[-1]), "bars": trading["bars"],
                       "labelled_rows": int(len(labelled))},
            "trading": trading, "classification": classes, "degradation": degradation}


def band(psi, s=SETTINGS["drift"]):
    for name in ("critical", "high", "medium", "low"):
        if psi >= s["psi_" + name]:
            return name
    return None


SEVERITY_RANK = {None: 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def feature_drift(name, reference, current, edges=None, s=SETTINGS["drift"]):
    """PSI on the reference's decile bins, KS (scipy), JS distance, normalised Wasserstein
    (src/drift/mod.rs feature)."""
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference = reference[np.isfinite(reference)]
    current = current[np.isfinite(current)]
    out = {"name": name, "reference_rows": len(reference), "current_rows": len(current), "psi": None,
           "ks_statistic": None, "ks_p_value": None, "js_distance": None, "wasserstein": None,
           "drifted": False, "severity": None}
    if len(reference) == 0 or len(current) == 0:
        return out
    if edges is None:
        edges = np.quantile(reference, np.arange(1, 10) / 10)
    edges = np.unique(edges)  # repeated edges collapse
    bins = len(edges) + 1
    ref_share = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
    cur_share = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
    r = np.where(ref_share == 0, PSI_EPSILON, ref_share)
    c = np.where(cur_share == 0, PSI_EPSILON, cur_share)
    psi = float(np.sum((c - r) * np.log(c / r)))
    ks = stats.ks_2samp(reference, current)
    spread = np.std(reference)
    distance = stats.wasserstein_distance(reference, current)
    out.update(psi=psi, ks_statistic=float(ks.statistic), ks_p_value=float(ks.pvalue),
               js_distance=float(jensenshannon(ref_share, cur_share)),
               wasserstein=float(distance / spread) if spread > 0 else (0.0 if distance == 0 else None),
               severity=band(psi))
    out["drifted"] = out["ks_statistic"] >= s["ks_statistic"] or psi >= s["psi_medium"]
    return out


def drift(conn, models, symbol, regime, loaded=None, candles=None, features=None):
    """The model's training reference against its regime's bars of the last
    drift.window_days (src/commands/drift_check.rs, src/drift/model.rs), stored."""
    from scipy.special import erfc
    import pyarrow.parquet as pq

    s = SETTINGS["drift"]
    version_id, version, folder, manifest, model = loaded or load_version(conn, models, symbol, regime, True)
    if candles is None:
        candles = load_candles(conn, symbol, manifest["interval"])
    table, regimes = features if features is not None else compute_features(candles)
    _, label = labels_of(candles["close"])
    open_time = candles["open_time"].to_numpy()
    start = np.searchsorted(open_time, open_time[-1] - s["window_days"] * DAY_MS)
    window = np.arange(start, len(open_time))
    names = manifest["features"]
    rows = window[predictable(table.iloc[window], regimes.iloc[window], regime, names)]
    if len(rows) == 0:
        return {"symbol": symbol, "regime": regime, "version": version, "rows": 0}
    reference = pq.read_table(folder / "reference.parquet").to_pandas()
    current = table[names].iloc[rows]
    deciles = manifest["reference"]["deciles"]
    features_drift = [feature_drift(name, reference[name].to_numpy(), current[name].to_numpy(), np.array(deciles[j]))
                      for j, name in enumerate(names)]
    prediction = feature_drift("prediction", reference["prediction"].to_numpy(), predict(model, manifest, table, rows))
    labelled = label.iloc[rows].dropna().to_numpy(dtype=float)
    label_drift = None
    ref_rate, ref_rows = manifest["reference"]["label_rate"], manifest["reference"]["training_rows"]
    if len(labelled):
        rate = labelled.mean()
        pooled = (ref_rate * ref_rows + rate * len(labelled)) / (ref_rows + len(labelled))
        se = math.sqrt(pooled * (1 - pooled) * (1 / ref_rows + 1 / len(labelled)))
        p_value = float(erfc(abs(ref_rate - rate) / se / math.sqrt(2))) if se > 0 else 1.0
        label_drift = {"reference_rate": ref_rate, "reference_rows": ref_rows, "current_rate": rate,
                       "current_rows": len(labelled), "p_value": p_value, "drifted": p_value < 0.01}
    measured = [f for f in features_drift if f["psi"] is not None]
    drifted = sum(f["drifted"] for f in measured)
    share = drifted / len(measured) if measured else 0.0
    psis = sorted((f["psi"] for f in measured), reverse=True)
    reached = max(1, math.ceil(s["dataset_share"] * len(psis)))
    feature_severity = band(psis[reached - 1]) if len(psis) >= reached else None
    severity = max(feature_severity, prediction["severity"], key=SEVERITY_RANK.get)
    window_from, window_to = int(open_time[start]), int(open_time[-1])
    conn.execute("BEGIN IMMEDIATE")
    report_id = conn.execute(
        """INSERT INTO drift_reports (version_id, window_from, window_to, current_rows, drifted_features,
               share_drifted, dataset_drift, severity, prediction, label, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (version_id, window_from, window_to, len(rows), drifted, share, bool(measured) and share >= s["dataset_share"],
         severity, json.dumps(prediction), json.dumps(label_drift), now_ms())).lastrowid
    conn.executemany(
        """INSERT INTO drift_features (report_id, feature, reference_rows, current_rows, psi, ks_statistic,
               ks_p_value, js_distance, wasserstein, drifted, severity, note)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)""",
        [(report_id, f["name"], f["reference_rows"], f["current_rows"], f["psi"], f["ks_statistic"],
          f["ks_p_value"], f["js_distance"], f["wasserstein"], f["drifted"], f["severity"]) for f in features_drift])
    if SEVERITY_RANK[severity] >= SEVERITY_RANK["medium"]:
        open_alert = conn.execute(
            "SELECT id FROM alerts WHERE kind = 'model_drift' AND version_id = ? AND severity = ? "
            "AND resolved_at IS NULL", (version_id, severity)).fetchone()
        if open_alert is None:
            conn.execute(
                "INSERT INTO alerts (kind, severity, symbol, regime, version_id, message, details, created_at) "
                "VALUES ('model_drift', ?, ?, ?, ?, ?, ?, ?)",
                (severity, symbol, regime, version_id, f"{severity} drift: {drifted} of {len(measured)} features drift",
                 json.dumps({"window": [window_from, window_to], "share_drifted": share}), now_ms()))
    conn.execute("COMMIT")
    largest = max(measured, key=lambda f: f["ks_statistic"]) if measured else None
    return {"symbol": symbol, "regime": regime, "version": version,
            "window": {"from": iso(window_from), "to": iso(window_to), "rows": int(len(rows))},
            "drifted_features": drifted, "share_drifted": share, "severity": severity,
            "largest_ks": {"feature": largest["name"], "statistic": largest["ks_statistic"]} if largest else None,
            "prediction_psi": prediction["psi"], "label": label_drift}


# ---------------------------------------------------------------------------- the job


def job(args):
    """The nightly job for one (symbol, regime) in one process: collect, then train,
    evaluate and drift on features computed once."""
    timings = {}
    started = time.perf_counter()
    conn = connect(args.db)
    collected = collect(conn, args.file, args.symbol, args.interval)
    timings["collect"] = time.perf_counter() - started
    started = time.perf_counter()
    candles = load_candles(conn, args.symbol, args.interval)
    features = compute_features(candles)
    timings["features"] = time.perf_counter() - started
    started = time.perf_counter()
    trained, fitted = train(conn, args.models, args.symbol, args.interval, args.regime, args.trials, args.seed,
                            args.trial_order, candles, features, model=args.model)
    timings["train"] = time.perf_counter() - started
    started = time.perf_counter()
    loaded = load_version(conn, args.models, args.symbol, args.regime)
    evaluated = evaluate(conn, args.models, args.symbol, args.regime, loaded, candles, features)
    timings["evaluate"] = time.perf_counter() - started
    started = time.perf_counter()
    drifted = drift(conn, args.models, args.symbol, args.regime, loaded, candles, features)
    timings["drift"] = time.perf_counter() - started
    return {"collect": collected, "train": {k: trained[k] for k in ("version", "rows", "test_metrics", "search")},
            "evaluate": {k: evaluated[k] for k in ("window", "classification")},
            "drift": {k: drifted.get(k) for k in ("window", "severity", "drifted_features")}, "seconds": timings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, *flags):
        p = commands.add_parser(name)
        p.add_argument("--db", required=True)
        p.add_argument("--symbol", required=True)
        for flag in flags:
            if flag == "file":
                p.add_argument("--file", required=True)
            elif flag == "interval":
                p.add_argument("--interval", default="1m")
            elif flag == "models":
                p.add_argument("--models", required=True)
            elif flag == "regime":
                p.add_argument("--regime", required=True, choices=REGIMES)
            elif flag == "search":
                p.add_argument("--trials", type=int, default=SETTINGS["training"]["search"]["max_trials"])
                p.add_argument("--seed", type=int, default=SETTINGS["training"]["seed"])
                p.add_argument("--trial-order", choices=["sklearn", "retrain"], default="sklearn",
                               help="sklearn: ParameterSampler's draw of the grid; retrain: the same "
                                    "trials as retrain with this seed (same work, for benchmarks)")
                p.add_argument("--model", choices=["random-forest", "gradient-boosting"], default="random-forest",
                               help="gradient-boosting: LightGBM, searched over LIGHTGBM_GRID")
            elif flag == "out":
                p.add_argument("--out", required=True)
        return p

    command("collect", "file", "interval")
    command("features", "interval", "out")
    command("train", "interval", "models", "regime", "search")
    command("evaluate", "models", "regime")
    command("drift", "models", "regime")
    command("job", "file", "interval", "models", "regime", "search")
    args = parser.parse_args()

    started = time.perf_counter()
    try:
        if args.command == "job":
            result = job(args)
        else:
            conn = connect(args.db)
            if args.command == "collect":
                result = collect(conn, args.file, args.symbol, args.interval)
            elif args.command == "features":
                result = features_command(conn, args.symbol, args.interval, args.out)
            elif args.command == "train":
                result, _ = train(conn, args.models, args.symbol, args.interval, args.regime, args.trials,
                                  args.seed, args.trial_order, model=args.model)
            elif args.command == "evaluate":
                result = evaluate(conn, args.models, args.symbol, args.regime)
            else:
                result = drift(conn, args.models, args.symbol, args.regime)
    except Refused as refusal:
        print(json.dumps({"command": args.command, "refused": str(refusal)}))
        return 3
    result = {"command": args.command, **result, "elapsed": time.perf_counter() - started}
    print(json.dumps(result, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
