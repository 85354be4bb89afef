#!/usr/bin/env bash
# A real full disk: a project on a small tmpfs (SIZE, default 4m) filled by collect,
# train, promote and run until a write fails with ENOSPC; after each command, `check`
# must find the state whole. Needs root (mount); the test suite covers the same write
# sites with a file-size limit instead, which needs no privilege (tests/cli/check.rs).
# `scripts/torture/full-disk.sh [SIZE] [BINARY]`; prints each command's outcome.
set -uo pipefail
size=${1:-4m}
binary=${2:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/retrain}
data=$(cd "$(dirname "$0")/../.." && pwd)/tests/data/btc-perp-20211231-20220201_1m.csv
mnt=$(mktemp -d)
mount -t tmpfs -o "size=$size" tmpfs "$mnt" || { echo "cannot mount a tmpfs (root needed)" >&2; exit 2; }
trap 'cd /; umount "$mnt"; rmdir "$mnt"' EXIT
cd "$mnt"
printf 'symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending, sideways]\ngates:\n  min_f1: 0.0\n  min_precision: 0.0\n  min_recall: 0.0\n  min_win_rate: 0.0\n  min_profit_factor: 0.0\n  max_drawdown: 1.0\n  min_trades: 0\n  min_f1_improvement: -1.0\n  min_probability_better: 0.0\n  max_drifted_importance: 1.0\n  max_feature_drift_ks: 1.0\n  cooldown_hours: 0.0\ntraining:\n  search:\n    max_trials: 1\n' > config.yaml
violations=0 failures=0
step() {
    local out code
    out=$("$binary" "$@" 2>&1)
    code=$?
    local last
    last=$(printf '%s\n' "$out" | grep -E 'error|No space|cannot write' | tail -1)
    echo "exit $code: $* ${last:+-- $last}"
    [ "$code" -ne 0 ] && failures=$((failures + 1))
    if [ -e retrain.db ] && ! "$binary" check >/dev/null 2>&1; then
        echo "  check found a problem after: $*"
        "$binary" check 2>&1 | sed 's/^/  /'
        violations=$((violations + 1))
    fi
}
step collect --symbol BTC --interval 1m --resample 5m --file "$data"
for hour in 06 07 08 09 10 11 12 13 14 15 16 17; do
    step queue add --symbol BTC --regime trending --reason "fill the disk"
    step run --now "2022-02-01T$hour:00:00Z"
    step train --symbol BTC --regime sideways --trials 1
done
df -h "$mnt" | tail -1
echo "$failures command(s) failed on the full disk, $violations violation(s) of the invariants"
[ "$violations" -eq 0 ]
