#!/usr/bin/env bash
# make bench-changelog: what ordering change-log appends by commit costs concurrent writers.
#
# In a throwaway cluster with durable commits (fsync, synchronous_commit and full page writes
# on, as in production), pgbench runs a write shaped like the registry's (update one row, then
# append its change-log entry, commit) with 1, 8 and 32 clients, with and without the
# transaction-scoped advisory lock that changelog::append takes, three rounds each.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    export REGISTRY_PG_OPTIONS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    exec scripts/with-test-db.sh "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
duration=${REGISTRY_BENCH_DURATION:-10}
db_url="${TEST_DATABASE_URL%/*}/registry"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE registry" >/dev/null
"$target/release/registry" migrate --database-url "$db_url" >/dev/null
psql "$db_url" -qc "CREATE TABLE w (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0); INSERT INTO w SELECT g FROM generate_series(1, 100000) g"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The lock key is changelog::APPEND_LOCK.
for variant in unordered ordered; do
    {
        echo '\set id random(1, 100000)'
        echo 'BEGIN;'
        echo 'UPDATE w SET v = v + 1 WHERE id = :id;'
        [ "$variant" = ordered ] && echo 'SELECT pg_advisory_xact_lock(7163088922755923969);'
        echo "INSERT INTO change_log (entity, entity_id, operation, actor, before, after) VALUES ('facility', gen_random_uuid(), 'update', 'bench', '{\"name\": \"a\"}', '{\"name\": \"b\"}');"
        echo 'COMMIT;'
    } >"$work/$variant.sql"
done

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB; durable commits; ${duration} s per run"
echo "| round | clients | without the lock: tps | with the lock: tps | with / without |"
echo "|---|---|---|---|---|"
for round in 1 2 3; do
    for clients in 1 8 32; do
        tps() { "$bindir/pgbench" -n -c "$clients" -j 2 -T "$duration" -f "$work/$1.sql" "$db_url" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
        a=$(tps unordered)
        b=$(tps ordered)
        echo "| $round | $clients | ${a%.*} | ${b%.*} | $(python3 -c "print(f'{$b / $a:.2f}')") |"
    done
done
