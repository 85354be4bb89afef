#!/usr/bin/env bash
# A throwaway S3-compatible server on loopback for the tests: moto in server mode, pinned,
# in a virtual environment of its own (made once under ~/.cache, or $S3_VENV).
# `start DIR PORT` starts it with its log and pid in DIR and prints its endpoint;
# `stop DIR` stops it. Its buckets live in memory, as long as the test run.
set -euo pipefail
moto_version=5.2.1
venv=${S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/retrain-test-servers/moto-$moto_version}
action=${1:?start DIR PORT | stop DIR}
dir=${2:?the server folder}
case "$action" in
start)
    port=${3:?the port}
    if [ ! -x "$venv/bin/moto_server" ]; then
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" >&2
    fi
    mkdir -p "$dir"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    # Ready when it answers; no fixed sleep.
    for _ in $(seq 1 300); do
        if python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
            echo "http://127.0.0.1:$port"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            echo "moto_server exited; its log:" >&2
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "moto_server did not answer on port $port within 30 s; its log is $dir/server.log" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
    ;;
*)
    echo "unknown action $action" >&2
    exit 2
    ;;
esac
