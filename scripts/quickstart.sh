#!/usr/bin/env bash
# The main job end to end on the sample data, in ./demo, with no network:
# build retrain, set up a state folder that keeps SYNTH fresh, collect the synthetic
# candles (twice: the second collect changes nothing), then `retrain run` as cron would:
# it trains a first model per regime, evaluates it, checks its drift and its promotion
# gates (the trending model beats the no-skill baselines and passes them all, so it goes
# live; the other three stay candidates). Then evaluate the live model on unseen bars,
# check its drift, list the versions, show why the volatile one was refused, predict the
# latest bar, and show the deployment record, the jobs and the fleet.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --manifest-path "$root/Cargo.toml"
retrain="$root/target/release/retrain"
sample="$root/data/sample/SYNTH-5m.csv"

mkdir -p "$root/demo"
cd "$root/demo"
"$retrain" init
# Keep SYNTH's 5m models fresh (a no-op once the config lists it).
sed -i 's/^symbols: \[\].*/symbols:\n  - symbol: SYNTH\n    interval: 5m/' config.yaml
"$retrain" collect --symbol SYNTH --interval 5m --file "$sample"
"$retrain" collect --symbol SYNTH --interval 5m --file "$sample"
"$retrain" run
"$retrain" evaluate --symbol SYNTH --regime trending
"$retrain" drift-check --symbol SYNTH --regime trending
"$retrain" versions --symbol SYNTH
"$retrain" promote --symbol SYNTH --regime volatile --dry-run || echo "(some gates fail: the table says which; nothing changed)"
"$retrain" predict --symbol SYNTH
"$retrain" history
"$retrain" history --jobs
"$retrain" status
