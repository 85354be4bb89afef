#!/usr/bin/env bash
# A throwaway SMTP server on loopback for the email tests: aiosmtpd, pinned, in a virtual
# environment of its own (made once under ~/.cache, or $SMTP_VENV), run by smtp_server.py.
# `start DIR PORT TLS_PORT` makes a test CA and a certificate for 127.0.0.1 in DIR, starts
# the server (STARTTLS and AUTH on PORT, implicit TLS on TLS_PORT; the login is `retrain`
# with the password in DIR/password) and prints `127.0.0.1`; every message it accepts is
# written to DIR/mail/. The tests find it all through TEST_SMTP_DIR=DIR (the ports are in
# DIR/port and DIR/tls_port). `stop DIR` stops it.
set -euo pipefail
aiosmtpd_version=1.4.6
venv=${SMTP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/retrain-test-servers/aiosmtpd-$aiosmtpd_version}
action=${1:?start DIR PORT TLS_PORT | stop DIR}
dir=${2:?the server folder}
here=$(cd "$(dirname "$0")" && pwd)
case "$action" in
start)
    port=${3:?the STARTTLS port}
    tls_port=${4:?the implicit TLS port}
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$aiosmtpd_version" >&2
    fi
    mkdir -p "$dir/mail"
    echo "$port" >"$dir/port"
    echo "$tls_port" >"$dir/tls_port"
    "$here/certificate.sh" "$dir" "$dir/server.key" "$dir/server.crt"
    python3 -c 'import secrets; print("pw-" + secrets.token_hex(12))' >"$dir/password"
    "$venv/bin/python" "$here/smtp_server.py" "$dir" "$port" "$tls_port" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    # Ready when both ports answer with a greeting; no fixed sleep.
    for _ in $(seq 1 300); do
        if python3 - "$port" "$tls_port" "$dir/ca.pem" 2>/dev/null <<'PY'
import smtplib, ssl, sys
port, tls_port, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
smtplib.SMTP_SSL("127.0.0.1", tls_port, timeout=1, context=ssl.create_default_context(cafile=ca)).quit()
PY
        then
            echo "127.0.0.1"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            echo "the SMTP server exited; its log:" >&2
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "the SMTP server did not answer on ports $port and $tls_port within 30 s; its log is $dir/server.log" >&2
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
