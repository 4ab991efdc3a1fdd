#!/usr/bin/env bash
# make bench-geodata: the geodata-sync benchmark of BENCHMARKS.md.
#
# In a throwaway PostgreSQL + PostGIS cluster: migrates, adds REGISTRY_BENCH_FACILITIES
# (default 100,000) facilities and writes their address points as GeoJSON, serves them with
# pygeoapi on a free loopback port (tests/interop/pygeoapi_serve.py, in the test virtualenv),
# then runs `registry-bench geodata`: the raw paging through the same features with no
# processing, and the sync twice, in the same run. Then the transform benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TEST_DATABASE_URL:-}" ]; then
    exec scripts/with-test-db.sh "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}
facilities=${REGISTRY_BENCH_FACILITIES:-100000}
venv=${REGISTRY_VENV:-$HOME/.cache/registry-venv}
work=$(mktemp -d)
db_url="${TEST_DATABASE_URL%/*}/registry"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE registry" >/dev/null
"$target/release/registry" migrate --database-url "$db_url" >/dev/null

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "== fixture: $facilities facilities"
"$target/release/registry-bench" geodata-fixture --database-url "$db_url" --facilities "$facilities" --out "$work"

"$venv/bin/python" tests/interop/pygeoapi_serve.py --port 0 --collection "adress=$work/adress.geojson" \
    >"$work/pygeoapi.out" 2>"$work/pygeoapi.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 600); do
    grep -q '^LISTENING ' "$work/pygeoapi.out" 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$work/pygeoapi.err" >&2; echo "pygeoapi did not start" >&2; exit 1; }
    sleep 0.2
done
url=$(sed -n 's/^LISTENING //p' "$work/pygeoapi.out")
echo "== pygeoapi $("$venv/bin/python" -c 'import pygeoapi; print(pygeoapi.__version__)') at $url"
echo "== registry-bench geodata --page-size ${REGISTRY_BENCH_PAGE_SIZE:-1000}"
"$target/release/registry-bench" geodata --database-url "$db_url" --url "$url" --page-size "${REGISTRY_BENCH_PAGE_SIZE:-1000}"
