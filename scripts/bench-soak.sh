#!/usr/bin/env bash
# make bench-soak: the soak benchmark of BENCHMARKS.md (issue 25).
#
# In a throwaway PostgreSQL + PostGIS cluster: migrates, generates a national dataset
# (SOAK_FACILITIES facilities, default 100,000; SOAK_ASSOCIATIONS associations, default 20,000),
# starts the release build of `registry serve` on a free loopback port, and the release build
# of `reference-booking demo` with a database of its own in the same cluster: it takes on the
# bookable units of SOAK_MUNICIPALITIES (default 1880,1881: Örebro and Kumla), registers in the
# registry's vendor directory (passing the conformance run) and maps the units there. Then
# `registry-bench soak` drives SOAK_RATE requests/s (default 50) for SOAK_MINUTES minutes
# (default 30) with a municipality editor's key of the first municipality, samples both
# processes, and fails on growth or unexpected errors. Everything is stopped and deleted
# afterwards. Extra arguments go to `registry-bench soak` (see `registry-bench soak --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    exec scripts/with-test-db.sh "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}
facilities=${SOAK_FACILITIES:-100000}
associations=${SOAK_ASSOCIATIONS:-20000}
municipalities=${SOAK_MUNICIPALITIES:-1880,1881}
minutes=${SOAK_MINUTES:-30}
rate=${SOAK_RATE:-50}
editor_municipality=${municipalities%%,*}
run=$(mktemp -d /tmp/registry-bench-soak.XXXXXX)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$run"
}
trap stop EXIT

db_url="${TEST_DATABASE_URL%/*}/registry"
vendor_db_url="${TEST_DATABASE_URL%/*}/reference_booking"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE registry" -c "CREATE DATABASE reference_booking" >/dev/null
"$target/release/registry" migrate --database-url "$db_url" >/dev/null
echo "== dataset: $facilities facilities, $associations associations"
"$target/release/registry-bench" gen --database-url "$db_url" --facilities "$facilities" --associations "$associations" --seed 1
psql "$db_url" -qc "VACUUM ANALYZE" >/dev/null
key() {
    "$target/release/registry" keys create --database-url "$db_url" --label bench-soak "$@" 2>/dev/null | grep -o 'rk_[A-Za-z0-9_]*' | head -1
}
(umask 077 && key --role admin >"$run/admin.key")
REGISTRY_BENCH_EDITOR_KEY=$(key --role editor --municipality "$editor_municipality")
export REGISTRY_BENCH_EDITOR_KEY

port=$(free_port)
# Every anonymous request comes from 127.0.0.1, the writes from one editor key, the bookings from
# 200 signed-in residents (sessions the bench makes in the database), and the vendor's
# set-up (one request per unit) and its readings of opening hours from one admin key: lift the
# per-address and per-key limits above the load.
"$target/release/registry" serve --database-url "$db_url" --listen "127.0.0.1:$port" \
    --rate-anonymous 1000000 --rate-editor 1000000 --rate-admin 1000000 --rate-resident 1000000 --max-concurrent-per-client 100000 \
    --max-connections 16 >"$run/registry.log" 2>&1 &
server=$!
pids+=("$server")
wait_ready "$port" "$run/registry.log"

echo "== vendor: reference-booking demo for $municipalities"
"$target/release/reference-booking" demo --database-url "$vendor_db_url" --listen 127.0.0.1:0 \
    --registry-url "http://127.0.0.1:$port" --registry-key-file "$run/admin.key" \
    --municipalities "$municipalities" --name "Soak vendor" >"$run/vendor.out" 2>"$run/vendor.log" &
vendor=$!
pids+=("$vendor")
# Ready once it has registered and mapped its units (one request per unit), then listens.
for _ in $(seq 1 1200); do
    grep -q '^reference-booking listening on ' "$run/vendor.out" && break
    if ! kill -0 "$vendor" 2>/dev/null; then
        echo "the vendor stopped before it was ready:" >&2
        cat "$run/vendor.log" >&2
        exit 1
    fi
    sleep 0.25
done
grep -q '^reference-booking listening on ' "$run/vendor.out" || { echo "the vendor was not ready after 5 minutes" >&2; exit 1; }
grep '^demo:' "$run/vendor.log" || true

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "== load before: $(uptime)"
echo "== soak: registry-bench soak --rate $rate --minutes $minutes $*"
status=0
"$target/release/registry-bench" soak --url "http://127.0.0.1:$port" --database-url "$db_url" \
    --server-pid "$server" --vendor-pid "$vendor" --municipality "$editor_municipality" \
    --rate "$rate" --minutes "$minutes" "$@" || status=$?
echo "== load after: $(uptime)"
if [ "$status" != 0 ]; then
    echo "== the last lines of the registry's and the vendor's logs:"
    tail -n 20 "$run/registry.log" "$run/vendor.log"
fi
exit "$status"
