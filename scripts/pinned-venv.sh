# Shared by scripts/python-tools.sh and scripts/chart-tools.sh (sourced): makes a Python
# virtualenv hold exactly a list of pinned packages. Idempotent, and quiet when every pin is
# already there; one line when it installs. Needs only PyPI (and Debian's packages if python3
# or its venv module is missing).
#
#   ensure_pinned_venv TOOL VENV IMPORTS WHAT PIN...
#
# TOOL prefixes messages; IMPORTS is Python run after the version check (imports that must
# work, e.g. a native library loading); WHAT names the packages in the install message.

# shellcheck source=scripts/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"

ensure_pinned_venv() {
    local tool=$1 venv=$2 imports=$3 what=$4
    shift 4
    if ! command -v python3 >/dev/null 2>&1; then
        apt_install "$tool" python3 python3-venv
    fi
    # A venv whose interpreter no longer runs (its base Python was removed or upgraded) is rebuilt.
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        mkdir -p "$(dirname "$venv")"
        # Without python3-venv, Debian's python3 fails here (no ensurepip) and leaves a
        # half-made venv behind; --clear on the retry starts over.
        if ! python3 -m venv --clear "$venv" >/dev/null 2>&1; then
            apt_install "$tool" python3-venv
            python3 -m venv --clear "$venv"
        fi
    fi
    # Exit 0 only when every pin is installed at exactly its version and IMPORTS work.
    local check='
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
'"$imports"
    if "$venv/bin/python" -c "$check" "$@" >/dev/null 2>&1; then
        return 0
    fi
    echo "$tool: installing $# pinned packages ($what) into $venv …"
    local log
    log=$(mktemp)
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "$tool: pip could not install the pinned packages (see above)" >&2
        exit 1
    fi
    # Packages sharing a venv must agree: fail loudly if a pin bump ever makes them conflict.
    if ! "$venv/bin/python" -m pip check --disable-pip-version-check >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "$tool: the pinned packages installed but conflict (pip check, above)" >&2
        exit 1
    fi
    rm -f "$log"
    if ! "$venv/bin/python" -c "$check" "$@"; then
        echo "$tool: the packages installed, but not every pin imports at its pinned version (see above)" >&2
        exit 1
    fi
}
