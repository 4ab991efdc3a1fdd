#!/usr/bin/env bash
# make demo: the registry with the demo dataset on its embedded database, and two reference
# booking vendors (each with its own embedded database) that take on the bookable units of six
# pilot municipalities, register in the registry's vendor directory and map their units there,
# so that a federated availability query returns real slots. Ctrl-C stops all three.
#
# Usage: scripts/demo.sh BIN_DIR LISTEN DATA_DIR
set -euo pipefail
bin=$1 listen=$2 data_dir=$3
run=$(mktemp -d /tmp/registry-demo.XXXXXX)
pids=()

stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$run"
}
trap stop INT TERM EXIT

# Waits until LOG has a line starting with PREFIX (or the process PID ends); prints the rest.
wait_for() {
    local log=$1 prefix=$2 pid=$3
    for _ in $(seq 1 1200); do
        if line=$(grep -m1 "^$prefix" "$log" 2>/dev/null); then
            echo "${line#"$prefix"}"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "it stopped before it was ready; see above" >&2
            return 1
        fi
        sleep 0.25
    done
    echo "not ready after 5 minutes" >&2
    return 1
}

"$bin/registry" demo --listen "$listen" --data-dir "$data_dir" --admin-key-file "$run/admin.key" > "$run/registry.out" &
pids+=($!)
registry_url=$(wait_for "$run/registry.out" "registry listening on " "${pids[0]}")

start_vendor() {
    local name=$1 municipalities=$2 dir=$3
    "$bin/reference-booking" demo --listen 127.0.0.1:0 --data-dir "$dir" --registry-url "$registry_url" \
        --registry-key-file "$run/admin.key" --municipalities "$municipalities" --name "$name" > "$run/$municipalities.out" &
    pids+=($!)
    wait_for "$run/$municipalities.out" "reference-booking listening on " "${pids[-1]}"
}
south=$(start_vendor "Referensbokning Syd" 1881,1280,1281 "$data_dir-booking-south")
east=$(start_vendor "Referensbokning Öst" 0180,0182,0126 "$data_dir-booking-east")

from=$(date -u -d 'tomorrow 15:00' +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d 'tomorrow 21:00' +%Y-%m-%dT%H:%M:%SZ)
cat <<EOT

The search page:     $registry_url/  (find, see free times and book, across municipal borders)
The registry:        $registry_url  (REST, gRPC and gRPC-Web on one port; /openapi.json)
Reference vendors:   $south (Kumla, Malmö, Lund)
                     $east (Stockholm, Nacka, Huddinge)

Free times tomorrow evening in and around Malmö, across municipal borders:
  curl '$registry_url/v1/availability?near=55.6,13.0&radiusM=30000&from=$from&to=$to'

Ctrl-C stops everything.
EOT
wait "${pids[0]}"
