#!/usr/bin/env python3
"""How often drift-check raises an alarm on data that has not changed, and how soon it
sees a change that was planted: the fixed method against the calibrated one.

For each seed, `retrain sample-data` writes a stationary synthetic series (a fixed Markov
chain of regimes with GARCH volatility inside each). A model per regime is trained on the
first TRAIN_DAYS, then `drift-check` looks at every later week, once per method.

- Stationary: the series as generated. The false-alarm rate is the share of weekly checks
  at `medium` or above.
- Planted shifts, from the first bar after TRAIN_DAYS on: every bar's moves scaled by 1.5
  or 2 (volatility), a steady fall of 0.1% a bar added (a trend), or the moves shuffled
  within each hour (the feature-label relation broken, the distributions of the moves kept). Power is the share of
  models flagged at `medium` or above in the first week after the shift, and the delay is
  the mean number of weeks until the first flag (of those flagged within the horizon).

    python3 scripts/drift/figures.py [--seeds 10] [--days 120] [--train-days 60] [--quantiles 0.99]

Needs the release binary (cargo build --release); prints markdown tables.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "retrain")
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
SEVERE = {"medium", "high", "critical"}
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def run(folder, *args, env=None):
    out = subprocess.run([BIN, *args], cwd=folder, capture_output=True, text=True, env=env)
    if out.returncode not in (0, 4):
        raise RuntimeError(f"retrain {' '.join(args)}: {out.returncode}\n{out.stderr}")
    return out.stdout


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


SCENARIOS = {
    "stationary": None,
    "volatility x1.5": ("scale", 1.5),
    "volatility x2": ("scale", 2.0),
    "trend -0.1%/bar": ("drift", -0.001),
    "relation (moves shuffled within each hour)": ("shuffle", 12),
}


def planted(lines, cut_text, shift):
    """The candle lines with `shift` applied to every bar from `cut_text` on: each price
    moved relative to the previous close (scaled, or with a drift added), so the path
    stays continuous at the cut."""
    if shift is None:
        return lines
    kind, amount = shift
    if kind == "shuffle":
        return shuffled(lines, cut_text, amount)
    out = [lines[0]]
    previous_old = previous_new = None
    for line in lines[1:]:
        cells = line.rstrip("\n").split(",")
        o, h, l, c = (float(v) for v in cells[1:5])
        if cells[0] < cut_text or previous_old is None:
            previous_old = previous_new = c
            out.append(line)
            continue
        def move(v):
            ratio = v / previous_old
            return previous_new * (ratio ** amount if kind == "scale" else ratio * math.exp(amount))
        new = [move(v) for v in (o, h, l, c)]
        previous_old, previous_new = c, new[3]
        out.append(",".join([cells[0]] + [f"{v:.8f}" for v in new] + cells[5:]) + "\n")
    return out


def shuffled(lines, cut_text, block):
    """The candle lines with each bar's move (its OHLC relative to the previous close)
    permuted at random within blocks of `block` bars from `cut_text` on. The moves, and so
    the volatility and the distribution of every return, stay as they were; their order
    within the block, which is what a short-horizon model predicts from, does not."""
    import random
    rng = random.Random(7)
    head = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] < cut_text]
    tail = lines[len(head):]
    previous = float(head[-1].split(",")[4])
    out = list(head)
    moves = []
    for line in tail:
        cells = line.rstrip("\n").split(",")
        o, h, l, c = (float(v) for v in cells[1:5])
        moves.append(([v / previous for v in (o, h, l, c)], cells))
        previous = c
    previous = float(head[-1].split(",")[4])
    for start in range(0, len(moves), block):
        chunk = moves[start:start + block]
        order = [ratios for ratios, _ in chunk]
        rng.shuffle(order)
        for (_, cells), ratios in zip(chunk, order):
            new = [previous * r for r in ratios]
            previous = new[3]
            out.append(",".join([cells[0]] + [f"{v:.8f}" for v in new] + cells[5:]) + "\n")
    return out


def methods(quantiles):
    """(label, environment overrides) of each method compared."""
    out = [("fixed", {"RETRAIN_DRIFT_METHOD": "fixed"})]
    for q in quantiles:
        out.append((f"calibrated q={q}", {"RETRAIN_DRIFT_METHOD": "calibrated", "RETRAIN_DRIFT_CALIBRATED_QUANTILE": str(q)}))
    return out


def one_seed(seed, days, train_days, trials, quantiles):
    folder = tempfile.mkdtemp(prefix=f"drift-{seed}-")
    data = os.path.join(folder, "all.csv")
    run(folder, "sample-data", "--days", str(days), "--seed", str(seed), "--out", data)
    # Train on the first train_days only: a copy cut there.
    cut = START + timedelta(days=train_days)
    cut_text = iso(cut).replace("T", " ").rstrip("Z")
    with open(data) as f:
        lines = f.readlines()
    with open(os.path.join(folder, "train.csv"), "w") as g:
        g.write(lines[0])
        for line in lines[1:]:
            if line.split(",")[0] < cut_text:
                g.write(line)
    run(folder, "collect", "--symbol", "S", "--interval", "5m", "--file", "train.csv")
    trained = []
    for regime in REGIMES:
        try:
            run(folder, "train", "--symbol", "S", "--regime", regime, "--trials", str(trials))
            trained.append(regime)
        except RuntimeError:
            pass
    results = []
    weeks = (days - train_days) // 7
    for scenario, shift in SCENARIOS.items():
        with open(os.path.join(folder, "later.csv"), "w") as g:
            g.writelines(planted(lines, cut_text, shift))
        # Each scenario replaces the candles after the cut; the models stay as trained.
        run(folder, "collect", "--symbol", "S", "--interval", "5m", "--file", "later.csv")
        for regime in trained:
            for week in range(weeks):
                start = cut + timedelta(days=7 * week)
                end = start + timedelta(days=7) - timedelta(minutes=5)
                for method, overrides in methods(quantiles):
                    env = dict(os.environ, **overrides)
                    out = run(folder, "drift-check", "--symbol", "S", "--regime", regime, "--from", iso(start),
                              "--to", iso(end), "--json", env=env)
                    report = json.loads(out)["report"] if out.strip().startswith("{") else None
                    severity = (report or {}).get("severity")
                    note = report.get("note") if report else None
                    results.append((scenario, seed, regime, week, method, severity, note))
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--train-days", type=int, default=60)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--quantiles", type=lambda v: [float(q) for q in v.split(",")], default=[0.99],
                        help="calibrated quantiles to compare, comma-separated")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from concurrent.futures import ProcessPoolExecutor
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(one_seed, seed, args.days, args.train_days, args.trials, args.quantiles)
                   for seed in range(1, args.seeds + 1)]
        for seed, future in enumerate(futures, 1):
            rows += future.result()
            print(f"seed {seed} done", file=sys.stderr)
    weeks = (args.days - args.train_days) // 7
    print(f"{args.seeds} seeds of {args.days} days, models trained on the first {args.train_days}, "
          f"{weeks} weekly checks after; `medium` or above counts as an alarm.\n")
    print("| data | method | checks | alarms | rate | flagged in week 1 | mean delay (weeks) |")
    print("|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for method, _ in methods(args.quantiles):
            mine = [r for r in rows if r[0] == scenario and r[4] == method]
            alarms = sum(1 for r in mine if r[5] in SEVERE)
            models = sorted({(r[1], r[2]) for r in mine})
            first = [r for r in mine if r[3] == 0]
            flagged_first = sum(1 for r in first if r[5] in SEVERE)
            delays = []
            for model in models:
                flagged = [r[3] for r in mine if (r[1], r[2]) == model and r[5] in SEVERE]
                if flagged:
                    delays.append(min(flagged))
            delay = f"{sum(delays) / len(delays):.1f} ({len(delays)} of {len(models)})" if delays else "-"
            print(f"| {scenario} | {method} | {len(mine)} | {alarms} | {100 * alarms / max(1, len(mine)):.1f}% | "
                  f"{flagged_first} of {len(first)} | {delay} |")
    notes = {r[6] for r in rows if r[6]}
    for note in sorted(notes):
        print(f"\nnote: {note}")


if __name__ == "__main__":
    main()
