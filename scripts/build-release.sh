#!/usr/bin/env bash
# Build the release binary and copy it into DIR: scripts/build-release.sh DIR.
# deploy/Dockerfile's builder stage runs it. The release profile strips the symbols.
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
cargo build --release --locked
install -m 0755 "${CARGO_TARGET_DIR:-target}/release/retrain" "$out/retrain"
# It runs: the image's entrypoint is this file.
"$out/retrain" --version
bytes=$(stat -c %s "$out/retrain")
echo "$out/retrain: $bytes bytes ($((bytes / 1024 / 1024)) MiB)"
