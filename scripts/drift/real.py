#!/usr/bin/env python3
"""How often drift-check fires on real markets, the fixed method beside the calibrated one.

The truth is unknown on real data, so this is no false-alarm rate: it says how often each
method would make `run` act. For each series a model per regime is trained on the bars up
to --train-until, then `drift-check` looks at every window of --window-days that starts
after it, stepped a day at a time (windows overlap when they are longer than a day). The
shared files hold weeks, not months: the window is two days by default so that the
calibration finds the three non-overlapping chunks it needs in the training bars
(drift.window_days is set for training and checks alike), and training.min_rows_per_part
is 100 so that every regime's few weeks train.

    python3 scripts/drift/real.py [--window-days 2]

Needs the release binary (cargo build --release) and ../shared/data.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "retrain")
DATA = os.path.join(ROOT, "..", "shared", "data")
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
SEVERE = {"medium", "high", "critical"}
# name, file, collect flags, train until, last bar
SERIES = [
    ("BTC perpetual 5m", "btc-perp-20211231-20220201_1m.csv", ["--interval", "1m", "--resample", "5m"],
     "2022-01-20T00:00:00Z", "2022-02-01T05:30:00Z"),
    ("ETH/BTC 5m", "ETH_BTC-5m.feather", ["--interval", "5m"], "2018-01-22T00:00:00Z", "2018-01-30T04:50:00Z"),
]


def parse(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(folder, *args, env=None):
    out = subprocess.run([BIN, *args], cwd=folder, capture_output=True, text=True, env=env)
    if out.returncode not in (0, 4):
        raise RuntimeError(f"retrain {' '.join(args)}: {out.returncode}\n{out.stderr}")
    return out.stdout


def as_csv(file, flags, folder):
    """The series as `collect` stores it, written back out as CSV lines (header first), by
    way of a scratch database: one format to cut at any bar."""
    scratch = tempfile.mkdtemp(prefix="real-drift-all-")
    run(scratch, "collect", "--symbol", "S", *flags, "--file", os.path.join(DATA, file))
    db = sqlite3.connect(os.path.join(scratch, "retrain.db"))
    lines = ["timestamp,open,high,low,close,volume\n"]
    for row in db.execute("SELECT open_time, open, high, low, close, volume FROM candles ORDER BY open_time"):
        at = datetime.fromtimestamp(row[0] / 1000, tz=timezone.utc)
        lines.append(f"{at:%Y-%m-%d %H:%M:%S}," + ",".join(repr(v) for v in row[1:]) + "\n")
    return lines


def one_series(name, file, flags, train_until, last_bar, window_days):
    folder = tempfile.mkdtemp(prefix="real-drift-")
    # Weeks of data split four ways by regime: parts of 100 rows (not 200) let every regime
    # train.
    base = dict(os.environ, RETRAIN_DRIFT_WINDOW_DAYS=str(window_days), RETRAIN_TRAINING_MIN_ROWS_PER_PART="100")
    lines = as_csv(file, flags, folder)
    cut = parse(train_until).strftime("%Y-%m-%d %H:%M:%S")
    with open(os.path.join(folder, "train.csv"), "w") as f:
        f.writelines([lines[0]] + [line for line in lines[1:] if line[:19] < cut])
    with open(os.path.join(folder, "all.csv"), "w") as f:
        f.writelines(lines)
    interval = ["--interval", "5m"]
    run(folder, "collect", "--symbol", "S", *interval, "--file", "train.csv", env=base)
    trained = []
    for regime in REGIMES:
        try:
            run(folder, "train", "--symbol", "S", "--regime", regime, env=base)
            trained.append(regime)
        except RuntimeError:
            pass
    run(folder, "collect", "--symbol", "S", *interval, "--file", "all.csv", env=base)
    rows = []
    start = parse(train_until)
    while start + timedelta(days=window_days) <= parse(last_bar) + timedelta(minutes=5):
        end = start + timedelta(days=window_days) - timedelta(minutes=5)
        for regime in trained:
            for method in ("fixed", "calibrated"):
                env = dict(base, RETRAIN_DRIFT_METHOD=method)
                out = run(folder, "drift-check", "--symbol", "S", "--regime", regime, "--from", iso(start),
                          "--to", iso(end), "--json", env=env)
                report = json.loads(out).get("report") if out.strip().startswith("{") else None
                rows.append((regime, method, (report or {}).get("severity"), (report or {}).get("note")))
        start += timedelta(days=1)
    return trained, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--window-days", type=int, default=2)
    args = parser.parse_args()
    print(f"Windows of {args.window_days:g} days stepped a day at a time after the training bars; "
          "`medium` or above counts as firing.\n")
    print("| series | trained until | model | checks | fixed fires | calibrated fires |")
    print("|---|---|---|---|---|---|")
    notes = set()
    for name, file, flags, train_until, last_bar in SERIES:
        trained, rows = one_series(name, file, flags, train_until, last_bar, args.window_days)
        for regime in trained + ["all"]:
            mine = [r for r in rows if regime in ("all", r[0])]
            fixed = [r for r in mine if r[1] == "fixed"]
            calibrated = [r for r in mine if r[1] == "calibrated"]
            fires = lambda rs: sum(1 for r in rs if r[2] in SEVERE)
            print(f"| {name} | {train_until[:10]} | {regime} | {len(fixed)} | {fires(fixed)} "
                  f"({100 * fires(fixed) / max(1, len(fixed)):.0f}%) | {fires(calibrated)} "
                  f"({100 * fires(calibrated) / max(1, len(calibrated)):.0f}%) |")
        notes |= {r[3] for r in rows if r[3]}
    for note in sorted(notes):
        print(f"\nnote: {note}")


if __name__ == "__main__":
    main()
