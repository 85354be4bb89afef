#!/usr/bin/env bash
# Crash torture: `retrain run` on real data (the BTC month of tests/data, 5-minute bars,
# four regimes retrained every hour) killed with SIGKILL at random instants, KILLS times;
# after every kill `retrain check --json` must find nothing but what a crash may leave (the
# files of a writer that died, a run marked running), never a damaged database, artifact
# or deployment record; and the next run, not killed, must finish the work and leave the
# state clean. Prints the counts; exits 1 on any violation.
#
#   scripts/torture/crash.sh [KILLS] [DIR]      # KILLS defaults to 100, DIR to a new temp folder
#
# The CI-sized part is tests/cli/check.rs (runs_killed_at_many_instants_...).
set -euo pipefail
kills=${1:-100}
root=$(cd "$(dirname "$0")/../.." && pwd)
retrain=${RETRAIN:-$root/target/release/retrain}
if [[ ! -x $retrain ]]; then
    cargo build --release --locked --manifest-path "$root/Cargo.toml"
fi
work=${2:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"
cat > config.yaml <<'YAML'
symbols:
  - symbol: BTC
    interval: 5m
    regimes: [trending, sideways, volatile, consolidation]
gates:
  min_f1: 0.0
  min_precision: 0.0
  min_recall: 0.0
  min_f1_improvement: -1.0
  min_win_rate: 0.0
  min_profit_factor: 0.0
  max_drawdown: 1.0
  min_trades: 0
  max_feature_drift_ks: 1.0
  max_drifted_importance: 1.0
  min_probability_better: 0.0
  cooldown_hours: 0.0
training:
  search:
    max_trials: 2
schedule:
  jobs:
    - models: '*'
      cron: '0 * * * *'
YAML
"$retrain" init >/dev/null 2>&1 || true
"$retrain" collect --symbol BTC --interval 1m --resample 5m \
    --file "$root/tests/data/btc-perp-20211231-20220201_1m.csv" >/dev/null

# How long an unkilled run takes here: kills fall uniformly within it.
start=$(date +%s%N)
"$retrain" run --now 2022-02-01T00:00:00Z >/dev/null
span_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "one run takes ${span_ms} ms here; killing $kills runs at uniform instants within it"

violations=0
killed=0
finished=0
hour=0
check_after() {
    local label=$1 allowed=$2
    local report
    report=$("$retrain" check --json || true)
    local bad
    bad=$(python3 -c '
import json, sys
report = json.loads(sys.argv[1])
allowed = set(sys.argv[2].split(",")) if sys.argv[2] else set()
bad = [p for p in report["problems"] if p["part"] not in allowed]
for p in bad:
    print(p["part"] + ": " + p["subject"] + ": " + p["problem"])
' "$report" "$allowed")
    if [[ -n $bad ]]; then
        violations=$((violations + 1))
        echo "VIOLATION after $label:" >&2
        echo "$bad" >&2
    fi
}
# Until KILLS runs were killed: a run that finishes before its instant does not count
# (at most twice KILLS runs in all).
attempts=0
while ((killed < kills && attempts < 2 * kills)); do
    attempts=$((attempts + 1))
    hour=$((hour + 1))
    now=$(date -u -d "2022-02-01 00:00:00 UTC + $hour hours" +%Y-%m-%dT%H:%M:%SZ)
    delay_ms=$(( RANDOM * 32768 + RANDOM ))
    delay_ms=$(( delay_ms % (span_ms + 1) ))
    "$retrain" run --now "$now" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -KILL "$pid" 2>/dev/null; then
        killed=$((killed + 1))
    else
        finished=$((finished + 1))
    fi
    wait "$pid" 2>/dev/null || true
    check_after "run $attempts, killed at ${delay_ms} ms" "leftovers,runs"
done
hour=$((hour + 1))
now=$(date -u -d "2022-02-01 00:00:00 UTC + $hour hours" +%Y-%m-%dT%H:%M:%SZ)
if ! "$retrain" run --now "$now" >/dev/null; then
    violations=$((violations + 1))
    echo "VIOLATION: the run after the last kill failed" >&2
fi
check_after "the last, unkilled run" ""
versions=$("$retrain" versions --symbol BTC --json | python3 -c 'import json,sys; v=json.load(sys.stdin)["versions"]; print(len(v), sum(x["checksum"]=="ok" for x in v))')
echo "kills: $killed (runs that finished before their kill: $finished); violations: $violations"
echo "versions registered, verified: $versions; state in $work"
[[ $violations -eq 0 ]]
