#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a Debian machine: PostgreSQL 15 with
# PostGIS 3 (from Debian's packages), and PROJ's cs2cs (proj-bin), the reference the
# coordinate transforms are tested against. Idempotent and quiet when everything is present.
set -euo pipefail

packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib util-linux proj-bin)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: ${missing[*]}; run this as root (or install them) and try again" >&2
        exit 1
    fi
    echo "installing ${missing[*]} (PostgreSQL 15 + PostGIS 3) …"
    # We run our own clusters; do not let the package create and start a system-wide one.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo was not found: install the Rust toolchain (https://rustup.rs) and try again" >&2
    exit 1
fi
