#!/usr/bin/env bash
# Run every fuzz target (or those named) for SECONDS each, two at a time on a 2-core
# machine: `fuzz/run.sh [SECONDS] [TARGET...]` (default 600 s, all targets). Needs the
# nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); seeds the corpora from
# the tests' real files first (fuzz/seed.py) when they are missing. Each target's log is
# fuzz/logs/TARGET.log; the last line printed per target gives its executions and time.
# An input that crashes, hangs (10 s) or takes more than 2 GB is saved under
# fuzz/artifacts/TARGET/ and fails the target.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ -d corpus ] || python3 seed.py
mkdir -p logs
# No sanitizer: the code is safe Rust but for the dependencies' own unsafe, and the build
# is about twice as quick; panics, hangs and memory blow-ups are what is looked for.
# Debug assertions on (-a): an overflow is a crash, not a wrapped number.
cargo +nightly fuzz build -s none -a >/dev/null 2>&1 || { echo "the fuzz targets do not build" >&2; exit 1; }
run() {
    local target=$1 started
    started=$(date +%s)
    cargo +nightly fuzz run -s none -a "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"logs/$target.log" 2>&1
    local status=$?
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$')
    echo "$target: exit $status, ${runs:-?} executions in $(($(date +%s) - started)) s, corpus $(ls "corpus/$target" | wc -l) inputs"
    return $status
}
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run "${targets[i]}" &
    first=$!
    if [ $((i + 1)) -lt ${#targets[@]} ]; then
        run "${targets[i + 1]}" &
        wait $! || failed=1
    fi
    wait $first || failed=1
done
grep -l "SUMMARY\|panicked\|ERROR: libFuzzer" logs/*.log 2>/dev/null && failed=1
exit $failed
