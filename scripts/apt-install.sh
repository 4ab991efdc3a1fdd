# Shared by the tool scripts (sourced): installs Debian packages that are missing, as root, or
# says which to install and stops.
#
# apt_install TOOL PACKAGE…   (TOOL prefixes the messages)
apt_install() {
    local tool=$1
    shift
    if [ "$(id -u)" != 0 ]; then
        echo "$tool: missing Debian packages $*; install them (as root) and try again" >&2
        exit 1
    fi
    echo "$tool: installing $* from Debian …"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
