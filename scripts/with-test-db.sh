#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL + PostGIS cluster: starts it on a free loopback
# port, exports TEST_DATABASE_URL (its `postgres` database), runs the command, then stops
# the cluster and deletes it. Test support creates one database per test from a template.
# REGISTRY_PG_OPTIONS adds server settings (e.g. "-c shared_buffers=4GB" for benchmarks).
set -euo pipefail

bindir=${REGISTRY_PG_BINDIR:-/usr/lib/postgresql/15/bin}
dir=$(mktemp -d /tmp/registry-test-pg.XXXXXX)
as_server=()
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres: "$dir"
    as_server=(runuser -u postgres --)
fi

cleanup() {
    "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"${as_server[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
for attempt in 1 2 3 4 5 6; do
    port=$((20000 + RANDOM % 30000))
    if "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 ${REGISTRY_PG_OPTIONS:-}" \
        start >/dev/null; then
        break
    fi
    if [ "$attempt" = 6 ]; then
        echo "could not start the throwaway PostgreSQL; its log:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
done

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "throwaway PostgreSQL + PostGIS on 127.0.0.1:$port"
"$@"
