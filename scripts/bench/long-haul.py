#!/usr/bin/env python3
"""Long haul: months of hourly `retrain run`s over a fleet of models, as cron would run
them, and how the state grows.

Synthetic markets (`retrain sample-data`, 5-minute candles, one seed per symbol) are
served by a local Binance-compatible klines endpoint, and every symbol has
`source: binance`: each run fetches the klines closed since the last one, as in
production. `retrain run --now T` runs at every hour T of --days days. The first run finds
nothing stored, fetches `data.source.days` (30) days of history and trains every model;
after that a schedule job retrains every model at --cron (weekly by default), and the
drift and decay triggers do what they find. The gates pass every first model and refuse
nearly every later one (the absolute floors open, `min_f1_improvement` 0.5): as when
retraining cannot fix a drift, a drift retrain then leaves production in place and the
back-off spaces the next (24 h, 48 h, 96 h ...); with every candidate promoted instead,
the drift trigger retrains most models of these regime-switching markets every day,
which this machine cannot replay in an afternoon. Each retrain leaves one more version
(its candidate, archived by the next job): the growth a pruning policy is for. Training
reads the last --window-days days
(`training.window_days`; 0 for all stored history, the default of the config, where a
retrain's work grows with the data).

Each night after the 00:00 run, `retrain prune --keep K` deletes the artifacts of archived
versions beyond the newest K of each model. The artifacts an unpruned state would hold are
the pruned state's plus every byte prune freed (prune only deletes files; the runs never
read an archived version's artifact), so one replay gives both.

At the end of each simulated day it records the seconds the day's runs took, the longest
run, the jobs of the day, the candles stored, the database's bytes (with its WAL), and the
artifacts' bytes with and without pruning. It prints a line a day, then a table of chosen
days and the growth from day 2 (after the first training of every model) to the last;
every day goes to OUT/long-haul.csv, written as each day ends.

A replay of 90 days over 100 models takes hours (each hourly run checks every production
model's drift and recent performance). Run again with the same --out and arguments, it
carries on after the last day it finished (the state, the data and the CSV are there), so
that a replay can be stopped and taken up later; the table and the growth figures then
cover every day so far.

    python3 scripts/bench/long-haul.py [--days 90] [--symbols 25] [--trials 1]
        [--window-days 30] [--cron '0 0 * * 1'] [--keep 3] [--out DIR]

Needs the release binary (cargo build --release). 25 symbols x 4 regimes = 100 models.
"""

import argparse
import bisect
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RETRAIN", os.path.join(ROOT, "target", "release", "retrain"))
STEP_MS = 5 * 60 * 1000
HISTORY_DAYS = 30  # data.source.days: fetched by the first run


def retrain(folder, *args, ok=(0,)):
    out = subprocess.run([BIN, *args], cwd=folder, capture_output=True, text=True)
    if out.returncode not in ok:
        raise RuntimeError(f"retrain {' '.join(args)} in {folder}: exit {out.returncode}\n{out.stderr}")
    return out.stdout


class Klines:
    """Each symbol's klines, as Binance's API returns them, by open time."""

    def __init__(self):
        self.times = {}
        self.rows = {}

    def load(self, symbol, path):
        times, rows = [], []
        with open(path) as f:
            for record in csv.DictReader(f):
                opened = datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                t = int(opened.timestamp() * 1000)
                times.append(t)
                rows.append(
                    f'[{t},"{record["open"]}","{record["high"]}","{record["low"]}","{record["close"]}",'
                    f'"{record["volume"]}",{t + STEP_MS - 1},"0.0",100,"0.0","0.0","0"]'
                )
        self.times[symbol], self.rows[symbol] = times, rows

    def page(self, symbol, start, end, limit):
        times = self.times[symbol]
        first = bisect.bisect_left(times, start)
        last = min(bisect.bisect_right(times, end), first + limit)
        return "[" + ",".join(self.rows[symbol][first:last]) + "]"


def serve(klines):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                body = klines.page(query["symbol"], int(query["startTime"]), int(query["endTime"]),
                                   int(query["limit"]))
                status = 200
            except (KeyError, ValueError):
                body, status = '{"code":-1121,"msg":"Invalid symbol."}', 400
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def folder_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except FileNotFoundError:
                pass
    return total


def database_bytes(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
               if f.startswith("retrain.db"))


def count(folder, sql):
    with sqlite3.connect(f"file:{os.path.join(folder, 'retrain.db')}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--trials", type=int, default=1, help="training.search.max_trials")
    parser.add_argument("--window-days", type=int, default=30, help="training.window_days (0: all history)")
    parser.add_argument("--cron", default="0 0 * * 1", help="the schedule job's cron (default: Mondays 00:00)")
    parser.add_argument("--keep", type=int, default=3, help="prune --keep")
    parser.add_argument("--out", help="where the state, the data and the CSV go (default: a new temp folder)")
    args = parser.parse_args()
    if not os.access(BIN, os.X_OK):
        sys.exit(f"{BIN} is missing: cargo build --release")
    out = args.out or tempfile.mkdtemp(prefix="long-haul-")
    os.makedirs(out, exist_ok=True)
    chosen = {k: v for k, v in vars(args).items() if k != "out"}
    settings = os.path.join(out, "arguments.json")
    if os.path.exists(settings):
        with open(settings) as f:
            before = json.load(f)
        if before != chosen:
            sys.exit(f"{out} holds a replay with other arguments: {before}; give another --out")
    else:
        with open(settings, "w") as f:
            json.dump(chosen, f)
    table = os.path.join(out, "long-haul.csv")
    rows = []
    if os.path.exists(table):
        with open(table) as f:
            rows = [{k: int(v) if k not in ("run_seconds", "longest_run_seconds") else float(v)
                     for k, v in r.items()} for r in csv.DictReader(f)]
    begin = datetime(2024, 3, 1, tzinfo=timezone.utc)
    data_start = begin - timedelta(days=HISTORY_DAYS + 1)

    klines = Klines()
    data = os.path.join(out, "data")
    os.makedirs(data, exist_ok=True)
    symbols = [f"S{i:02d}" for i in range(args.symbols)]
    for i, symbol in enumerate(symbols):
        path = os.path.join(data, f"{symbol}.csv")
        if not os.path.exists(path):
            retrain(out, "sample-data", "--out", path, "--days", str(HISTORY_DAYS + args.days + 2),
                    "--seed", str(i + 1), "--start", data_start.strftime("%Y-%m-%dT%H:%M:%SZ"))
        klines.load(symbol, path)
    server = serve(klines)
    url = f"http://127.0.0.1:{server.server_address[1]}"

    config = ["symbols:"]
    for symbol in symbols:
        config += [f"  - symbol: {symbol}", "    interval: 5m", "    source: binance"]
    config += [
        "data:",
        "  source:",
        f"    base_url: {url}",
        f"    days: {HISTORY_DAYS}",
        "gates:",
        "  min_f1: 0.0",
        "  min_precision: 0.0",
        "  min_recall: 0.0",
        "  min_f1_improvement: 0.5",
        "  min_win_rate: 0.0",
        "  min_profit_factor: 0.0",
        "  max_drawdown: 1.0",
        "  min_trades: 0",
        "  max_feature_drift_ks: 1.0",
        "  max_drifted_importance: 1.0",
        "  min_probability_better: 0.0",
        "training:",
        f"  window_days: {args.window_days or 'null'}",
        "  search:",
        f"    max_trials: {args.trials}",
        "schedule:",
        "  jobs:",
        "    - models: '*'",
        f"      cron: '{args.cron}'",
    ]
    folder = os.path.join(out, "state")
    fresh = not os.path.exists(folder)
    os.makedirs(folder, exist_ok=True)
    # Written at every start: the endpoint's port is new each time.
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write("\n".join(config) + "\n")
    if fresh:
        retrain(folder, "init")
    elif not rows:
        sys.exit(f"{folder} exists but {table} does not: give another --out")

    # What prune freed so far, kept beside the state as each prune ends.
    freed_file = os.path.join(out, "freed-bytes")
    freed = int(open(freed_file).read()) if os.path.exists(freed_file) else 0
    print(f"{len(symbols)} symbols x 4 regimes, {args.days} days of hourly runs, max_trials {args.trials}, "
          f"window {args.window_days or 'all'} days, retrain cron '{args.cron}', prune --keep {args.keep}; "
          f"state in {folder}" + (f"; carrying on after day {len(rows)}" if rows else ""), flush=True)
    for day in range(len(rows), args.days):
        seconds, longest = 0.0, 0.0
        jobs_before = count(folder, "SELECT COUNT(*) FROM jobs")
        failed_before = count(folder, "SELECT COUNT(*) FROM jobs WHERE status = 'failed'")
        # A replay stopped inside a day carries on after its last run; that day's seconds
        # are then those of its remaining runs.
        last_run = count(folder, "SELECT COALESCE(MAX(now), 0) FROM runs")
        resumed = 0
        for hour in range(24):
            at = begin + timedelta(days=day, hours=hour)
            if at.timestamp() * 1000 <= last_run:
                resumed = 1
                continue
            now = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            started = time.monotonic()
            # Exit 1: a job failed (counted below), as cron would log it; the next run goes on.
            retrain(folder, "run", "--now", now, ok=(0, 1))
            took = time.monotonic() - started
            seconds += took
            longest = max(longest, took)
            if hour == 0:
                report = json.loads(retrain(folder, "prune", "--keep", str(args.keep), "--json"))
                freed += report["bytes_before"] - report["bytes_after"]
                with open(freed_file + ".tmp", "w") as f:
                    f.write(str(freed))
                os.replace(freed_file + ".tmp", freed_file)
        pruned = folder_bytes(os.path.join(folder, "models"))
        rows.append({
            "day": day + 1,
            "run_seconds": round(seconds, 2),
            "longest_run_seconds": round(longest, 2),
            "jobs": count(folder, "SELECT COUNT(*) FROM jobs") - jobs_before,
            "failed_jobs": count(folder, "SELECT COUNT(*) FROM jobs WHERE status = 'failed'") - failed_before,
            "candles": count(folder, "SELECT COUNT(*) FROM candles"),
            "versions": count(folder, "SELECT COUNT(*) FROM model_versions"),
            "database_bytes": database_bytes(folder),
            "artifact_bytes_pruned": pruned,
            "artifact_bytes_unpruned": pruned + freed,
            "resumed": resumed,
        })
        r = rows[-1]
        print(f"day {r['day']:3}: runs {r['run_seconds']:7.1f} s (longest {r['longest_run_seconds']:5.1f}), "
              f"{r['jobs']:3} jobs ({r['failed_jobs']} failed), {r['candles']:8} candles, {r['versions']:5} versions, "
              f"db {r['database_bytes'] / 1e6:6.1f} MB, artifacts {r['artifact_bytes_pruned'] / 1e6:7.1f} MB "
              f"pruned, {r['artifact_bytes_unpruned'] / 1e6:7.1f} MB unpruned"
              + (" (carried on inside the day)" if resumed else ""), flush=True)
        with open(table + ".tmp", "w", newline="") as f:
            # Rows of a replay begun before a column was added have 0 there.
            writer = csv.DictWriter(f, fieldnames=list(rows[-1]), restval=0)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(table + ".tmp", table)
    server.shutdown()
    summary(rows, args.days)
    with sqlite3.connect(f"file:{os.path.join(folder, 'retrain.db')}?mode=ro", uri=True) as db:
        jobs = db.execute("SELECT trigger, status, COUNT(*) FROM jobs GROUP BY 1, 2 ORDER BY 3 DESC").fetchall()
    print("jobs by trigger: " + ", ".join(f"{t} {s} {n}" for t, s, n in jobs))


def summary(rows, days):
    marks = sorted({d for d in (1, 2, 7, 8, 30, 60, days) if d <= days})
    print()
    print("| day | runs' seconds that day | longest run (s) | jobs | candles | versions | database MB "
          "| artifacts MB, pruned | artifacts MB, unpruned |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["day"] in marks:
            day = f"{r['day']}*" if r.get("resumed") else str(r["day"])
            print(f"| {day} | {r['run_seconds']:.1f} | {r['longest_run_seconds']:.1f} | {r['jobs']} | "
                  f"{r['candles']} | {r['versions']} | {r['database_bytes'] / 1e6:.1f} | "
                  f"{r['artifact_bytes_pruned'] / 1e6:.1f} | {r['artifact_bytes_unpruned'] / 1e6:.1f} |")
    if len(rows) < 3:
        return
    # Day 1 holds the first run's training of every model; growth is read from day 2 on.
    second, last = rows[1], rows[-1]
    spans = last["day"] - second["day"]
    if any(r.get("resumed") for r in rows):
        print("* carried on inside the day: its runs' seconds are those of the runs after the restart")
    whole = [r for r in rows[1:] if not r.get("resumed")]
    quiet = [r for r in whole if r["jobs"] == 0]
    print(f"from day {second['day']} to day {last['day']}: the candles grew x{last['candles'] / second['candles']:.2f}; "
          f"database +{(last['database_bytes'] - second['database_bytes']) / spans / 1e6:.2f} MB a day; artifacts +"
          f"{(last['artifact_bytes_unpruned'] - second['artifact_bytes_unpruned']) / spans / 1e6:.2f} MB a day unpruned, +"
          f"{(last['artifact_bytes_pruned'] - second['artifact_bytes_pruned']) / spans / 1e6:.2f} MB a day pruned")
    if len(quiet) >= 2:
        print(f"days without a job: their runs took {quiet[0]['run_seconds']:.1f} s on day {quiet[0]['day']} and "
              f"{quiet[-1]['run_seconds']:.1f} s on day {quiet[-1]['day']} "
              f"(x{quiet[-1]['run_seconds'] / quiet[0]['run_seconds']:.2f})")
    busy = [r for r in whole if r["jobs"] > 0]
    if len(busy) >= 2:
        per_job = [r["run_seconds"] / r["jobs"] for r in (busy[0], busy[-1])]
        print(f"days with jobs: {per_job[0]:.2f} s of runs a job on day {busy[0]['day']}, "
              f"{per_job[1]:.2f} s on day {busy[-1]['day']} (x{per_job[1] / per_job[0]:.2f})")


if __name__ == "__main__":
    main()
