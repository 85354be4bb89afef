#!/usr/bin/env bash
# retrain against its Python peer (scripts/bench/peer.py: pandas, scikit-learn, scipy,
# sqlite3) on the same inputs, stage by stage, as whole processes the way cron runs them
# (start-up included):
#
#   collect   the 45,031-row BTC 1m CSV and a >= 1,000,000-row series made from it, each
#             into a fresh database every run; plus a bare rusqlite insert loop of the same
#             rows when target/release/examples/bare_insert can be built
#   features  both inputs, to Parquet
#   train     BTC 1m, one regime, the search with the config's 20 trials, seed 42 (the peer
#             draws the same 20 grid points as retrain, so both fit the same forests' sizes)
#   train-gb  the same with gradient boosting: retrain's forust-ml search over
#             training.search.boosting against LightGBM's over the peer's LIGHTGBM_GRID
#   evaluate  the newest version, defaults (last evaluation.window_days of unseen bars)
#   drift     the version's reference against the last drift.window_days
#   job       the nightly job from a fresh state: retrain collect, train, evaluate and
#             drift-check in one timed shell block; `peer.py job` in one process
#
# Runs alternate retrain and peer, RUNS times each (default 5); medians are reported, in a
# table and in target/bench/compare.json. Both sides use retrain's config defaults and
# `--interval 1m` everywhere (no resampling).
#
#   scripts/bench/run.sh                 # RUNS=3 scripts/bench/run.sh for a quicker pass
#
# Environment: RUNS (5), REGIME (trending), TRIALS (20), SEED (42), COPIES (23), SPLITS
# (exact; histogram sets retrain's training.splits for the train and job stages).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-5}
regime=${REGIME:-trending}
trials=${TRIALS:-20}
seed=${SEED:-42}
copies=${COPIES:-23}
splits=${SPLITS:-exact}
data="$root/tests/data"
source_csv="$data/btc-perp-20211231-20220201_1m.csv"
bench="$root/target/bench"
peer="$root/scripts/bench/peer.py"
requirements="$root/scripts/bench/requirements.txt"
[ -f "$source_csv" ] || { echo "missing $source_csv" >&2; exit 1; }
mkdir -p "$bench/inputs"
started_at=$(date +%s)

# --- build -------------------------------------------------------------------------
cargo build --release --locked --manifest-path "$root/Cargo.toml"
bin="$root/target/release/retrain"
bare="$root/target/release/examples/bare_insert"
if [ -f "$root/examples/bare_insert.rs" ]; then
  cargo build --release --locked --manifest-path "$root/Cargo.toml" --example bare_insert
fi

# --- the peer's virtualenv -----------------------------------------------------------
venv="$bench/venv"
py="$venv/bin/python"
[ -x "$py" ] || python3 -m venv "$venv"
satisfied='
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, pinned = line.split("==")
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
'
if ! "$py" -c "$satisfied" "$requirements"; then
  "$py" -m pip install --quiet --disable-pip-version-check -r "$requirements"
fi

# --- inputs ----------------------------------------------------------------------------
btc="$bench/inputs/btc-1m.csv"
ln -sf "$source_csv" "$btc"
large="$bench/inputs/btc-1m-x$copies.csv"
if [ ! -s "$large" ]; then
  echo "writing $large ($copies copies of the BTC file end to end)"
  "$py" - "$source_csv" "$large" "$copies" <<'EOF'
# Copy k starts one minute after copy k - 1 ends, its prices scaled so that its first open
# is the previous copy's last close (no fake jump at the seams); volumes as they are.
import sys
import numpy as np
import pandas as pd

source, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = pd.read_csv(source)
times = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S.%f")
span = times.iloc[-1] - times.iloc[0] + pd.Timedelta(minutes=1)
step = frame["close"].iloc[-1] / frame["open"].iloc[0]
parts = []
for k in range(copies):
    part = frame.copy()
    part["timestamp"] = (times + k * span).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    part[["open", "high", "low", "close"]] *= step**k
    parts.append(part)
whole = pd.concat(parts, ignore_index=True)
whole.to_csv(out + ".tmp", index=False, float_format="%.12g")
import os
os.replace(out + ".tmp", out)
print(f"  {len(whole):,} rows, {whole['timestamp'].iloc[0]} .. {whole['timestamp'].iloc[-1]}")
EOF
fi
btc_rows=$(($(wc -l < "$btc") - 1))
large_rows=$(($(wc -l < "$large") - 1))

# --- state folders: retrain (config.yaml from `retrain init`) and the peer -----------------
work="$bench/work"
rm -rf "$work"
for name in btc large job; do
  mkdir -p "$work/retrain-$name" "$work/peer-$name"
  (cd "$work/retrain-$name" && "$bin" init >/dev/null &&
    sed -i "s/^  splits: exact /  splits: $splits /" config.yaml && grep -q "^  splits: $splits " config.yaml)
done
fresh() { rm -rf "$1"/*.db "$1"/*.db-wal "$1"/*.db-shm "$1/models"; }

times="$bench/times.tsv"
: > "$times"
log="$bench/run.log"
: > "$log"
millis() { echo $(($(date +%s%N) / 1000000)); }
# record STAGE SIDE RUN OUTPUT_FILE -- command...: time one whole process (or shell block)
record() {
  local stage=$1 side=$2 run=$3 dest=$4
  shift 5
  local start end
  start=$(millis)
  if ! "$@" > "$dest" 2>> "$log"; then
    echo "failed: $* (stage $stage, $side, run $run); the end of $log and $dest:" >&2
    tail -n 20 "$log" "$dest" >&2
    exit 1
  fi
  end=$(millis)
  printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$side" "$run" $((end - start)) "$dest" >> "$times"
}
say() { printf '%-22s run %s/%s\n' "$1" "$2" "$runs"; }

# --- stages ------------------------------------------------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "timing on $(nproc) cores, load average $load_before, $runs runs per stage"
out="$bench/out"
rm -rf "$out"
mkdir -p "$out"

for i in $(seq "$runs"); do
  say "start-up" "$i"
  record startup retrain "$i" "$out/startup-r-$i" -- "$bin" --version
  record startup peer "$i" "$out/startup-p-$i" -- "$py" -c "import numpy, pandas, sklearn.ensemble, scipy.stats, pyarrow.parquet"
done

for input in btc large; do
  file=$btc
  [ "$input" = large ] && file=$large
  for i in $(seq "$runs"); do
    say "collect $input" "$i"
    fresh "$work/retrain-$input"
    (cd "$work/retrain-$input" && record "collect-$input" retrain "$i" "$out/collect-$input-r-$i" -- \
      "$bin" collect --symbol BTC --interval 1m --file "$file")
    fresh "$work/peer-$input"
    record "collect-$input" peer "$i" "$out/collect-$input-p-$i" -- \
      "$py" "$peer" collect --db "$work/peer-$input/peer.db" --file "$file" --symbol BTC --interval 1m
    if [ -x "$bare" ]; then
      rm -f "$work/bare.db" "$work/bare.db-wal" "$work/bare.db-shm"
      record "collect-$input" bare "$i" "$out/collect-$input-b-$i" -- "$bare" "$file" "$work/bare.db"
    fi
  done
done

for input in btc large; do
  for i in $(seq "$runs"); do
    say "features $input" "$i"
    (cd "$work/retrain-$input" && record "features-$input" retrain "$i" "$out/features-$input-r-$i" -- \
      "$bin" features --symbol BTC --interval 1m --out "$work/retrain-$input/features.parquet")
    record "features-$input" peer "$i" "$out/features-$input-p-$i" -- \
      "$py" "$peer" features --db "$work/peer-$input/peer.db" --symbol BTC --interval 1m \
      --out "$work/peer-$input/features.parquet"
  done
done

cd "$work/retrain-btc"
for i in $(seq "$runs"); do
  say "train" "$i"
  record train retrain "$i" "$out/train-r-$i" -- \
    "$bin" train --symbol BTC --regime "$regime" --interval 1m --trials "$trials" --seed "$seed" --json
  record train peer "$i" "$out/train-p-$i" -- \
    "$py" "$peer" train --db "$work/peer-btc/peer.db" --models "$work/peer-btc/models" --symbol BTC \
    --interval 1m --regime "$regime" --trials "$trials" --seed "$seed" --trial-order retrain
done
# Gradient boosting: retrain's (forust-ml, training.search.boosting) against LightGBM
# searched by the peer over a grid a Python user would choose, in a state of their own.
mkdir -p "$work/retrain-gb" "$work/peer-gb"
(cd "$work/retrain-gb" && "$bin" init >/dev/null && "$bin" collect --symbol BTC --interval 1m --file "$btc" >/dev/null)
"$py" "$peer" collect --db "$work/peer-gb/peer.db" --file "$btc" --symbol BTC --interval 1m >/dev/null
cd "$work/retrain-gb"
for i in $(seq "$runs"); do
  say "train-gb" "$i"
  record train-gb retrain "$i" "$out/train-gb-r-$i" -- \
    "$bin" train --symbol BTC --regime "$regime" --interval 1m --trials "$trials" --seed "$seed" \
    --model gradient-boosting --json
  record train-gb peer "$i" "$out/train-gb-p-$i" -- \
    "$py" "$peer" train --db "$work/peer-gb/peer.db" --models "$work/peer-gb/models" --symbol BTC \
    --interval 1m --regime "$regime" --trials "$trials" --seed "$seed" --model gradient-boosting
done
cd "$work/retrain-btc"
for i in $(seq "$runs"); do
  say "evaluate" "$i"
  record evaluate retrain "$i" "$out/evaluate-r-$i" -- "$bin" evaluate --symbol BTC --regime "$regime" --json
  record evaluate peer "$i" "$out/evaluate-p-$i" -- \
    "$py" "$peer" evaluate --db "$work/peer-btc/peer.db" --models "$work/peer-btc/models" --symbol BTC --regime "$regime"
done
for i in $(seq "$runs"); do
  say "drift" "$i"
  record drift retrain "$i" "$out/drift-r-$i" -- "$bin" drift-check --symbol BTC --regime "$regime" --json
  record drift peer "$i" "$out/drift-p-$i" -- \
    "$py" "$peer" drift --db "$work/peer-btc/peer.db" --models "$work/peer-btc/models" --symbol BTC --regime "$regime"
done

# The train report goes to its own file (as a cron job's output would go to a log).
retrain_job() {
  "$bin" collect --symbol BTC --interval 1m --file "$btc" &&
    "$bin" train --symbol BTC --regime "$regime" --interval 1m --trials "$trials" --seed "$seed" --json \
      > "$out/job-train-r-$i.json" &&
    "$bin" evaluate --symbol BTC --regime "$regime" &&
    "$bin" drift-check --symbol BTC --regime "$regime"
}
cd "$work/retrain-job"
for i in $(seq "$runs"); do
  say "job" "$i"
  fresh "$work/retrain-job"
  record job retrain "$i" "$out/job-r-$i" -- retrain_job
  fresh "$work/peer-job"
  record job peer "$i" "$out/job-p-$i" -- \
    "$py" "$peer" job --db "$work/peer-job/peer.db" --models "$work/peer-job/models" --file "$btc" \
    --symbol BTC --interval 1m --regime "$regime" --trials "$trials" --seed "$seed" --trial-order retrain
done
cd "$root"

# --- summary -----------------------------------------------------------------------------
"$py" - "$times" "$bench/compare.json" "$btc_rows" "$large_rows" "$runs" "$(nproc)" "$started_at" \
  "$regime" "$trials" "$seed" "$copies" "$load_before" "$splits" <<'EOF'
import json, re, statistics, sys, time
from collections import defaultdict
from pathlib import Path

times, target, btc_rows, large_rows, runs, cores, started, regime, trials, seed, copies, load_before, splits = sys.argv[1:]
load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
rows = {"collect-btc": int(btc_rows), "collect-large": int(large_rows)}
ms = defaultdict(lambda: defaultdict(list))
outputs = defaultdict(lambda: defaultdict(list))
for line in Path(times).read_text().splitlines():
    stage, side, run, elapsed, out = line.split("\t")
    ms[stage][side].append(int(elapsed))
    outputs[stage][side].append(out)

def last_json(path):
    """The last JSON document a command printed (retrain --json: pretty; peer: one line)."""
    text = Path(path).read_text()
    start = text.find("{")
    return json.loads(text[start:]) if start >= 0 else {}

def bare_ms(path):
    """What examples/bare_insert printed (`rows N ms X rows_per_s R`): the number after
    "ms", else one followed by "ms", else the only number."""
    text = Path(path).read_text()
    number = r"[0-9]+(?:\.[0-9]+)?"
    found = (re.findall(rf"\bms\s+({number})", text) or re.findall(rf"({number})\s*ms\b", text)
             or re.findall(number, text))
    return float(found[-1]) if found else None

def quality_of(stage):
    """Each side's test metrics in the last run of a train stage."""
    found = {}
    for side in ("retrain", "peer"):
        doc = last_json(outputs[stage][side][-1])
        m = doc.get("test_metrics", {})
        found[side] = {"test_f1": m.get("f1"), "test_auc": m.get("roc_auc"), "test_log_loss": m.get("log_loss"),
                       "rows": doc.get("rows"), "hyperparameters": doc.get("hyperparameters")}
    return found

quality = {stage: quality_of(stage) for stage in ("train", "train-gb") if stage in outputs}

labels = {"startup": "start-up (no work)", "collect-btc": f"collect BTC 1m ({int(btc_rows):,} rows)",
          "collect-large": f"collect x{copies} ({int(large_rows):,} rows)", "features-btc": "features BTC 1m",
          "features-large": f"features x{copies}", "train": f"train {regime}, {trials} trials, {splits}",
          "train-gb": f"boosting {regime}, {trials} trials",
          "evaluate": "evaluate", "drift": "drift-check", "job": "whole job (BTC 1m)"}
stages = []
for stage, label in labels.items():
    if stage not in ms:
        continue
    r, p = statistics.median(ms[stage]["retrain"]), statistics.median(ms[stage]["peer"])
    entry = {"stage": stage, "label": label, "retrain_ms": r, "peer_ms": p, "ratio": p / r if r else None,
             "runs": {side: ms[stage][side] for side in ms[stage]}}
    note = ""
    if stage in rows:
        n = rows[stage]
        entry["rows_per_s"] = {"retrain": n / r * 1000, "peer": n / p * 1000}
        note = f"rows/s retrain {n / r * 1000:,.0f}, peer {n / p * 1000:,.0f}"
        if "bare" in ms[stage]:
            printed = [bare_ms(o) for o in outputs[stage]["bare"]]
            printed = [x for x in printed if x is not None]
            wall = statistics.median(ms[stage]["bare"])
            entry["bare_insert"] = {"process_ms": wall, "printed_ms": statistics.median(printed) if printed else None}
            inner = entry["bare_insert"]["printed_ms"]
            if inner:
                entry["rows_per_s"]["bare_insert"] = n / inner * 1000
                note += f"; bare rusqlite loop {inner:.0f} ms ({n / inner * 1000:,.0f} rows/s), process {wall:.0f} ms"
    if stage in ("train", "train-gb", "job"):
        docs = {side: last_json(outputs[stage][side][-1]) for side in ("retrain", "peer")}
        if stage in quality:
            q = quality[stage]
        else:  # the peer's job prints its train results; retrain's train wrote job-train-r-N.json
            retrain_doc = last_json(outputs[stage]["retrain"][-1].replace("job-r-", "job-train-r-") + ".json")
            q = {"retrain": {"test_f1": retrain_doc.get("test_metrics", {}).get("f1"),
                             "test_auc": retrain_doc.get("test_metrics", {}).get("roc_auc")},
                 "peer": {"test_f1": docs["peer"].get("train", {}).get("test_metrics", {}).get("f1"),
                          "test_auc": docs["peer"].get("train", {}).get("test_metrics", {}).get("roc_auc")}}
        entry["quality"] = q
        fmt = lambda x: "-" if x is None else f"{x:.4f}"
        note = (f"test F1/AUC retrain {fmt(q['retrain']['test_f1'])}/{fmt(q['retrain']['test_auc'])}, "
                f"peer {fmt(q['peer']['test_f1'])}/{fmt(q['peer']['test_auc'])}")
        if "test_log_loss" in q["retrain"]:
            note += f"; log loss {fmt(q['retrain']['test_log_loss'])} / {fmt(q['peer']['test_log_loss'])}"
    entry["note"] = note
    stages.append(entry)

header = f"{'STAGE':<32} {'RETRAIN':>10} {'PEER':>10} {'PEER/RETRAIN':>12}  NOTE"
lines = [header]
for e in stages:
    lines.append(f"{e['label']:<32} {e['retrain_ms']:>8.0f}ms {e['peer_ms']:>8.0f}ms {e['ratio']:>11.1f}x  {e['note']}")
print()
print(f"medians of {runs} runs, whole processes, {cores} cores; load average {load_before} before, {load_after} after")
print("\n".join(lines))
doc = {"runs": int(runs), "cores": int(cores), "regime": regime, "trials": int(trials), "seed": int(seed), "splits": splits,
       "inputs": {"btc_rows": int(btc_rows), "large_rows": int(large_rows), "copies": int(copies)},
       "load_average": {"before": load_before, "after": load_after}, "stages": stages, "train_quality": quality, "seconds_total": time.time() - int(started)}
Path(target).write_text(json.dumps(doc, indent=2))
print(f"wrote {target} ({doc['seconds_total']:.0f} s in all)")
EOF
