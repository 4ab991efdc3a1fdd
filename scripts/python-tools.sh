#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv that the interop tests run their Python clients
# in: grpcio + grpcio-reflection for the gRPC client that integrates through server reflection
# only (tests/interop/grpc_reflection_client.py), and schemathesis for REST fuzzing.
# The venv lives at ${REGISTRY_VENV:-$HOME/.cache/registry-venv}, outside the clone so fresh
# clones reuse it. Idempotent, and quiet when every pinned package is already there.
# Needs only PyPI (and Debian's packages if python3 or its venv module is missing).
set -euo pipefail

venv=${REGISTRY_VENV:-$HOME/.cache/registry-venv}

# Exact pins, so every machine runs the same client stack. protobuf is the version pip
# resolves for grpcio-reflection 1.85.1 (which asks for protobuf >=7.35.1,<8).
pins=(
    grpcio==1.85.1
    grpcio-reflection==1.85.1
    protobuf==7.36.2
    schemathesis==4.32.5
)

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "python-tools: missing Debian packages $*; install them (as root) and try again" >&2
        exit 1
    fi
    echo "python-tools: installing $* from Debian …"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3-venv
fi

# A venv whose interpreter no longer runs (its base Python was removed or upgraded) is rebuilt.
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    mkdir -p "$(dirname "$venv")"
    # Without python3-venv, Debian's python3 fails here (no ensurepip) and leaves a half-made
    # venv behind; --clear on the retry starts over.
    if ! python3 -m venv --clear "$venv" >/dev/null 2>&1; then
        apt_install python3-venv
        python3 -m venv --clear "$venv"
    fi
fi

# Exit 0 only when every pin is installed at exactly its version.
check='
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
import grpc, grpc_reflection, google.protobuf, schemathesis
'
if "$venv/bin/python" -c "$check" "${pins[@]}" >/dev/null 2>&1; then
    exit 0
fi

echo "python-tools: installing ${pins[*]} into $venv …"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "python-tools: pip could not install the pinned packages (see above)" >&2
    exit 1
fi
if ! "$venv/bin/python" -c "$check" "${pins[@]}"; then
    echo "python-tools: the packages installed, but ${pins[*]} do not all import at their pinned versions" >&2
    exit 1
fi
