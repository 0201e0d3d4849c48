# BananaBatch server: the web UI, the REST API and the orchestrator in one image.
#   docker build -t bananabatch .
#   docker run -p 8000:8000 -v bananabatch-data:/data -e BANANABATCH_PASSWORD=... bananabatch
# Build context: the repository root (.dockerignore sends only what is copied here).
#
# Both bases are build ARGs. The defaults are the official images; where no container
# registry is reachable (this project's own test, tests/container/test_server_image.py)
# they are local Debian bases made with debootstrap (tests/container/build_base.sh):
# NODE_IMAGE = Debian trixie with Debian's own nodejs (20) and npm installed by apt
# (bookworm's nodejs 18 is too old for Next.js 16), PYTHON_IMAGE = Debian bookworm with
# python3.11. The UI is really built here from web/ (npm ci against the lock file, then
# `next build`), not copied from a host's web/out: the image is the same whoever builds it.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim

# ---- stage 1: the web UI (Next.js static export -> /web/out) ----
FROM ${NODE_IMAGE} AS web
ENV NEXT_TELEMETRY_DISABLED=1 \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build --silent && test -f out/index.html

# ---- stage 2: the Python server, with the UI inside the package ----
FROM ${PYTHON_IMAGE}
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first (pinned to uv.lock), so a code change does not reinstall them.
COPY deploy/server-requirements.txt /tmp/server-requirements.txt
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir -r /tmp/server-requirements.txt \
    && rm -f /tmp/server-requirements.txt

# The package, built the way `make dist` builds the wheel: the UI goes in as
# bananabatch/webui (hatch_build.py), and a build without it is an error.
COPY pyproject.toml README.md hatch_build.py /tmp/bananabatch/
COPY src /tmp/bananabatch/src
COPY --from=web /web/out /tmp/bananabatch/web/out
RUN BANANABATCH_WHEEL_REQUIRE_UI=1 pip install --no-cache-dir --no-deps /tmp/bananabatch \
    && rm -rf /tmp/bananabatch \
    && test -f "$(python -c 'import bananabatch.api.static as s; print(s.packaged_web_dir())')/index.html"

# A user of its own; the data (SQLite DB, uploads, outputs) lives in the /data volume.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home bananabatch \
    && mkdir -p /data && chown bananabatch:bananabatch /data
VOLUME ["/data"]
WORKDIR /data
USER bananabatch

# Listening on all interfaces needs BANANABATCH_PASSWORD (the server refuses otherwise);
# behind a reverse proxy see docs/deploy.md for BANANABATCH_TRUSTED_PROXIES.
ENV BANANABATCH_DATA_DIR=/data \
    BANANABATCH_HOST=0.0.0.0 \
    BANANABATCH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('BANANABATCH_PORT', '8000'), timeout=4)"]
CMD ["bananabatch", "serve"]
