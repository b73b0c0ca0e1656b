#!/usr/bin/env bash
# Debian packages the app and its tests need beyond Python itself: the shared
# libraries Qt loads (even offscreen), those its X11 (xcb) and Wayland
# platform plugins load on a desktop, venv support; with the argument `test`, also
# the PostgreSQL server the tests start a throwaway cluster of
# (tests/postgres_fixture.py), which the app itself never needs installed.
# (Node.js for the compose-file linter comes from PyPI, in the dev extra.)
# Installs only what is missing; needs root (or sudo) only when something is.
set -euo pipefail

packages=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
    libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0
    libwayland-client0 libwayland-cursor0 libwayland-egl1)
if [ "${1:-}" = "test" ]; then
    packages+=(postgresql)
fi
if ! "${PYTHON:-python3}" -c "import ensurepip" 2>/dev/null; then
    packages+=(python3-venv)
fi

installed() {  # Debian 13 and Ubuntu 24.04 renamed some libraries with a t64 suffix
    for name in "$1" "$1t64"; do
        dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" \
            && return 0
    done
    return 1
}
missing=()
for package in "${packages[@]}"; do
    installed "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "system-deps: not a Debian system; install the equivalents of: ${missing[*]}" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
        echo "system-deps: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
echo "system-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
