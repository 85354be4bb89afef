#!/usr/bin/env bash
# Time `retrain status` and `retrain report` on a large fleet in release mode: 500
# models, 20,000 versions, 1,000,000 signals, 100,000 jobs (scripts/bench/status_fleet.py
# fills the database; its rows are dated 2023-11 to 2024-01). Whole-process times; prints
# the median of N runs (default 7), and the report's size: with the default 90 days of
# history (none of the fleet's: the models' rows and tables only) and with all of it
# (--days 36500: every version, deployment and signal in the charts). Needs python3. BIN
# names a binary to time instead of building one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-7}
[ -n "${BIN:-}" ] || cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin=${BIN:-$root/target/release/retrain}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" init >/dev/null
python3 "$root/scripts/bench/status_fleet.py" .

millis() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for args in "status" "status --json" "status --prometheus" \
    "report --out $work/fleet-90d.html" "report --out $work/fleet-all.html --days 36500"; do
  t=$(for _ in $(seq "$runs"); do
    start=$(millis)
    "$bin" $args >/dev/null
    echo $(($(millis) - start))
  done | median)
  echo "retrain ${args//$work\//}: ${t} ms (median of $runs)"
done
for page in "$work"/fleet-*.html; do
  echo "$(basename "$page"): $(($(wc -c < "$page") / 1000)) kB"
done
