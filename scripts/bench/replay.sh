#!/usr/bin/env bash
# Time a 30-day `retrain replay` of BTCPERP 5m (the BTC month of tests/data resampled):
# all four regimes, hourly ticks, a daily retrain schedule, 20 trials, the configured
# policy and the three baselines. Prints the wall time, each policy's seconds and the
# seconds its jobs took, and the verdict. Release build, one run.
# REFRESH=incremental adds a fifth policy, the same config with `training.refresh:
# incremental`, judged against the configured (full) one. INTERVAL=1m replays the month
# at its own interval (default 5m); GATES=open promotes every trained model (the gates of
# the tests, tests/common/gates.rs, with a 23.5 h cooldown, so that automatic retrains
# wait for the daily schedule); FROM=2022-01-12 starts the replay later (default 01-02).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/retrain"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
interval=${INTERVAL:-5m}
cat > config.yaml <<YAML
symbols:
  - symbol: BTCPERP
    interval: $interval
schedule:
  jobs:
    - models: "*"
      cron: "0 0 * * *"
YAML
if [ "${GATES:-}" = open ]; then
  sed -n '/^pub const OPEN_GATES: &str = "/,/^";/p' "$root/tests/common/gates.rs" |
    sed -e 's/^pub const OPEN_GATES: &str = "//' -e '/^";/d' -e 's/cooldown_hours: 0.0/cooldown_hours: 23.5/' \
    >> config.yaml
fi
resample=(--resample "$interval")
[ "$interval" = 1m ] && resample=()
"$bin" collect --symbol BTCPERP --interval 1m "${resample[@]}" \
  --file "$root/tests/data/btc-perp-20211231-20220201_1m.csv" >/dev/null
policies=(); count=4
if [ "${REFRESH:-}" = incremental ]; then
  { cat config.yaml; printf 'training:\n  refresh: incremental\n'; } > incremental.yaml
  policies=(--policy incremental.yaml); count=5
fi
start=$(date +%s%N)
from=${FROM:-2022-01-02}
"$bin" replay --from "$from" --to 2022-02-01 "${policies[@]}" --keep states --json > report.json
end=$(date +%s%N)
echo "replay of BTCPERP $interval from $from to 2022-02-01, hourly ticks, $count policies: $(((end - start) / 1000000)) ms"
python3 - <<'PY'
import json
r = json.load(open("report.json"))
for t in r["timing"]["policies"]:
    p = next(p for p in r["policies"] if p["name"] == t["name"])
    f = p["fleet"]
    sharpe = "-" if f["sharpe"] is None else f"{f['sharpe']:.2f}"
    print(f"  {t['name']:15} {t['seconds']:6.1f} s, jobs {t['job_seconds']:6.1f} s "
          f"({p['counts']['retrains']} retrains, {p['counts']['failed_jobs']} failed jobs); "
          f"return {100 * f['total_return']:.2f}%, Sharpe {sharpe}, {f['trades']} trades")
for c in r["comparisons"]:
    if c["baseline"] == "configured":
        s, t = c["sharpe"], c["total_return"]
        print(f"  {c['policy']} against configured: P(Sharpe better) {s['probability_better']:.3f}, "
              f"Sharpe diff 95% {s['interval']}, P(return better) {t['probability_better']:.3f}")
print("verdict:", r["verdict"])
PY
if [ -f states/incremental/events.log ]; then
  echo "incremental policy's jobs: $(grep -c ', incremental from v' states/incremental/events.log || true) refreshed, \
$(grep -c ', not incremental: ' states/incremental/events.log || true) searched instead; why:"
  grep -o ', not incremental: [^:]*' states/incremental/events.log | sed -e 's/v[0-9]*/vN/g' -e 's/only [0-9]* /only N /' |
    sort | uniq -c | sort -rn | head -5
fi
