#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv that runs the CP-SAT oracle for the seasonal-allocation
# optimiser (tests/interop/allocation_cpsat.py): Google OR-Tools' CP-SAT solver solves the same
# allocation model as the Rust allocator, or checks a solution against it, so the tests and the
# benchmark can compare the two on one instance.
# The venv lives at ${REGISTRY_ORTOOLS_VENV:-$HOME/.cache/registry-ortools-venv}, outside the clone
# so fresh clones reuse it, and apart from scripts/python-tools.sh's venv: ortools 9.15 wants
# protobuf >=6.33.1,<6.34, the interop clients' grpcio-reflection wants protobuf 7. It takes about
# 270 MB (ortools' wheel bundles its native solvers; numpy and pandas come with it). Idempotent, and
# quiet when every pinned package is already there. Needs only PyPI (and Debian's packages if
# python3 or its venv module is missing).
set -euo pipefail

venv=${REGISTRY_ORTOOLS_VENV:-$HOME/.cache/registry-ortools-venv}

# Exact pins: ortools (a binary wheel with the native solver inside), then everything pip
# resolved for it in a clean Python 3.11 venv (pip check is clean). ortools requires pandas and
# numpy although the CP-SAT oracle uses neither.
pins=(
    ortools==9.15.6755
    # ortools' own dependencies (protobuf: ortools asks for >=6.33.1,<6.34).
    absl-py==2.5.1
    immutabledict==4.3.1
    numpy==2.4.6
    pandas==3.1.1
    protobuf==6.33.6
    typing_extensions==4.16.0
    # pandas' dependencies.
    python-dateutil==4.0.0
    tzdata==2026.6
)

# shellcheck source=scripts/pinned-venv.sh
. "$(dirname "$0")/pinned-venv.sh"
# Imports that must work besides the versions (the wheel is platform-specific: a venv copied from
# another machine fails here, as it does if the native library cannot load).
imports='
from ortools.sat.python import cp_model
cp_model.CpModel().new_bool_var("x")
'
ensure_pinned_venv ortools-tools "$venv" "$imports" "ortools and its dependencies" "${pins[@]}"
