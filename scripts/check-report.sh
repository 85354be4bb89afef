#!/usr/bin/env bash
# Proves that the pages of `retrain report` work in a browser: builds three states with the
# binary BIN (default target/release/retrain) in temporary folders, writes their pages and
# opens each in headless Chromium (scripts/report-check/check.mjs), which fails on a
# console error or warning, an uncaught exception, any request (everything is inlined), a
# chart that does not draw, and a kind of chart expected to hold data that holds none.
#
#   scripts/check-report.sh [OUT_DIR]
#   scripts/check-report.sh --prepare   # only install Chromium and the node packages
#
# The pages, their full-page screenshots and the states' logs go to OUT_DIR (kept), or to
# a temporary folder removed at the end. The states:
#
# - quickstart: what scripts/quickstart.sh does (init, SYNTH 5m, the whole sample, run,
#   then an evaluation and a drift check of the live model and a prediction): metric,
#   timeline, drift and jobs charts hold data;
# - rich: open gates and small trainings, the sample collected in steps as a live feed
#   would bring it, with a prediction after each step (resolved by later collects), runs
#   with manual requests, drift and decay retrains, promotions, drift checks of live
#   versions, a canary test, a rollback and a waiting request; then a short replay whose
#   report draws the equity chart: every kind of chart holds data;
# - fleet: four symbols of the same candles, 16 models: the page starts with its sections
#   closed, and the check opens them.
#
# The sample's candles are written by `retrain sample-data` (the committed
# data/sample/SYNTH-5m.csv's bars, same seed) with their times shifted to end today, so
# that the history the page shows (`report --days`, counted back from the clock) holds
# every simulated step, and the simulated times come before the clock's.
#
# Needs: node and npm (`npm ci` of scripts/report-check when its node_modules is missing
# or stale), and Chromium: $CHROMIUM, else /usr/bin/chromium, else (as root with apt-get)
# the Debian package `chromium` is installed. Nothing it starts is left running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/target/release/retrain}
checker=$root/scripts/report-check

prepare_only=
if [ "${1:-}" = --prepare ] && [ $# -eq 1 ]; then
    prepare_only=1
    shift
fi
if [ $# -gt 1 ] || [[ ${1:-} == -* ]]; then
    echo "usage: scripts/check-report.sh [OUT_DIR] | --prepare" >&2
    exit 2
fi
t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
fail() {
    echo "check-report: FAILED: $*" >&2
    exit 1
}

[ -n "$prepare_only" ] || [ -x "$BIN" ] ||
    fail "no retrain binary at $BIN: build it (cargo build --release --locked) or set BIN"

work=$(mktemp -d "${TMPDIR:-/tmp}/check-report.XXXXXX")
if [ $# -eq 1 ]; then
    mkdir -p "$1"
    out=$(cd "$1" && pwd)
else
    out=$work/out
    mkdir -p "$out"
fi
child=
# However it ends: stop what is still running (by pid: the step in flight, and anything
# whose command line names the work folder, such as a browser left by a killed node),
# then remove the work folder.
cleanup() {
    status=$?
    trap - EXIT INT TERM
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    leftovers "kill"
    rm -rf "$work"
    exit "$status"
}
# The pids of processes, other than this script, whose command line names the work folder.
leftovers() {
    local pids=() pid
    for pid in $(pgrep -f -- "$work" || true); do
        [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$work" || continue
        pids+=("$pid")
    done
    if [ ${#pids[@]} -gt 0 ] && [ "$1" = kill ]; then
        kill "${pids[@]}" 2>/dev/null || true
    fi
    echo "${pids[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background and waits for it, so that a signal to this script
# stops it (bash runs its traps only between commands it waits for this way).
run() {
    "$@" &
    child=$!
    local status=0
    wait "$child" || status=$?
    child=
    return "$status"
}

# retrain in a state folder, its output in the state's log; on failure the log's tail.
log=
r() {
    local status=0
    echo "\$ retrain $*" >>"$log"
    run "$BIN" "$@" >>"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "--- the last lines of $log:" >&2
        tail -n 25 "$log" >&2
        fail "retrain $* exited $status (in $PWD)"
    fi
}

# --- (a) Chromium ---
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    if [ -z "${CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "check-report: no Chromium at $chromium: installing the Debian package chromium"
        run apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq --no-install-recommends chromium >/dev/null
        [ -x "$chromium" ] || fail "apt-get installed chromium, but there is no $chromium"
    else
        fail "no Chromium at $chromium: install it (Debian: apt-get install --no-install-recommends chromium) or set CHROMIUM to its binary"
    fi
fi
export CHROMIUM=$chromium
# (Debian's /usr/bin/chromium wrapper prints a shell warning on stderr: not ours.)
if [ -z "$prepare_only" ]; then
    echo "check-report: $("$chromium" --version 2>/dev/null || echo "$chromium"), retrain $("$BIN" --version | awk '{print $NF}') at $BIN"
fi

# --- (b) playwright-core, as its lock file pins it ---
command -v node >/dev/null && command -v npm >/dev/null ||
    fail "node and npm are needed (Debian: apt-get install nodejs npm; Node 18 or later)"
installed() {
    # Every package of the lock file is installed at its locked version.
    (cd "$checker" && node -e '
        const fs = require("fs");
        const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
        for (const [path, p] of Object.entries(lock.packages)) {
            if (!path) continue;
            let v = null;
            try { v = JSON.parse(fs.readFileSync(path + "/package.json", "utf8")).version; } catch {}
            if (v !== p.version) process.exit(1);
        }')
}
if ! installed; then
    echo "check-report: npm ci in scripts/report-check"
    (cd "$checker" && run npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) || {
        cat "$work/npm.log" >&2
        fail "npm ci in $checker failed"
    }
    installed || fail "npm ci left $checker/node_modules unlike package-lock.json"
fi

if [ -n "$prepare_only" ]; then
    echo "check-report: Chromium and the node packages are ready"
    exit 0
fi

# The browser's temporary profile goes under the work folder: its processes then name the
# folder, and the end of this script finds any left running.
# A page that fails its check does not stop the others from being checked.
mkdir -p "$work/tmp"
failed=()
check() {
    local page=$1 shot=$2
    shift 2
    local t status=0
    t=$(date +%s.%N)
    TMPDIR=$work/tmp run node "$checker/check.mjs" "$page" "$shot" "$@" || status=$?
    echo "  (check $(elapsed "$t") s)"
    [ "$status" -eq 0 ] || failed+=("$(basename "$page")")
}

# --- (c) the states and their pages ---
sample=$work/SYNTH-5m.csv
day=86400
start=$(($(date -u +%s) / day * day - 45 * day)) # the sample's 45 days end at today 00:00 UTC
"$BIN" sample-data --out "$sample" --start "$start" >/dev/null || fail "retrain sample-data failed"
bars=$(($(wc -l <"$sample") - 1))
# Rows (a, b] of the sample, with its header.
rows() { awk -v a="$1" -v b="$2" 'NR == 1 || (NR - 1 > a && NR - 1 <= b)' "$sample" >"$3"; }

# The quickstart.
t=$(date +%s.%N)
mkdir -p "$work/quickstart"
cd "$work/quickstart"
log=$out/quickstart.log
: >"$log"
r init
sed -i 's/^symbols: \[\].*/symbols:\n  - symbol: SYNTH\n    interval: 5m/' config.yaml
r collect --symbol SYNTH --interval 5m --file "$root/data/sample/SYNTH-5m.csv"
r collect --symbol SYNTH --interval 5m --file "$root/data/sample/SYNTH-5m.csv"
r run
r evaluate --symbol SYNTH --regime trending
r drift-check --symbol SYNTH --regime trending
r predict --symbol SYNTH
r report --out "$out/quickstart.html"
t_quickstart=$(elapsed "$t")
echo "check-report: quickstart state and page in $t_quickstart s"
check "$out/quickstart.html" "$out/quickstart.png" --expect-data metric,timeline,drift,jobs

# The rich state.
t=$(date +%s.%N)
mkdir -p "$work/rich"
cd "$work/rich"
log=$out/rich.log
: >"$log"
# Small fast trainings, long-short signals so that every resolved signal is a trade, and
# gates every model passes, with no cooldown (the OPEN_GATES of tests/common/gates.rs).
fast_config() {
    echo "symbols:"
    local symbol
    for symbol in "$@"; do
        printf '  - symbol: %s\n    interval: 5m\n' "$symbol"
    done
    cat <<'EOF'
training:
  splits: histogram
  search:
    max_trials: 2
    n_trees: [25]
evaluation:
  position: long-short
  bootstrap_resamples: 200
EOF
    # Gates every model passes, with no cooldown: the tests' OPEN_GATES.
    local gates
    gates=$(sed -n '/^pub const OPEN_GATES: &str = "gates:$/,/^";$/p' "$root/tests/common/gates.rs" | sed '1s/.*/gates:/; $d')
    [[ $gates == gates:*"cooldown_hours: 0.0" ]] || fail "no OPEN_GATES block found in tests/common/gates.rs"
    echo "$gates"
}
fast_config SYNTH >config.yaml
r init
# 32 days first (every regime then has the rows for a first model), then 6 hours at a
# time to day 44: a prediction after each collect, a run each day, a manual request every
# other day.
at() { echo $((start + $1 * 300)); } # the close of the first $1 bars
got=$((32 * 288))
rows 0 "$got" batch.csv
r collect --symbol SYNTH --interval 5m --file batch.csv --now "$(at "$got")"
r run --now "$(at "$got")"
regimes=(trending sideways volatile consolidation)
step=0
while [ "$got" -lt $((44 * 288)) ]; do
    rows "$got" $((got + 72)) batch.csv
    got=$((got + 72))
    step=$((step + 1))
    r collect --symbol SYNTH --interval 5m --file batch.csv --now "$(at "$got")"
    r predict --symbol SYNTH --now "$(at "$got")"
    if [ $((step % 8)) -eq 0 ]; then
        r queue add --symbol SYNTH --regime "${regimes[$((step / 8 % 4))]}" --reason "check-report: day $((got / 288))"
    fi
    if [ $((step % 4)) -eq 0 ]; then
        r run --now "$(at "$got")"
    fi
done
# The rest, then what a person does today (at the clock's time): a drift check of every
# live version, a canary test, a rollback, and a request left waiting.
rows "$got" "$bars" batch.csv
r collect --symbol SYNTH --interval 5m --file batch.csv
for regime in "${regimes[@]}"; do
    r drift-check --symbol SYNTH --regime "$regime"
done
r train --symbol SYNTH --regime volatile --trials 1
r promote --symbol SYNTH --regime volatile --canary 20
r rollback --symbol SYNTH --regime sideways --reason "check-report: back to the previous sideways version"
r queue add --symbol SYNTH --regime trending --priority high --reason "check-report: a request left waiting"
t_rich_state=$(elapsed "$t")

# A replay of the last two days of the simulated feed, a tick a day.
t=$(date +%s.%N)
echo "\$ retrain replay ... --json >replay.json" >>"$log"
run "$BIN" replay --from "$(at $((42 * 288)))" --to "$(at $((44 * 288)))" --every 1d --json >replay.json 2>>"$log" ||
    fail "retrain replay exited non-zero (log: $log)"
node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = (r.policies || []).filter((p) => !p.curve || !Array.isArray(p.curve.equity) || !p.curve.equity.length);
    if (!r.policies || !r.policies.length || bad.length) {
        console.error("replay --json has no policies[].curve.equity: " + process.argv[2] + " is older than the report");
        process.exit(1);
    }' replay.json "$BIN" || fail "the replay cannot feed the page"
cp replay.json "$out/replay.json"
t_replay=$(elapsed "$t")
r report --out "$out/rich.html" --replay replay.json
echo "check-report: rich state in $t_rich_state s ($step steps), replay in $t_replay s"
check "$out/rich.html" "$out/rich.png" --expect-data metric,timeline,win_rate,drift,jobs,equity

# The fleet: 16 models, more than the 12 whose sections start open; the check opens each
# by a click on its summary, as a reader does, and the charts are drawn then.
t=$(date +%s.%N)
mkdir -p "$work/fleet"
cd "$work/fleet"
log=$out/fleet.log
: >"$log"
fleet=(SYNTH SYNTH-B SYNTH-C SYNTH-D)
fast_config "${fleet[@]}" >config.yaml
r init
got=$((32 * 288))
rows 0 "$got" batch.csv
for symbol in "${fleet[@]}"; do
    r collect --symbol "$symbol" --interval 5m --file batch.csv --now "$(at "$got")"
done
r run --now "$(at "$got")"
for regime in "${regimes[@]}"; do
    r drift-check --symbol SYNTH-D --regime "$regime"
done
r report --out "$out/fleet.html"
echo "check-report: fleet state and page in $(elapsed "$t") s"
check "$out/fleet.html" "$out/fleet.png" --expect-data metric,timeline,drift,jobs

cd "$root"
left=$(leftovers list)
[ -z "$left" ] || fail "still running after the checks: pid(s) $left"
if [ $# -eq 1 ]; then
    echo "check-report: pages, screenshots and logs in $out:"
    ls -1 "$out" | sed 's/^/  /'
else
    echo "check-report: (the screenshots go with the temporary folder: give OUT_DIR to keep them)"
fi
[ ${#failed[@]} -eq 0 ] || fail "${failed[*]} failed the check (above), after $(elapsed "$t_start") s"
echo "check-report: ok in $(elapsed "$t_start") s"
