# syntax=docker/dockerfile:1
# mus, the headless side: Dragonfly and RQ workers under supervisord, no Qt.
# Build: docker build -t mus-server .   Run and configure: see docs/server.md.

# Dragonfly's official image; its binary needs glibc only (hence Debian, not Alpine).
FROM docker.dragonflydb.io/dragonflydb/dragonfly:v1.33.1 AS dragonfly

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/mus
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY mus_desktop ./mus_desktop
# The locked versions (requirements/server.txt, written by `make lock`: mus's own
# dependencies and supervisor) and the package itself, nothing resolved here. No
# extras: no Qt ("gui") and no valkey-server wheel ("private-broker", the
# desktop's own broker); this image runs Dragonfly. tests/server/test_packaging.py
# checks that the lock pins everything pyproject.toml asks for.
RUN /opt/mus/bin/pip install --no-deps -r requirements/server.txt .

FROM python:3.11-slim-bookworm
COPY --from=dragonfly /usr/local/bin/dragonfly /usr/local/bin/dragonfly
COPY --from=build /opt/mus /opt/mus
COPY docker/entrypoint.sh docker/mus-wait-for-broker docker/mus-healthcheck /usr/local/bin/
COPY supervisord.conf /etc/supervisor/supervisord.conf

RUN groupadd --system --gid 10001 mus \
    && useradd --system --uid 10001 --gid mus --home-dir /var/lib/mus --shell /usr/sbin/nologin mus \
    && mkdir -p /data /cache /music /var/lib/mus/broker \
    && chown mus:mus /data /cache /var/lib/mus /var/lib/mus/broker

# Every variable supervisord.conf names needs a value (docs/server.md lists them).
# MUS_REDIS_URL has none on purpose: it carries the broker password.
ENV PATH=/opt/mus/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MUS_DB=/data/library.db \
    MUS_CACHE_DIR=/cache \
    MUS_MUSIC_ROOTS=/music \
    MUS_WORKERS=2 \
    MUS_JOB_TIMEOUT=600 \
    MUS_RUN_DIR=/tmp/mus \
    MUS_RUNTIME_DIR=/tmp/mus/runtime \
    MUS_LOG_DIR=/tmp/mus/log \
    MUS_BROKER_COMMAND="dragonfly --logtostderr --version_check=false" \
    MUS_BROKER_THREADS=2 \
    MUS_BROKER_AUTOSTART=true \
    MUS_BROKER_BIND=127.0.0.1 \
    MUS_BROKER_PORT=6379 \
    MUS_BROKER_DIR=/var/lib/mus/broker

VOLUME ["/data", "/cache", "/var/lib/mus/broker"]
USER 10001:10001
WORKDIR /var/lib/mus

HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 CMD ["mus-healthcheck"]
# On `docker stop` supervisord stops the workers, each finishing its batch
# (stopwaitsecs MUS_STOP_WAIT_SECS = MUS_JOB_TIMEOUT + 60 = 660 s), then the
# broker, which saves the queue (stopwaitsecs 60 s). The stop timeout must
# cover both, plus 30 s of slack: 660 + 60 + 30 = 750 s, so
# `docker run --stop-timeout 750 ...` or `docker stop -t 750` (docs/server.md).
ENTRYPOINT ["entrypoint.sh"]
CMD ["supervisord", "--configuration", "/etc/supervisor/supervisord.conf"]
