#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv that checks the Helm chart without a helm binary or
# a cluster (tests/interop/chart_check.py, run by tests/tests/chart.rs): helm-python-sdk, whose
# wheel embeds Helm's own Go SDK (v4.2.3) as a shared library, to lint and render the chart;
# kubernetes-validate, which bundles the Kubernetes OpenAPI schemas (1.25 to 1.37) to validate
# the rendered manifests offline; jsonschema for values.schema.json; PyYAML.
# The venv lives at ${REGISTRY_CHART_VENV:-$HOME/.cache/registry-chart-venv}, outside the clone
# so fresh clones reuse it, and apart from scripts/python-tools.sh's venv (the chart's pins must
# not move the interop clients' ones, nor the other way round). It takes about 400 MB: the helm
# wheel ships its 85 MB library three times (libhelm_c.so, .so.0, .so.0.2.2) and
# kubernetes-validate ships 108 MB of schemas. Idempotent, and quiet when every pinned package is
# already there. Needs only PyPI (and Debian's packages if python3 or its venv module is missing).
set -euo pipefail

venv=${REGISTRY_CHART_VENV:-$HOME/.cache/registry-chart-venv}

# Exact pins: the four packages the check imports, then everything pip resolved for them in a
# clean Python 3.11 venv (pip check is clean). helm-python-sdk has no Python dependencies.
pins=(
    helm-python-sdk==0.2.2
    kubernetes-validate==1.37.0
    jsonschema==4.26.0
    PyYAML==6.0.4
    # kubernetes-validate's and jsonschema's own dependencies.
    attrs==26.1.0
    importlib_resources==7.1.0
    jsonschema-specifications==2025.9.1
    packaging==26.3
    referencing==0.37.0
    rpds-py==2026.9.1
    typing_extensions==4.16.0
)

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "chart-tools: missing Debian packages $*; install them (as root) and try again" >&2
        exit 1
    fi
    echo "chart-tools: installing $* from Debian …"
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

# Exit 0 only when every pin is installed at exactly its version and the native Helm library
# loads (the wheel is platform-specific: a venv copied from another machine fails here).
check='
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = "not installed"
    if have != want:
        sys.exit(f"{name}: pinned {want}, found {have}")
import helm_python, jsonschema, referencing, yaml
from kubernetes_validate import utils
helm_python.helm_sdk_version()
'
if "$venv/bin/python" -c "$check" "${pins[@]}" >/dev/null 2>&1; then
    exit 0
fi

echo "chart-tools: installing ${#pins[@]} pinned packages (helm-python-sdk, kubernetes-validate, jsonschema, PyYAML and their dependencies) into $venv …"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "chart-tools: pip could not install the pinned packages (see above)" >&2
    exit 1
fi
if ! "$venv/bin/python" -m pip check --disable-pip-version-check >"$log" 2>&1; then
    cat "$log" >&2
    echo "chart-tools: the pinned packages installed but conflict (pip check, above)" >&2
    exit 1
fi
if ! "$venv/bin/python" -c "$check" "${pins[@]}"; then
    echo "chart-tools: the packages installed, but not every pin imports at its pinned version (see above)" >&2
    exit 1
fi
