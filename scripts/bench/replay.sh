#!/usr/bin/env bash
# Time a 30-day `retrain replay` of BTCPERP 5m (the BTC month of tests/data resampled):
# all four regimes, hourly ticks, a daily retrain schedule, 20 trials, the configured
# policy and the three baselines. Prints the wall time, each policy's seconds and the
# seconds its jobs took, and the verdict. Release build, one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/retrain"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > config.yaml <<'YAML'
symbols:
  - symbol: BTCPERP
    interval: 5m
schedule:
  jobs:
    - models: "*"
      cron: "0 0 * * *"
YAML
"$bin" collect --symbol BTCPERP --interval 1m --resample 5m \
  --file "$root/tests/data/btc-perp-20211231-20220201_1m.csv" >/dev/null
start=$(date +%s%N)
"$bin" replay --from 2022-01-02 --to 2022-02-01 --json > report.json
end=$(date +%s%N)
echo "replay of 30 days, 721 hourly ticks, 4 policies: $(((end - start) / 1000000)) ms"
python3 - <<'PY'
import json
r = json.load(open("report.json"))
for t in r["timing"]["policies"]:
    p = next(p for p in r["policies"] if p["name"] == t["name"])
    print(f"  {t['name']:15} {t['seconds']:6.1f} s, jobs {t['job_seconds']:6.1f} s "
          f"({p['counts']['retrains']} retrains, {p['counts']['failed_jobs']} failed jobs)")
print("verdict:", r["verdict"])
PY
