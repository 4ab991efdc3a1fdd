#!/usr/bin/env bash
# make test-dates: runs the date-sensitive tests once for each awkward "today" that the
# `test-dates` program prints (the days before and on midsommarafton, julafton, nyårsafton and
# påsk, both DST nights, 29 February, New Year's Eve at 23:30; each at its next occurrence).
# Each run sets REGISTRY_TEST_NOW, which the test support's clock starts at
# (tests/src/dates.rs), so the registry, the reference booking backend and the tests' own
# expectations all take that instant as "now". Needs TEST_DATABASE_URL
# (scripts/with-test-db.sh) and cargo-nextest.
#
# The date-sensitive tests: those whose behaviour depends on today (booking rules with lead
# times, horizons and holidays; bookable time on DST nights; series over a season; bookings
# through the registry; materialised opening hours; search by open-at). A new test that
# depends on today belongs in this filter.
set -euo pipefail
cd "$(dirname "$0")/.."

filter='(binary(reference_booking) & (test(booking_rules) | test(bookable_time) | test(recurring_series) | test(every_flow) | test(approval_race)))
  | binary(bookings) | binary(hours) | (binary(search) & test(brute_force)) | (package(tests) & kind(lib))'

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test-dates needs cargo-nextest (cargo install cargo-nextest --locked)" >&2
    exit 1
fi
instants=$("${CARGO_TARGET_DIR:-target}/debug/test-dates")
count=$(wc -l <<<"$instants")
failed=()
while read -r at label; do
    echo "== test-dates: today is $at ($label)"
    if ! REGISTRY_TEST_NOW="$at" cargo nextest run --workspace --no-fail-fast --hide-progress-bar \
        --status-level fail --final-status-level fail -E "$filter"; then
        failed+=("$at ($label)")
    fi
done <<<"$instants"
if [ ${#failed[@]} -gt 0 ]; then
    echo "test-dates: the date-sensitive tests failed on ${#failed[@]} of $count days:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "test-dates: the date-sensitive tests held on all $count days"
