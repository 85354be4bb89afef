#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on loopback for the tests: `start DIR PORT` makes a
# cluster in DIR (owned by the OS user postgres when run as root, since the server
# refuses to run as root), starts it and prints its URL; `stop DIR` stops it. Trust
# authentication on 127.0.0.1 only: the cluster lives as long as the test run. TLS is on
# (a client may ask for it or not), with a certificate for 127.0.0.1 signed by a
# throwaway certificate authority whose certificate is DIR/ca.pem.
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
action=${1:?start DIR PORT | stop DIR}
dir=${2:?the cluster folder}
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
start)
    port=${3:?the port}
    if [ ! -x "$bin/initdb" ]; then
        echo "no PostgreSQL server binaries at $bin (Debian: apt-get install postgresql-15)" >&2
        exit 1
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "the OS user postgres cannot reach $dir: every folder above it must be searchable (chmod a+x)" >&2
            exit 1
        fi
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U retrain -A trust -E UTF8 --no-sync >/dev/null
    # A certificate authority of the run's own, and the server's certificate for 127.0.0.1.
    "$(dirname "$0")/certificate.sh" "$dir" "$dir/data/server.key" "$dir/data/server.crt"
    chmod 600 "$dir/data/server.key"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/data/server.key" "$dir/data/server.crt"; fi
    chmod a+r "$dir/ca.pem"
    # The role tls_only may connect over TLS only: a test that logs in as it knows that its
    # session was encrypted. The first matching line of pg_hba.conf decides.
    { echo "hostnossl all tls_only 0.0.0.0/0 reject"; cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.conf"
    cat "$dir/pg_hba.conf" >"$dir/data/pg_hba.conf"
    # Durability buys nothing in a throwaway cluster; connections enough for the tests'
    # parallel processes.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on" start >/dev/null
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U retrain -d postgres -c "CREATE ROLE tls_only LOGIN SUPERUSER" >/dev/null
    echo "postgres://retrain@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "unknown action $action" >&2
    exit 2
    ;;
esac
