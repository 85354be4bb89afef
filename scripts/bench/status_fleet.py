#!/usr/bin/env python3
"""Fill a state folder with a large fleet for timing `retrain status` (issue 8's target:
500 models, 20,000 versions, 1,000,000 signals, 100,000 jobs, under 100 ms).

    retrain init                    # in an empty folder: config.yaml and retrain.db
    python3 scripts/bench/status_fleet.py .
    time retrain status > /dev/null

The rows are plausible but synthetic (artifacts are not written: status never loads
them). Each symbol has one candle, and each production version has a stored backtest
and drift report of that candle, as `run` leaves them. Every signal was served by a
production version after its promotion (a week of 5m bars each), so that the live win
rates have their whole history to read; the first jobs of each model made its versions.
"""
import json
import random
import sqlite3
import sys
from pathlib import Path

folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
random.seed(7)
SYMBOLS = [f"SYM{i:03d}" for i in range(125)]
REGIMES = ["trending", "sideways", "volatile", "consolidation"]
VERSIONS, SIGNALS, JOBS = 40, 2000, 200
T0 = 1_700_000_000_000
BAR = 300_000

config = folder / "config.yaml"
text = config.read_text()
symbols = "symbols:\n" + "".join(f"  - symbol: {s}\n    interval: 5m\n" for s in SYMBOLS)
config.write_text(text.replace("symbols: []", symbols.rstrip("\n")))

db = sqlite3.connect(folder / "retrain.db")
db.execute("PRAGMA synchronous = OFF")
record = lambda f1: json.dumps({"classification": {"rows": 500, "accuracy": 0.6, "precision": 0.6, "recall": 0.5,
    "f1": f1, "roc_auc": 0.6, "log_loss": 0.68, "brier": 0.24, "positive_rate": 0.4},
    "trading": {"bars": 2000, "total_return": 0.01, "annual_return": 0.1, "sharpe": 1.0, "sortino": 1.2,
    "max_drawdown": 0.05, "calmar": 2.0, "trades": 40, "win_rate": 0.5, "profit_factor": 1.3,
    "average_trade": 0.001, "exposure": 0.3, "consistency": 0.6, "hit_rate": 0.55}})
PROMOTED = T0 + (VERSIONS - 1) * 86_400_000  # when each model's production version went live
last_bar = PROMOTED + (SIGNALS + 100) * BAR
for s in SYMBOLS:
    db.execute("INSERT INTO candles VALUES (?, '5m', ?, 1, 1, 1, 1, 1)", (s, last_bar))
run_ids = []
for r in range(JOBS * len(SYMBOLS) * len(REGIMES) // 100):
    cur = db.execute("INSERT INTO runs (pid, now, started_at, finished_at, dry_run, status) VALUES (1, ?, ?, ?, 0, 'finished')",
                     (T0 + r * 3_600_000, T0 + r * 3_600_000, T0 + r * 3_600_000 + 60_000))
    run_ids.append(cur.lastrowid)
job_rows, signal_rows = [], []
for s in SYMBOLS:
    for regime in REGIMES:
        parent = None
        ids = []
        for v in range(1, VERSIONS + 1):
            status = "production" if v == VERSIONS - 1 else ("candidate" if v == VERSIONS else "archived")
            created = T0 + v * 86_400_000
            cur = db.execute(
                "INSERT INTO model_versions (symbol, regime, version, interval, status, model_kind, hyperparameters, seed,"
                " train_from, train_to, validation_from, validation_to, test_from, test_to, data_fingerprint, config_hash,"
                " artifact_path, sha256, parent_id, created_at) VALUES (?, ?, ?, '5m', ?, 'random-forest', '{}', 42,"
                " 0, 1, 2, 3, 4, 5, 'd', 'c', ?, 's', ?, ?)",
                (s, regime, v, status, f"{s}/{regime}/v{v}", parent, created))
            parent = cur.lastrowid
            ids.append(parent)
            db.execute("INSERT INTO evaluations (version_id, kind, window_from, window_to, rows, metrics, created_at)"
                       " VALUES (?, 'test', 4, 5, 500, ?, ?)", (parent, record(0.5 + random.random() * 0.1), created))
        db.execute("INSERT INTO version_counters VALUES (?, ?, ?)", (s, regime, VERSIONS))
        production = ids[VERSIONS - 2]
        for v in range(1, VERSIONS):
            db.execute("INSERT INTO deployments (symbol, regime, action, from_version_id, to_version_id, reason, forced,"
                       " actor, created_at) VALUES (?, ?, 'promote', ?, ?, 'every gate passed', 0, 'run', ?)",
                       (s, regime, ids[v - 2] if v > 1 else None, ids[v - 1], T0 + v * 86_400_000))
        db.execute("INSERT INTO evaluations (version_id, kind, window_from, window_to, rows, metrics, created_at)"
                   " VALUES (?, 'backtest', ?, ?, 2000, ?, ?)", (production, last_bar - 2000 * BAR, last_bar, record(0.52), T0))
        db.execute("INSERT INTO drift_reports (version_id, window_from, window_to, current_rows, drifted_features,"
                   " share_drifted, dataset_drift, severity, created_at) VALUES (?, ?, ?, 500, 3, 0.1, 0, 'low', ?)",
                   (production, last_bar - 2000 * BAR, last_bar, T0))
        for i in range(SIGNALS):
            t = PROMOTED + i * BAR
            win = random.random() < 0.5
            signal_rows.append((s, regime, t, production, random.random(), 1, 1.0, t + 3_600_000,
                                0.001 if win else -0.001, int(win)))
        for j in range(JOBS):
            job_rows.append((s, regime, random.choice(run_ids), T0 + j * 3_600_000, ids[j] if j < VERSIONS else None))
    db.executemany(
        "INSERT INTO signals (symbol, interval, regime, open_time, version_id, probability, position, entry_close,"
        " horizon_bars, cost_per_side, created_at, resolved_at, market_return, realised_return, win)"
        " VALUES (?, '5m', ?, ?, ?, ?, ?, ?, 12, 0.0007, ?, ?, 0.0, ?, ?)",
        [(a, b, c, d, e, f, g, c + 1, h, i, k) for (a, b, c, d, e, f, g, h, i, k) in signal_rows])
    signal_rows.clear()
db.executemany(
    "INSERT INTO jobs (symbol, regime, trigger, reason, priority, status, requested_at, run_id, started_at,"
    " finished_at, seconds, version_id) VALUES (?, ?, 'schedule', 'due', 'medium', 'succeeded', ?, ?, ?, ?, 4.2, ?)",
    [(s, r, t, run, t, t + 4200, v) for (s, r, run, t, v) in job_rows])
db.commit()
counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ["model_versions", "signals", "jobs", "deployments"]}
print(counts)
