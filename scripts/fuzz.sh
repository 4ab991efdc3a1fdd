#!/usr/bin/env bash
# make fuzz: the cargo-fuzz targets of fuzz/ (the parsers that read outside text), each for a
# bounded time, then a summary per target: seconds, executions, executions per second and
# crashes. Not part of make test.
#
#   FUZZ_SECONDS=60        seconds per target (libFuzzer -max_total_time)
#   FUZZ_TARGETS="a b"     only these targets (default: every target in fuzz/Cargo.toml)
#   FUZZ_SANITIZER=none    none or address. Our crates forbid unsafe code, so AddressSanitizer
#                          would only watch the dependencies' unsafe code, at half the speed
#   FUZZ_TIMEOUT=10        seconds one input may take before it counts as a hang
#   FUZZ_CMIN=1            minimise each target's corpus after its run (as cargo fuzz cmin does)
#   FUZZ_TARGET_DIR        build directory (default ~/.cache/fuzz-target: the targets build with
#                          other flags than the workspace, so they do not share its directory)
#
# Each target reads fuzz/seeds/<target>/ (hand-written, realistic inputs) and fuzz/corpus/<target>/
# (committed, minimised; new inputs that reach new code are added there). A crash, panic, hang or
# out-of-memory leaves its input in fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run --fuzz-dir fuzz -s none <target> fuzz/artifacts/<target>/<file>
# (cargo fuzz fmt prints it as the target reads it).
# and make it a unit test beside the parser (see the README on make fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-none}
timeout=${FUZZ_TIMEOUT:-10}
cmin=${FUZZ_CMIN:-1}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/fuzz-target}
export CARGO_TERM_COLOR=never

# Tools: a nightly toolchain (libFuzzer's instrumentation needs it) and cargo-fuzz.
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
fuzz=(cargo +nightly fuzz)

# Build every target once, then run the binaries themselves: `cargo fuzz run` would build again
# (and count the build in the target's time) whenever a source file changed in between.
targets=${FUZZ_TARGETS:-$("${fuzz[@]}" list --fuzz-dir fuzz)}
"${fuzz[@]}" build --fuzz-dir fuzz -s "$sanitizer"
bin="$CARGO_TARGET_DIR/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -1; }

summary=()
failed=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
    log=$(mktemp)
    marker=$(mktemp)
    echo "fuzz: $t for ${seconds} s"
    start=$(date +%s)
    status=0
    "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1 \
        "fuzz/corpus/$t" "fuzz/seeds/$t" 2>"$log" || status=$?
    elapsed=$(($(date +%s) - start))
    runs=$(stat number_of_executed_units "$log")
    rate=$(stat average_exec_per_sec "$log")
    found=$(find "fuzz/artifacts/$t" -type f -newer "$marker" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        echo "fuzz: $t FAILED (exit $status):"
        grep -v '^#[0-9]' "$log" | grep -E -m1 -A12 'panicked at|ERROR: libFuzzer|==[0-9]+==ERROR|^error' | cut -c1-400 \
            || grep -v '^#[0-9]' "$log" | tail -20
        find "fuzz/artifacts/$t" -type f -newer "$marker" | sed 's/^/fuzz:   input: /'
    fi
    rm -f "$log" "$marker"
    if [ "$cmin" = 1 ] && [ "$status" -eq 0 ]; then
        # As cargo fuzz cmin, but by edges reached only (-use_counters=0), not also by how often:
        # the smallest set of inputs that reaches the same code, a quarter of the size.
        min=$(mktemp -d)
        if "$bin/$t" -merge=1 -use_counters=0 -timeout="$timeout" "$min" "fuzz/corpus/$t" >/dev/null 2>&1; then
            rm -rf "fuzz/corpus/$t" && mv "$min" "fuzz/corpus/$t"
        else
            echo "fuzz: minimising the corpus of $t failed; it is left as it was"
            rm -rf "$min"
        fi
    fi
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    summary+=("$(printf '%-15s %8s %14s %10s %8s %8s' "$t" "$elapsed" "${runs:-?}" "${rate:-?}" "$found" "$corpus")")
done

echo
printf '%-15s %8s %14s %10s %8s %8s\n' target seconds executions exec/s crashes corpus
printf '%s\n' "${summary[@]}"
echo "corpus: $(du -sh --apparent-size fuzz/corpus | cut -f1) in $(find fuzz/corpus -type f | wc -l) files"
exit "$failed"
