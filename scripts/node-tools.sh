#!/usr/bin/env bash
# Installs the pinned npm packages that the interop tests run under Node.js:
# - opening_hours, the reference implementation of OSM opening_hours, which
#   tests/tests/hours_osm_conformance.rs runs as an oracle through tests/interop/opening_hours_oracle.js;
# - @openactive/rpde-validator, OpenActive's validator of RPDE (Realtime Paged Data Exchange) feeds,
#   which tests/interop/rpde_validate.js runs over a whole feed;
# - playwright-core and axe-core, with which tests/interop/web_browser.mjs drives Debian's
#   Chromium (installed here too, as root, if missing) through the resident search page and
#   checks it for accessibility violations;
# - oidc-provider (panva's certified OpenID Provider), on which tests/interop/oidc_provider.mjs
#   runs a loopback OpenID Provider playing a Swedish eID broker (test persons carry the
#   personal identity number claim) for the registry's sign-in tests and `make demo`.
# The packages live at ${REGISTRY_NODE:-$HOME/.cache/registry-node}/node_modules, outside the
# clone so fresh clones reuse them. Idempotent: quiet when every pinned version is already there,
# one line when it installs. Needs only the npm registry (and Debian's packages if node or npm
# is missing).
set -euo pipefail

dir=${REGISTRY_NODE:-$HOME/.cache/registry-node}
# name@version, one per pinned package.
pins=(
    opening_hours@3.15.0
    @openactive/rpde-validator@3.0.3571
    playwright-core@1.64.1
    axe-core@4.14.1
    oidc-provider@9.13.3
)

# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install node-tools nodejs npm
fi
# Debian's Chromium for the browser tests (playwright-core never downloads a browser here);
# `make demo` needs no browser and sets NODE_TOOLS_NO_BROWSER=1.
if [ "${NODE_TOOLS_NO_BROWSER:-0}" != 1 ] && [ ! -x /usr/bin/chromium ]; then
    apt_install node-tools chromium
fi

# The version of package $1 that is installed, if any (read from its package.json, not by loading it).
installed_version() {
    local manifest="$dir/node_modules/$1/package.json"
    [ -f "$manifest" ] || return 0
    node -e 'try { process.stdout.write(String(require(process.argv[1]).version || "")) } catch (e) {}' "$manifest" 2>/dev/null || true
}

# The pins whose package is missing or at another version. (A scoped name starts with "@", so
# the version is what follows the last "@".)
missing_pins() {
    local pin
    for pin in "${pins[@]}"; do
        if [ "$(installed_version "${pin%@*}")" != "${pin##*@}" ]; then
            echo "$pin"
        fi
    done
}

missing=$(missing_pins)
if [ -z "$missing" ]; then
    exit 0
fi

# Every pin goes to npm, not only the missing ones, so that installing one cannot move another.
echo "node-tools: installing $(echo $missing) into $dir …"
mkdir -p "$dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm install --prefix "$dir" --no-audit --no-fund --silent "${pins[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "node-tools: npm could not install ${pins[*]} (see above)" >&2
    exit 1
fi
missing=$(missing_pins)
if [ -n "$missing" ]; then
    echo "node-tools: npm finished, but $dir/node_modules does not hold $(echo $missing)" >&2
    exit 1
fi
