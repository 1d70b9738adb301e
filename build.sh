#!/bin/sh
# plumb's one-step set-up for a fresh Debian 12 machine.
#
#   ./build.sh demo   install what is missing, build, run the demo
#   ./build.sh test   install what is missing, build, run the whole test suite
#
# Installs Debian packages with apt (through sudo when not root) and, only
# if moto_server is absent, moto[server] with pip.  Builds into ./build.
set -eu

cd "$(dirname "$0")"

APT_PACKAGES="build-essential pkg-config meson ninja-build scdoc curl openssl jq
 libuv1-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev sqlite3 libjansson-dev
 libsystemd-dev libxml2-dev libinih-dev check python3 python3-pip python3-aiosmtpd
 awscli systemd tzdata ca-certificates"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else say "need root to run: $*"; exit 1; fi
}

install_packages() {
    missing=""
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # shellcheck disable=SC2086
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
    if ! command -v moto_server >/dev/null; then
        say "moto_server not found: installing moto[server] with pip"
        python3 -m pip install --quiet 'moto[server]>=5,<6' boto3 ||
            as_root python3 -m pip install --quiet --break-system-packages 'moto[server]>=5,<6' boto3
    fi
}

build() {
    if [ ! -f build/build.ninja ]; then
        say "configuring (meson setup build)"
        meson setup build >/dev/null
    fi
    say "building"
    ninja -C build >/dev/null
}

case "${1:-}" in
demo)
    install_packages
    build
    exec ./build/daemon/plumb demo
    ;;
test)
    install_packages
    build
    say "running the test suite"
    exec meson test -C build --print-errorlogs --num-processes "$(nproc)"
    ;;
*)
    echo "usage: ./build.sh demo | test" >&2
    exit 2
    ;;
esac
