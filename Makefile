# BananaBatch. `make run` starts the product; `make test` runs every test.
# Both do all set-up on a fresh machine (uv + virtualenv, dependencies, web build, DB migration).
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run serve dist test test-py test-dist test-container test-web test-e2e lint fmt install web web-deps dev types bench chromium worker-image-tools worker-requirements server-requirements clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

# ---- web UI (Next.js static export, served by the Python server) ----
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web-deps: web/node_modules/.installed

WEB_SOURCES := $(shell find web/src web/public web/scripts -type f 2>/dev/null) $(wildcard web/*.ts web/*.mjs web/*.json)
web/out/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build --silent
	touch $@

web: web/out/index.html

# ---- one-file install: a wheel that carries the built web UI ----
# `pipx install dist/bananabatch-*.whl && bananabatch serve` is the whole product.
DIST ?= dist
dist: install web
	rm -f $(DIST)/bananabatch-*.whl
	BANANABATCH_WHEEL_REQUIRE_UI=1 $(UV) build --wheel --quiet --out-dir $(DIST)
	@ls $(DIST)/bananabatch-*.whl

# ---- run ----
run: install web
	$(PY) -m bananabatch.cli serve

dev: install web-deps
	( $(PY) -m bananabatch.cli serve & echo $$! > .dev-server.pid; cd web && npm run dev; kill $$(cat ../.dev-server.pid) )

# ---- quality ----
lint: install
	$(VENV)/bin/ruff check src tests bench worker
	$(VENV)/bin/ruff format --check src tests bench worker
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy worker/handler.py

fmt: install
	$(VENV)/bin/ruff format src tests bench worker
	$(VENV)/bin/ruff check --fix src tests bench worker

types: install web-deps
	$(PY) -m bananabatch.api.openapi > web/openapi.json
	cd web && npm run gen:types --silent

# ---- tests ----
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# buildah + debootstrap build and run the RunPod worker image (tests/container/).
worker-image-tools:
	@{ command -v buildah && command -v debootstrap; } >/dev/null 2>&1 || { \
	  echo "installing Debian buildah and debootstrap for the worker image test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq buildah debootstrap >/dev/null; }

test-py: install
	$(VENV)/bin/pytest -q -m "not e2e and not container and not dist" tests

# The wheel (with the web UI) installed into a fresh virtualenv serves the product.
test-dist: install web
	$(VENV)/bin/pytest -q -m dist tests/dist

test-container: install worker-image-tools
	$(VENV)/bin/pytest -q -m container tests/container

test-web: web-deps
	cd web && npm run lint --silent && npm run typecheck --silent && npm test --silent

test-e2e: install web chromium
	$(VENV)/bin/pytest -q -m e2e tests/e2e

test: lint test-py test-dist test-container test-web test-e2e

# ---- RunPod worker image ----
# Pin worker/requirements.in (and all it pulls in) to the versions uv.lock resolves.
worker-requirements: install
	@mkdir -p .cache
	$(UV) export --frozen --no-hashes --all-groups --all-extras --no-emit-project --quiet -o .cache/uv-lock-constraints.txt
	$(UV) pip compile worker/requirements.in --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --constraint .cache/uv-lock-constraints.txt --custom-compile-command "make worker-requirements" \
	  --no-annotate --quiet -o worker/requirements.txt

# Pin the server image's dependencies (Dockerfile) to uv.lock.
server-requirements: install
	@echo "# The server image's dependencies, pinned to uv.lock. Regenerate: make server-requirements" > deploy/server-requirements.txt
	$(UV) export --frozen --no-hashes --no-dev --no-emit-project --no-header --no-annotate --quiet >> deploy/server-requirements.txt

bench: install web chromium
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) $(TOOLS) web/node_modules web/out web/.next data .cache
