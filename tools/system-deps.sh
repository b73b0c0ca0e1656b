#!/usr/bin/env bash
# Debian packages the app and its tests need beyond Python itself: the shared
# libraries Qt loads (even offscreen), pgrep for the tests, venv support,
# npm for the compose-file linter.
# Installs only what is missing; needs root (or sudo) only when something is.
set -euo pipefail

packages=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 procps)
if ! python3 -c "import ensurepip" 2>/dev/null; then
    packages+=(python3-venv)
fi
command -v npm >/dev/null || packages+=(npm)  # dclint, the compose-file linter

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
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
