#!/usr/bin/env bash
# Throughput of many workers on one PostgreSQL state: 40 models (10 synthetic symbols x 4
# regimes, 12 days of 5m candles each, the default 20-trial search), planned once and
# worked by 1, 2 and 4 `retrain run` processes started at the same instant, each doing
# one job at a time. Prints, per worker count, the wall time of the run, jobs per minute
# and the claims' median and longest latency. Release build, unless BIN names a binary.
# Starts its own throwaway PostgreSQL cluster unless TEST_POSTGRES_URL names a server.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
    bin="$root/target/release/retrain"
fi
work=$(mktemp -d)
chmod 755 "$work" # the server may run as the OS user postgres
server=""
cleanup() {
    if [ -n "$server" ]; then "$root/scripts/test-servers/postgres.sh" stop "$work/pg" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    TEST_POSTGRES_URL=$("$root/scripts/test-servers/postgres.sh" start "$work/pg" "$port")
    server=yes
fi
base=${TEST_POSTGRES_URL%/*}
cd "$work"
symbols=10
for i in $(seq 0 $((symbols - 1))); do
    "$bin" sample-data --out "s$i.csv" --days 12 --seed $((i + 1)) >/dev/null
done
{
    echo "symbols:"
    for i in $(seq 0 $((symbols - 1))); do
        printf '  - symbol: S%s\n    interval: 5m\n    regimes: [trending, sideways, volatile, consolidation]\n' "$i"
    done
    printf 'training:\n  min_rows_per_part: 50\ntriggers:\n  min_initial_rows: 200\n'
    printf 'schedule:\n  max_concurrent_jobs: 1\n'
} > config.yaml
for workers in 1 2 4; do
    db="bench_fleet_$workers"
    psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
    export RETRAIN_DATABASE_URL="$base/$db"
    for i in $(seq 0 $((symbols - 1))); do
        "$bin" collect --symbol "S$i" --interval 5m --file "s$i.csv" >/dev/null
    done
    rm -rf models
    start=$(date +%s%N)
    for w in $(seq 1 "$workers"); do
        "$bin" run --now 2024-01-13T00:00:00Z > "worker$w.log" 2>&1 &
    done
    wait
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    jobs=$(psql -qAt "$RETRAIN_DATABASE_URL" -c "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'")
    echo "$workers worker(s): $jobs jobs in $ms ms, $(python3 -c "print(f'{$jobs * 60000 / $ms:.1f}')") jobs/min"
    grep -ho "claims took .*" worker*.log | sed 's/^/  /'
done
