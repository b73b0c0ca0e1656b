#!/bin/sh
# Container entrypoint: fill in what supervisord.conf needs, then run the command.
#
# Every `mus` command (including `docker exec ... mus status`) reads the broker
# from MUS_REDIS_URL, so that is the one variable a user sets; the password the
# bundled broker is started with is taken from it.
set -eu

fail() {
    echo "mus: $*" >&2
    exit 2
}

[ -n "${MUS_REDIS_URL:-}" ] ||
    fail "set MUS_REDIS_URL, e.g. redis://:PASSWORD@127.0.0.1:6379/0 (see docs/server.md)"

if [ -z "${MUS_BROKER_PASSWORD+set}" ]; then
    MUS_BROKER_PASSWORD=$(python3 -c 'import os, urllib.parse as p
print(p.unquote(p.urlsplit(os.environ["MUS_REDIS_URL"]).password or ""))')
    export MUS_BROKER_PASSWORD
fi

case "${MUS_BROKER_AUTOSTART:-true}" in
true | yes | on | 1)
    case "$MUS_BROKER_PASSWORD" in
    "") fail "the broker needs a password: MUS_REDIS_URL=redis://:PASSWORD@127.0.0.1:6379/0" ;;
    *[!A-Za-z0-9._~-]*) fail "use only letters, digits and . _ ~ - in the broker password" ;;
    esac
    mkdir -p "$MUS_BROKER_DIR"
    ;;
esac

: "${MUS_STOP_WAIT_SECS:=$((${MUS_JOB_TIMEOUT:-600} + 60))}"
export MUS_STOP_WAIT_SECS
mkdir -p "$MUS_RUN_DIR"

exec "$@"
