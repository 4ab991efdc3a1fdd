#!/usr/bin/env bash
# make bench-export: the export benchmark of BENCHMARKS.md.
#
# In a throwaway PostgreSQL + PostGIS cluster, for 100,000 and then 1,000,000 associations
# (REGISTRY_BENCH_EXPORT_SIZES): generates the dataset, starts the release build of
# `registry serve` on a free loopback port, and runs `registry-bench export` against it: NDJSON
# and CSV exports to a local client, first the public one (approved associations, public
# fields), then a national body's (every association, with member statistics), each against
# psql's COPY of the same rows in the same run, with the server's peak resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    export REGISTRY_PG_OPTIONS="${REGISTRY_PG_OPTIONS:--c shared_buffers=2GB -c maintenance_work_mem=1GB -c max_wal_size=8GB}"
    exec scripts/with-test-db.sh "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}
sizes=${REGISTRY_BENCH_EXPORT_SIZES:-100000 1000000}
db_url="${TEST_DATABASE_URL%/*}/registry"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE registry" >/dev/null
"$target/release/registry" migrate --database-url "$db_url" >/dev/null
# A national body's key, for its export (every registration status, member statistics).
key=$("$target/release/registry" keys create --database-url "$db_url" --role national_body --label bench-export | grep -o 'rk_[A-Za-z0-9_]*' | head -1)

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
for n in $sizes; do
    echo "== dataset: $n associations (registry-bench gen --associations $n --seed 1)"
    "$target/release/registry-bench" gen --database-url "$db_url" --facilities 1000 --associations "$n" --seed 1 --replace >/dev/null
    psql "$db_url" -qc "VACUUM ANALYZE associations" >/dev/null
    port=$(free_port)
    "$target/release/registry" serve --database-url "$db_url" --listen "127.0.0.1:$port" \
        --rate-anonymous 1000000 --max-concurrent-per-client 100000 --max-connections 4 >/tmp/registry-bench-export.log 2>&1 &
    server=$!
    trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
    wait_ready "$port" /tmp/registry-bench-export.log
    "$target/release/registry-bench" export --url "http://127.0.0.1:$port" --database-url "$db_url" --server-pid "$server" "$@"
    "$target/release/registry-bench" export --url "http://127.0.0.1:$port" --database-url "$db_url" --server-pid "$server" \
        --api-key "$key" "$@"
    kill $server
    wait $server 2>/dev/null || true
done
