# syntax=docker/dockerfile:1
# One image for the gateway's processes: `api` (the default command), `worker`, `watcher`, and
# the one-off commands (`migrate`, `backup`, `restore`). The devnet has its own small image
# (devnet/Dockerfile). Build: `docker build -t sbtc-gateway .`; `--target ops` adds the
# PostgreSQL server binaries that point-in-time restores and the daily restore check need.
#
# Read-only root file system friendly: nothing is written outside SBTC_DATA_DIR
# (/var/lib/sbtc-gateway, a volume) and /tmp (a tmpfs); byte code is compiled at build time.
# Checked by hadolint in `make test` (tests/deploy/test_images.py); the one ignore is explained
# where it is.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- 1. the web assets (checkout, widget, dashboard), when the repository has a web/ folder ---
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
# `web*` matches nothing until web/ exists; README.md is named too so that the COPY always has
# a source (a web/ folder's contents land here). A web/ folder with a package.json is built
# with its own lock file (`npm ci`, then `npm run build` into web/dist); without one the stage
# yields an empty dist, and the image serves no bundled assets.
COPY README.md web* ./
RUN if [ -f package.json ]; then \
      npm ci --no-audit --no-fund --loglevel=error && npm run build; \
    fi \
    && mkdir -p dist

# --- 2. the Python environment, from the locked versions ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/sbtc-gateway
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
RUN /opt/sbtc-gateway/bin/pip install -c requirements.lock . \
    && /opt/sbtc-gateway/bin/python -m compileall -q /opt/sbtc-gateway

# --- 3. the runtime: slim Python, the venv, the assets, a non-root user ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="sbtc-gateway" \
      org.opencontainers.image.description="Stripe-compatible sBTC payment gateway" \
      org.opencontainers.image.licenses="MIT"
# postgresql-client: pg_dump/pg_restore/pg_basebackup for `sbtc-gateway backup`.
# Debian's own versions are what the bookworm image carries and security updates replace
# them in place, so pinning one would break the build at the next point release:
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sbtc \
    && useradd --system --uid 10001 --gid sbtc --home-dir /var/lib/sbtc-gateway \
       --shell /usr/sbin/nologin sbtc \
    && install -d -o sbtc -g sbtc -m 0700 /var/lib/sbtc-gateway
COPY --from=build /opt/sbtc-gateway /opt/sbtc-gateway
COPY --from=web /src/web/dist /opt/sbtc-gateway/web
ENV PATH=/opt/sbtc-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SBTC_HOST=0.0.0.0 \
    SBTC_PORT=8000 \
    SBTC_DATA_DIR=/var/lib/sbtc-gateway \
    SBTC_WEB_DIST_DIR=/opt/sbtc-gateway/web \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc
USER 10001:10001
WORKDIR /var/lib/sbtc-gateway
VOLUME ["/var/lib/sbtc-gateway"]
EXPOSE 8000
# The api's liveness; worker and watcher set SBTC_HEALTHCHECK_URL to their --metrics-port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('SBTC_HEALTHCHECK_URL', 'http://127.0.0.1:8000/health'), timeout=4)"]
ENTRYPOINT ["sbtc-gateway"]
CMD ["api"]

# --- 4. ops: the runtime plus the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) ---
FROM runtime AS ops
USER 0
# the same reason as above for not pinning Debian's versions:
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && (getent group 999 >/dev/null || groupadd --system --gid 999 pgarchive) \
    && (getent passwd 999 >/dev/null || useradd --system --uid 999 --gid 999 --no-create-home \
        --shell /usr/sbin/nologin pgarchive) \
    && install -d -o 999 -g 999 -m 0700 /backups/base /backups/wal /backups/scratch
ENV PATH=/usr/lib/postgresql/15/bin:/opt/sbtc-gateway/bin:$PATH
# the postgres image's uid (999) owns the archive it writes; compose runs this stage as 999
USER 10001:10001
