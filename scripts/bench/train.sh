#!/usr/bin/env bash
# Time `retrain train --model random-forest --trials 20` on the 45,031-row BTC 1m file
# resampled to 5m, every regime in turn, in release mode; prints each regime's time and
# where it went (features, search, writing) and the whole run's time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
file="$root/tests/data/btc-perp-20211231-20220201_1m.csv"
[ -f "$file" ] || { echo "missing $file" >&2; exit 1; }
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/retrain"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" collect --symbol BTC --interval 1m --resample 5m --file "$file" >/dev/null

summary='
import json, sys
r = json.load(sys.stdin)
s, m = r["seconds"], r["test_metrics"]
auc = m["roc_auc"] if m["roc_auc"] is not None else float("nan")
print("%-14s %5.2f s  (features %.2f, search %.2f, writing %.2f)  test f1 %.3f auc %.3f"
      % (r["regime"], s["total"], s["features"], s["search"], s["writing"], m["f1"], auc))
'
millis() { echo $(($(date +%s%N) / 1000000)); }
start=$(millis)
for regime in trending sideways volatile consolidation; do
  "$bin" train --symbol BTC --regime "$regime" --interval 5m --model random-forest --trials 20 --json | python3 -c "$summary"
done
echo "all four regimes: $(($(millis) - start)) ms on $(nproc) cores"
