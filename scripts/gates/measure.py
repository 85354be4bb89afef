#!/usr/bin/env python3
"""What real first models score at the promotion gates, to choose the shipped defaults.

Trains a first model per regime on each series, then reads every gate's value with
`promote --dry-run --json` (nothing is promoted):

- synthetic: --seeds runs of `retrain sample-data` (45 days, the quickstart's size);
- BTC perpetual 5m (the shared month of 1-minute candles, resampled);
- ETH/BTC 5m and LTC/BTC 5m (20 days each; training.min_rows_per_part 100 so that their
  regimes train).

It prints each model's gate values, then, per gate, the share of models the default
threshold refuses among those that beat every no-skill baseline (P >= 0.8) and among
those that do not.

    python3 scripts/gates/measure.py [--seeds 10] [--trials 5]

Needs the release binary (cargo build --release) and ../shared/data.
"""

import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "retrain")
DATA = os.path.join(ROOT, "..", "shared", "data")
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
GATES = ["min_f1", "min_precision", "min_recall", "min_win_rate", "min_profit_factor", "max_drawdown", "min_trades",
         "max_drifted_importance", "max_feature_drift_ks", "min_probability_better"]


def run(folder, *args, env=None, ok=(0,)):
    out = subprocess.run([BIN, *args], cwd=folder, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})))
    if out.returncode not in ok:
        raise RuntimeError(f"retrain {' '.join(args)}: {out.returncode}\n{out.stderr}")
    return out.stdout


def models(name, collect_args, trials, env=None):
    folder = tempfile.mkdtemp(prefix="gates-")
    run(folder, "collect", "--symbol", "S", *collect_args, env=env)
    rows = []
    for regime in REGIMES:
        try:
            run(folder, "train", "--symbol", "S", "--regime", regime, "--trials", str(trials), env=env)
        except RuntimeError:
            continue
        # Exit 3: gates fail, which is most of what this measures.
        out = run(folder, "promote", "--symbol", "S", "--regime", regime, "--version", "1", "--dry-run", "--json",
                  env=env, ok=(0, 3))
        gates = {g["name"]: g for g in json.loads(out)["gates"]}
        rows.append((name, regime, gates))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for seed in range(1, args.seeds + 1):
        folder = tempfile.mkdtemp(prefix="gates-sample-")
        path = os.path.join(folder, "sample.csv")
        run(folder, "sample-data", "--seed", str(seed), "--out", path)
        rows += models(f"synthetic seed {seed}", ["--interval", "5m", "--file", path], args.trials)
    short = {"RETRAIN_TRAINING_MIN_ROWS_PER_PART": "100"}
    rows += models("BTC perpetual 5m", ["--interval", "1m", "--resample", "5m", "--file",
                                        os.path.join(DATA, "btc-perp-20211231-20220201_1m.csv")], args.trials)
    rows += models("ETH/BTC 5m", ["--interval", "5m", "--file", os.path.join(DATA, "ETH_BTC-5m.feather")],
                   args.trials, env=short)
    rows += models("LTC/BTC 5m", ["--interval", "5m", "--file", os.path.join(DATA, "LTC_BTC-5m.feather")],
                   args.trials, env=short)

    def value(gates, name):
        v = gates.get(name, {}).get("value")
        return "-" if v is None else f"{v:.3f}"

    print("| series | regime | " + " | ".join(GATES) + " |")
    print("|---|---|" + "---|" * len(GATES))
    for name, regime, gates in rows:
        print(f"| {name} | {regime} | " + " | ".join(value(gates, g) for g in GATES) + " |")
    skilled = [g for _, _, g in rows if g["min_probability_better"]["passed"]]
    unskilled = [g for _, _, g in rows if not g["min_probability_better"]["passed"]]
    passing = [f"{name} {regime}" for name, regime, g in rows if all(gate["passed"] for gate in g.values())]
    print(f"\n{len(rows)} first models; {len(skilled)} beat every no-skill baseline (P >= "
          f"{rows[0][2]['min_probability_better']['threshold']}); {len(passing)} pass every gate"
          f"{': ' + ', '.join(passing) if passing else ''}.\n")
    print("| gate | default | refuses, of those that beat the baselines | refuses, of those that do not |")
    print("|---|---|---|---|")
    for gate in GATES[:-1]:
        # A model is judged by one of the two drift gates (the calibrated one when it has
        # a calibration): count those it applies to.
        judged = lambda gs: [g for g in gs if gate in g]
        refused = lambda gs: sum(1 for g in judged(gs) if not g[gate]["passed"])
        threshold = next(g[gate]["threshold"] for _, _, g in rows if gate in g) if any(gate in g for _, _, g in rows) else None
        if threshold is None:
            continue
        print(f"| {gate} | {threshold:g} | {refused(skilled)} of {len(judged(skilled))} | "
              f"{refused(unskilled)} of {len(judged(unskilled))} |")


if __name__ == "__main__":
    main()
