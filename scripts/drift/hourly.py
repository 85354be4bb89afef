#!/usr/bin/env python3
"""A day of hourly `run`s on the real BTC perpetual data, fed hour by hour: what the
triggers and gates decide, and whether a drift that retraining cannot fix retrains a
model again and again (the retrain storm).

The 1-minute candles are stored (resampled to 5m) up to --start; then, for each of --hours
hours, the candles of the next hour are collected and `retrain run --now` runs at the
hour. Two ways to begin:

- fresh: the default config and an empty registry, as a new user starts;
- forced: the first run's gates opened (every threshold at its loosest through
  RETRAIN_GATES_* variables), so that each regime's first model goes to production whatever
  it scores, as in the storm first reported; the later runs use the config as it is.

For each model it prints the jobs by trigger, the promotions, and every job's reason and
outcome; the drift method is the config's (RETRAIN_DRIFT_METHOD=fixed to compare).

    python3 scripts/drift/hourly.py [--data ../shared/data/btc-perp-20211231-20220201_1m.csv]
        [--start 2022-01-25T00:00:00Z] [--hours 24] [--begin fresh|forced]

Needs the release binary (cargo build --release).
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "retrain")
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
SYMBOL = "BTCPERP"


OPEN_GATES = {
    "RETRAIN_GATES_MIN_F1": "0", "RETRAIN_GATES_MIN_PRECISION": "0", "RETRAIN_GATES_MIN_RECALL": "0",
    "RETRAIN_GATES_MIN_WIN_RATE": "0", "RETRAIN_GATES_MIN_PROFIT_FACTOR": "0", "RETRAIN_GATES_MAX_DRAWDOWN": "1",
    "RETRAIN_GATES_MIN_TRADES": "0", "RETRAIN_GATES_MAX_FEATURE_DRIFT_KS": "1", "RETRAIN_GATES_COOLDOWN_HOURS": "0",
}


def retrain(folder, *args, ok=(0,), env=None):
    out = subprocess.run([BIN, *args], cwd=folder, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})))
    if out.returncode not in ok:
        raise RuntimeError(f"retrain {' '.join(args)}: exit {out.returncode}\n{out.stderr}")
    return out


def feed(folder, lines, until):
    """Collect the 1-minute candles that closed by `until` (resampled to 5m)."""
    text = until.strftime("%Y-%m-%d %H:%M:%S")
    path = os.path.join(folder, "feed.csv")
    with open(path, "w") as f:
        f.write(lines[0])
        # A 1m candle opened at t closes at t + 1m: those opened before `until` have closed.
        f.writelines(line for line in lines[1:] if line[:19] < text)
    retrain(folder, "collect", "--symbol", SYMBOL, "--interval", "1m", "--resample", "5m", "--file", path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "btc-perp-20211231-20220201_1m.csv"))
    parser.add_argument("--start", default="2022-01-25T00:00:00Z")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--begin", choices=["fresh", "forced"], default="fresh")
    args = parser.parse_args()
    start = datetime.strptime(args.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    with open(args.data) as f:
        lines = f.readlines()
    folder = tempfile.mkdtemp(prefix="hourly-")
    retrain(folder, "init")
    with open(os.path.join(folder, "config.yaml"), "a") as f:
        f.write(f"\n# hourly.py\nsymbols:\n  - symbol: {SYMBOL}\n    interval: 5m\n")
    # `init` writes `symbols: []`; the appended list replaces it only if that line goes.
    with open(os.path.join(folder, "config.yaml")) as f:
        text = f.read().replace("\nsymbols: []\n", "\n", 1)
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write(text)
    for hour in range(args.hours):
        now = start + timedelta(hours=hour)
        feed(folder, lines, now)
        env = OPEN_GATES if args.begin == "forced" and hour == 0 else None
        out = retrain(folder, "run", "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ"), ok=(0, 1, 4), env=env)
        held = [line for line in out.stdout.splitlines() + out.stderr.splitlines() if "held back" in line]
        print(f"{now:%Y-%m-%d %H:%M} run exit {out.returncode}, {len(held)} trigger(s) held back", file=sys.stderr)
    db = sqlite3.connect(os.path.join(folder, "retrain.db"))
    jobs = db.execute("SELECT regime, trigger, severity, reason, outcome, error, started_at FROM jobs "
                      "WHERE status IN ('succeeded', 'failed') ORDER BY id").fetchall()
    first = db.execute("SELECT MIN(started_at) FROM jobs").fetchone()[0]
    # In `forced`, the first run's promotions are the forcing, not a decision.
    since = first + 1 if args.begin == "forced" else 0
    promotions = Counter(r for (r,) in db.execute(
        "SELECT regime FROM deployments WHERE action IN ('promote', 'canary_start') AND created_at >= ?", (since,)))
    print(f"{args.hours} hourly runs from {args.start} ({args.begin}), state in {folder}\n")
    print("| model | jobs | drift | decay | initial | other | promotions |")
    print("|---|---|---|---|---|---|---|")
    for regime in REGIMES:
        mine = [j for j in jobs if j[0] == regime]
        kinds = Counter(j[1] for j in mine)
        other = len(mine) - kinds["drift"] - kinds["decay"] - kinds["initial"]
        print(f"| {SYMBOL} {regime} | {len(mine)} | {kinds['drift']} | {kinds['decay']} | {kinds['initial']} | "
              f"{other} | {promotions[regime]} |")
    print("\njobs:\n")
    for regime, trigger, severity, reason, outcome, error, started in jobs:
        at = datetime.fromtimestamp(started / 1000, tz=timezone.utc)
        print(f"- {at:%m-%d %H:%M} {regime} {trigger}: {reason} -> {outcome or error}")


if __name__ == "__main__":
    main()
