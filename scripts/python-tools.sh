#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv that the interop tests run their Python clients
# in: grpcio + grpcio-reflection for the gRPC client that integrates through server reflection
# only (tests/interop/grpc_reflection_client.py), grpcio-tools + grpcio-status for the example
# vendor.v1 server in Python (examples/python-vendor), schemathesis for REST fuzzing, and pygeoapi,
# a real OGC API - Features server (tests/interop/pygeoapi_serve.py, see PYGEOAPI.md there).
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
    # The example vendor (examples/python-vendor): its stubs compiled from vendor.proto, and
    # google.rpc error details.
    grpcio-tools==1.85.1
    grpcio-status==1.85.1
    googleapis-common-protos==1.76.0
    protobuf==7.36.2
    schemathesis==4.32.5
    # A real SMTP server on loopback for the notification tests (tests/interop/smtp_sink.py).
    aiosmtpd==1.4.6
    atpublic==9.0.0
    # pygeoapi 0.21.0 is the newest release that supports Python 3.11 (0.22 and later need
    # 3.12). Its own requirements are all unpinned, so everything it pulls in is pinned here
    # at the versions pip resolved next to the pins above (no conflict: pip check is clean
    # and nothing above changes version), except requests' own dependencies and
    # typing_extensions, which schemathesis already brings.
    pygeoapi==0.21.0
    affine==3.0.1
    annotated-types==0.8.0
    attrs==26.1.0
    babel==2.18.0
    blinker==1.9.0
    click==8.5.1
    click-plugins==1.1.1.2
    cligj==0.7.2
    dateparser==1.5.0
    filelock==4.2.12
    Flask==3.1.3
    itsdangerous==2.2.0
    Jinja2==3.1.6
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    lark==1.3.1
    MarkupSafe==3.0.4
    numpy==2.4.6
    pydantic==2.14.3
    pydantic-core==2.50.4
    pygeofilter==0.4.0
    pygeoif==1.6.0
    pyparsing==3.3.3
    pyproj==3.7.2
    python-dateutil==4.0.0
    pytz==2026.6
    PyYAML==6.0.3
    rasterio==1.4.4
    referencing==0.37.0
    regex==2026.11.15
    requests==2.34.2
    rpds-py==2026.9.1
    shapely==2.2.0
    SQLAlchemy==2.1.9
    tinydb==4.9.0
    typing-inspection==0.4.5
    tzdata==2026.6
    tzlocal==5.4.5
    Werkzeug==3.1.9
)

# shellcheck source=scripts/pinned-venv.sh
. "$(dirname "$0")/pinned-venv.sh"
# Imports that must work besides the versions.
imports='
import grpc, grpc_reflection, google.protobuf, schemathesis
import grpc_tools.protoc, grpc_status.rpc_status, google.rpc.error_details_pb2
import pygeoapi.provider.geojson, pygeoapi.openapi, flask, werkzeug.serving, pyproj, shapely
import aiosmtpd.controller
'
ensure_pinned_venv python-tools "$venv" "$imports" "grpcio, schemathesis, pygeoapi, aiosmtpd and their dependencies" "${pins[@]}"
