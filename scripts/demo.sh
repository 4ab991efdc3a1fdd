#!/usr/bin/env bash
# make demo: the registry with the demo dataset on its embedded database, and two reference
# booking vendors (each with its own embedded database) that take on the bookable units of six
# pilot municipalities, register in the registry's vendor directory and map their units there,
# so that a federated availability query returns real slots; and a local test eID provider to
# sign in with. Ctrl-C stops them all.
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

# A local test eID provider (panva's oidc-provider playing a Swedish eID broker,
# tests/interop/oidc_provider.mjs) with three test persons; the registry is its client.
base="http://$listen"
node_prefix=${REGISTRY_NODE:-$HOME/.cache/registry-node}
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/oidc-secret"
oidc_config=$(cat <<EOC
{"port": 0, "keysFile": "$run/oidc-keys.json", "resource": "$base",
 "clients": [{"client_id": "registry", "client_secret": "$(cat "$run/oidc-secret")",
              "redirect_uris": ["$base/auth/callback"], "post_logout_redirect_uris": ["$base/"]}],
 "persons": [
   {"sub": "anna", "personalIdentityNumber": "198112289874", "given_name": "Anna", "family_name": "Andersson"},
   {"sub": "sara", "personalIdentityNumber": "198503152384", "given_name": "Sara", "family_name": "Lind"},
   {"sub": "erik", "personalIdentityNumber": "197702281937", "given_name": "Erik", "family_name": "Ek"}
 ]}
EOC
)
NODE_PREFIX="$node_prefix" OIDC_CONFIG="$oidc_config" node tests/interop/oidc_provider.mjs > "$run/oidc.out" 2> "$run/oidc.log" &
pids+=($!)
issuer=$(wait_for "$run/oidc.out" '{"issuer":"' "${pids[-1]}")
issuer=${issuer%%\"*}

"$bin/registry" demo --listen "$listen" --data-dir "$data_dir" --admin-key-file "$run/admin.key" \
    --public-url "$base" --oidc-audience "$base" \
    --oidc-provider "name=demo-eid,display-name=Test eID (demo),issuer=$issuer,client-id=registry,client-secret-file=$run/oidc-secret" \
    > "$run/registry.out" &
pids+=($!)
registry_url=$(wait_for "$run/registry.out" "registry listening on " "${pids[-1]}")

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

Sign in with the test eID provider ($issuer; any password), in a browser:
  $registry_url/auth/login?provider=demo-eid&returnTo=/v1/me
  as "anna" (Anna Andersson, a resident who represents Malmö Innebandyklubb), or "sara"
  (Sara Lind, staff of Malmö: she may edit Malmö's facilities and decide its registrations),
  or "erik" (Erik Ek, a resident). /v1/me then shows who you are and your session's CSRF
  token (docs/sign-in.md).

Associations (docs/associations.md), signed in:
  $registry_url/associations        Mina föreningar: anna registers an association, answers
                                    the municipality, reports member statistics per year,
                                    adds erik as representative (197702281937)
  $registry_url/staff               sara's inbox of Malmö's pending registrations
  $registry_url/v1/me/associations  the associations you represent (JSON)
  $registry_url/v1/municipalities/1280/registrations   Malmö's inbox (JSON, as sara)

Bookings (docs/api.md, "My bookings"), signed in (booking needs signing in now):
  $registry_url/                    book a free time; anna may book as Malmö Innebandyklubb
                                    (a booking request the vendor's case officer decides)
  $registry_url/bookings            Mina bokningar: your bookings and your associations',
                                    across every booking system: cancel, rebook, answer a
                                    completion request, .ics per booking, a calendar feed
  $registry_url/v1/me/bookings      the same as JSON, with each booking system's status
  Decide anna's request at the vendor ($south, REST with a case officer's key:
  reference-booking keys create --role case_officer --database-url … ; docs/reference-booking.md):
  the registry reads the vendor's change feed and tells anna (notices wait in the outbox
  unless --smtp-url is given; docs/notifications.md).

Seasonal allocation of training times (säsongsfördelning, docs/allocation.md): Malmö's round for
next season, applications from its associations, a preliminary allocation published:
  curl '$registry_url/v1/allocation/rounds?municipalityCode=1280'  the round and its principles
  curl '$registry_url/v1/allocation/rounds/ROUND/allocation'        every session placed (open data)
  curl '$registry_url/v1/allocation/rounds/ROUND/allocation.csv'    the same as CSV
  Signed in as anna: GET /v1/allocation/runs/RUN (the round's publishedRun) shows Malmö
  Innebandyklubb's decisions and why each better alternative was not given; POST
  /v1/allocation/applications/ID/comments comments on them. As sara (staff of Malmö):
  POST /v1/allocation/rounds/ROUND/runs {"weights": {"underrepresented_gender": 2}} for a
  what-if, POST /v1/allocation/runs/RUN/edits to move a session (with a reason), then
  /publish and /finalise with {"runId": …}. Each run asks the units' booking systems what they
  have booked and keeps it free: see the run's vendorChecks.
  Match times (matchtider), once final: as anna, POST /v1/allocation/applications/ID/matches
  {"durationMinutes": 120, "alternatives": [{"date": …, "earliestStart": "10:00",
  "latestEnd": "16:00", "units": [UNIT]}]}; as sara, POST /v1/allocation/rounds/ROUND/match-runs
  then …/matches/decide {"runId": …}: the matches are booked at the vendors and published.

Grants (föreningsbidrag, docs/grants.md): Malmö's activity grant, basic grant and project grant,
open for applications:
  curl '$registry_url/v1/grants/programmes?municipalityCode=1280'   the programmes, rules and budgets
  curl '$registry_url/v1/grants/decisions?municipalityCode=1280'    decided grants (open data; .csv too)
  Signed in as anna: POST /v1/grants/programmes/PROGRAMME/applications {"associationId": …,
  "payee": {"kind": "bankgiro", "number": "5050-1055"}}, then POST …/applications/ID/
  attendance-lists?fileName=list.csv with a CSV (docs/grants-attendance.md) and …/submit.
  As sara: …/decision {"outcome": "approved", "amountMinor": …, "authority": "delegation",
  "reference": "Delegationsordning 4.2"}, POST /v1/grants/payment-orders, attested by a
  second signed-in member of staff, then GET /v1/grants/payment-orders/ID/file (pain.001).

Ctrl-C stops everything.
EOT
wait "${pids[1]}"
