#!/usr/bin/env bash
# make bench-search: the search load benchmark of BENCHMARKS.md.
#
# In a throwaway PostgreSQL + PostGIS cluster: migrates, generates the national dataset
# (REGISTRY_BENCH_FACILITIES, default 1,000,000, and REGISTRY_BENCH_ASSOCIATIONS, default
# 200,000), starts the release build of `registry serve` on a free loopback port, and runs
# `registry-bench load` against it (REGISTRY_BENCH_DURATION seconds per phase, default 10).
# Extra arguments go to `registry-bench load` (see `registry-bench load --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

# REGISTRY_BENCH_DATABASE_URL: reuse a database that already holds a generated dataset (no
# throwaway cluster, no generation), e.g. to compare changes on the same data.
if [ -z "${TEST_DATABASE_URL:-}" ] && [ -z "${REGISTRY_BENCH_DATABASE_URL:-}" ]; then
    # Memory for the 1M-facility dataset (about 5 GB on disk): the machine has 24 GiB.
    export REGISTRY_PG_OPTIONS="${REGISTRY_PG_OPTIONS:--c shared_buffers=4GB -c effective_cache_size=12GB -c maintenance_work_mem=1GB -c max_wal_size=8GB -c work_mem=16MB}"
    exec scripts/with-test-db.sh "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}
facilities=${REGISTRY_BENCH_FACILITIES:-1000000}
associations=${REGISTRY_BENCH_ASSOCIATIONS:-200000}
duration=${REGISTRY_BENCH_DURATION:-10}
if [ -n "${REGISTRY_BENCH_DATABASE_URL:-}" ]; then
    db_url=$REGISTRY_BENCH_DATABASE_URL
    echo "== dataset: the one in $db_url"
else
    db_url="${TEST_DATABASE_URL%/*}/registry"
    psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE registry" >/dev/null
    "$target/release/registry" migrate --database-url "$db_url" >/dev/null
    echo "== dataset: $facilities facilities, $associations associations"
    "$target/release/registry-bench" gen --database-url "$db_url" --facilities "$facilities" --associations "$associations" --seed 1
fi

port=$(free_port)
# Every benchmark request is anonymous from 127.0.0.1: lift the per-address limit above the load.
"$target/release/registry" serve --database-url "$db_url" --listen "127.0.0.1:$port" \
    --rate-anonymous 1000000 --max-concurrent-per-client 100000 --max-connections 16 >/tmp/registry-bench-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
wait_ready "$port" /tmp/registry-bench-serve.log

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "== load: registry-bench load --duration $duration $*"
"$target/release/registry-bench" load --url "http://127.0.0.1:$port" --database-url "$db_url" --duration "$duration" \
    --sql-connections 16 "$@"
