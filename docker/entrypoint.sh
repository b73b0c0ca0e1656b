#!/bin/sh
# Container entrypoint: fill in what supervisord.conf needs, then run the command.
#
# Every `mus` command (including `docker exec ... mus status`) reads the broker
# from MUS_REDIS_URL, so that is the one variable a user sets; the password the
# bundled broker is started with is taken from it. supervisord.conf hands the
# password, threads and memory cap to the broker as DFLY_* environment
# variables, not on its command line.
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

MIB=1048576

# The container's memory limit in bytes (cgroup v2 memory.max, else v1's
# memory.limit_in_bytes); nothing when there is none.
memory_limit() {
    cgroup=${MUS_CGROUP_DIR:-/sys/fs/cgroup}
    for file in "$cgroup/memory.max" "$cgroup/memory/memory.limit_in_bytes"; do
        [ -r "$file" ] || continue
        limit=$(cat "$file" 2>/dev/null) || return 0
        case "$limit" in
        "" | *[!0-9]*) return 0 ;; # "max": no limit
        esac
        # cgroup v1 says "no limit" with a number near 2^63.
        if [ "${#limit}" -lt 19 ]; then
            echo "$limit"
        fi
        return 0
    done
}

# "N", "NK", "NM" or "NG" (binary units, as Dragonfly reads them) in bytes.
to_bytes() {
    case "$1" in
    *[kK]) unit=1024 number=${1%?} ;;
    *[mM]) unit=$MIB number=${1%?} ;;
    *[gG]) unit=$((1024 * MIB)) number=${1%?} ;;
    *) unit=1 number=$1 ;;
    esac
    case "$number" in
    "" | *[!0-9]* | 0?*) return 1 ;; # (a leading 0 would make it octal)
    esac
    echo $((number * unit))
}

# Dragonfly's own defaults are a thread per CPU and 80% of the memory, and it refuses
# to start with less than 256 MiB per thread: both are set (supervisord.conf names them).
: "${MUS_BROKER_THREADS:=2}"
case "${MUS_BROKER_AUTOSTART:-true}" in
true | yes | on | 1)
    case "$MUS_BROKER_PASSWORD" in
    "") fail "the broker needs a password: MUS_REDIS_URL=redis://:PASSWORD@127.0.0.1:6379/0" ;;
    *[!A-Za-z0-9._~-]*) fail "use only letters, digits and . _ ~ - in the broker password" ;;
    esac
    mkdir -p "$MUS_BROKER_DIR"

    case "$MUS_BROKER_THREADS" in
    "" | *[!0-9]* | 0*) fail "MUS_BROKER_THREADS=$MUS_BROKER_THREADS: use a whole number, 1 or more" ;;
    esac
    needed=$((MUS_BROKER_THREADS * 256 * MIB))
    if [ -n "${MUS_BROKER_MAXMEMORY:-}" ]; then
        bytes=$(to_bytes "$MUS_BROKER_MAXMEMORY") ||
            fail "MUS_BROKER_MAXMEMORY=$MUS_BROKER_MAXMEMORY: use bytes, or a number and K, M or G"
        [ "$bytes" -ge "$needed" ] ||
            fail "MUS_BROKER_MAXMEMORY=$MUS_BROKER_MAXMEMORY is below the broker's minimum of" \
                "$((needed / MIB))M for $MUS_BROKER_THREADS thread(s) (256M each)"
        MUS_BROKER_MAXMEMORY=$bytes
    else
        # Half the container's memory (the workers need the rest), 1 GiB without
        # a limit; never below Dragonfly's minimum.
        limit=$(memory_limit)
        MUS_BROKER_MAXMEMORY=$((${limit:-2147483648} / 2))
        [ "$MUS_BROKER_MAXMEMORY" -ge "$needed" ] || MUS_BROKER_MAXMEMORY=$needed
        if [ -n "$limit" ] && [ "$limit" -le "$needed" ]; then
            echo "mus: the container's memory limit, $((limit / MIB))M, leaves nothing beside" \
                "the broker's $((needed / MIB))M for $MUS_BROKER_THREADS thread(s):" \
                "raise it, or lower MUS_BROKER_THREADS" >&2
        fi
    fi
    ;;
esac
# supervisord.conf names these even when the broker runs elsewhere.
export MUS_BROKER_THREADS
export MUS_BROKER_MAXMEMORY="${MUS_BROKER_MAXMEMORY:-0}"

: "${MUS_STOP_WAIT_SECS:=$((${MUS_JOB_TIMEOUT:-600} + 60))}"
export MUS_STOP_WAIT_SECS
mkdir -p "$MUS_RUN_DIR"

exec "$@"
