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

# shellcheck source=scripts/pinned-venv.sh
. "$(dirname "$0")/pinned-venv.sh"
# Imports that must work besides the versions (the helm wheel is platform-specific: a venv copied from another machine fails here).
imports='
import helm_python, jsonschema, referencing, yaml
from kubernetes_validate import utils
helm_python.helm_sdk_version()
'
ensure_pinned_venv chart-tools "$venv" "$imports" "helm-python-sdk, kubernetes-validate, jsonschema, PyYAML and their dependencies" "${pins[@]}"
