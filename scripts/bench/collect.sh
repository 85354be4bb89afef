#!/usr/bin/env bash
# Time `retrain collect` of the 45,031-row BTC 1m file in release mode: into a fresh
# database, and again into the same one (every row unchanged). Whole-process times, as
# cron sees them; prints the median of N runs (default 11).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-11}
file="$root/tests/data/btc-perp-20211231-20220201_1m.csv"
[ -f "$file" ] || { echo "missing $file" >&2; exit 1; }
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/retrain"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

millis() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_one() {
  local start end
  start=$(millis)
  "$bin" collect --symbol BTC --interval 1m --file "$file" >/dev/null
  end=$(millis)
  echo $((end - start))
}

fresh=$(for _ in $(seq "$runs"); do rm -f retrain.db retrain.db-wal retrain.db-shm; time_one; done | median)
again=$(for _ in $(seq "$runs"); do time_one; done | median)
rows=45031
echo "collect btc-perp 1m (45,031 rows), median of $runs runs on $(nproc) cores:"
echo "  fresh database:      ${fresh} ms  ($((rows * 1000 / (fresh > 0 ? fresh : 1))) rows/s)"
echo "  again, all unchanged: ${again} ms"
