#!/usr/bin/env bash
# The main job end to end on the sample data, in ./demo, with no network:
# build retrain, set up a state folder, collect the synthetic candles (twice: the second
# collect changes nothing), train a model per regime, evaluate one on unseen bars, check
# its drift, list the versions, check the promotion gates (the sample's models fail some
# of the defaults), force one model live with a reason, predict the latest bar with it,
# show the deployment record and the state.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --manifest-path "$root/Cargo.toml"
retrain="$root/target/release/retrain"
sample="$root/data/sample/SYNTH-5m.csv"

mkdir -p "$root/demo"
cd "$root/demo"
"$retrain" init
"$retrain" collect --symbol SYNTH --interval 5m --file "$sample"
"$retrain" collect --symbol SYNTH --interval 5m --file "$sample"
for regime in trending sideways volatile consolidation; do
  "$retrain" train --symbol SYNTH --regime "$regime"
done
"$retrain" evaluate --symbol SYNTH --regime trending
"$retrain" drift-check --symbol SYNTH --regime trending
"$retrain" versions --symbol SYNTH
"$retrain" promote --symbol SYNTH --regime trending --dry-run || echo "(some gates fail: the table says which; nothing changed)"
"$retrain" promote --symbol SYNTH --regime trending --force --reason "demo on synthetic data"
"$retrain" predict --symbol SYNTH
"$retrain" history
"$retrain" status
