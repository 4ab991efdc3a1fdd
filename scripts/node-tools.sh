#!/usr/bin/env bash
# Installs the Node.js reference implementation of OSM opening_hours (the npm package
# opening_hours, pinned) that tests/tests/hours_osm_conformance.rs runs as an oracle through
# tests/interop/opening_hours_oracle.js.
# The package lives at ${REGISTRY_NODE:-$HOME/.cache/registry-node}/node_modules, outside the
# clone so fresh clones reuse it. Idempotent: quiet when the pinned version is already there,
# one line when it installs. Needs only the npm registry (and Debian's packages if node or npm
# is missing).
set -euo pipefail

dir=${REGISTRY_NODE:-$HOME/.cache/registry-node}
pkg=opening_hours
version=3.15.0

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "node-tools: node and npm are missing; install Debian's packages $* (as root) and try again" >&2
        exit 1
    fi
    echo "node-tools: node or npm is missing; installing Debian's $* (the oracle needs Node.js and npm) …"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi

# The version that is installed, if any (read from its package.json, not by loading it).
installed_version() {
    local manifest="$dir/node_modules/$pkg/package.json"
    [ -f "$manifest" ] || return 0
    node -e 'try { process.stdout.write(String(require(process.argv[1]).version || "")) } catch (e) {}' "$manifest" 2>/dev/null || true
}

if [ "$(installed_version)" = "$version" ]; then
    exit 0
fi

echo "node-tools: installing $pkg@$version into $dir …"
mkdir -p "$dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm install --prefix "$dir" --no-audit --no-fund --silent "$pkg@$version" >"$log" 2>&1; then
    cat "$log" >&2
    echo "node-tools: npm could not install $pkg@$version (see above)" >&2
    exit 1
fi
if [ "$(installed_version)" != "$version" ]; then
    echo "node-tools: npm finished, but $dir/node_modules/$pkg is not at version $version" >&2
    exit 1
fi
