# Connect2Recover platform. `make run` starts everything; `make test` passes the tests.
# Every target installs what it needs on a fresh clone.

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
# The tools the venv's wheels carry (kubectl, hadolint) serve where the machine has none:
# last on PATH, after the machine's own.
export PATH := $(PATH):$(CURDIR)/$(BIN)
# A uv already on the machine, else the one pip installs for this Python.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
# System packages and the PostgreSQL cluster need root; others go through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# tests/repository: no committed file reaches outside the clone.
# tests/migrations: `alembic check` of every service, so models and migrations cannot drift.
# tests/fuzz: schemathesis against each service as a real process, on PostgreSQL (which
# finds what SQLite lets through: int4 bounds, NUL bytes), a few minutes.
SUITES := $(wildcard shared/tests services/*/tests tests/contract tests/repository tests/migrations tests/fuzz tests/deploy)
DATABASES := sqlite postgresql
SCOPES ?= admin
COUNTRIES ?=

.PHONY: docs help install system-deps postgres run token test test-suites test-client client test-e2e lint fmt migrate openapi gateway images bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The venv is rebuilt from the committed lock whenever a project file changes. Output goes
# to stderr so that `make -s token` prints the token alone.
$(VENV)/.synced: uv.lock pyproject.toml shared/pyproject.toml deploy/pyproject.toml services/*/pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv >&2 \
	  || python3 -m pip install --quiet --user --break-system-packages uv >&2
	@$(UV) sync --frozen --quiet >&2
	@touch $@

install: $(VENV)/.synced  ## install the project and its tools into .venv

system-deps:  ## nginx, promtool, amtool and Chromium (Debian packages) for the end-to-end and deploy tests
	@[ -x /usr/sbin/nginx ] && [ -x /usr/bin/promtool ] && [ -x /usr/bin/amtool ] && [ -x /usr/bin/docker-compose ] \
	  && [ -x /usr/bin/prometheus-postgres-exporter ] && [ -x /usr/bin/prometheus-nginx-exporter ] \
	  && [ -x /usr/bin/chromium ] || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	  nginx prometheus prometheus-alertmanager docker-compose \
	  prometheus-postgres-exporter prometheus-nginx-exporter chromium >/dev/null; }

postgres:  ## make sure the local PostgreSQL server is running
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2; }
	@pg_isready -h 127.0.0.1 -p 5432

run: install  ## start the whole system at http://127.0.0.1:8000 (SQLite, no external server)
	@$(BIN)/c2r run

token: install  ## print a token: make token SCOPES="schools:write measurements:write" COUNTRIES=RWA
	@$(BIN)/c2r token --scopes "$(SCOPES)" --countries "$(COUNTRIES)"

test: install system-deps postgres test-suites test-client test-e2e  ## every suite on SQLite and PostgreSQL, the TypeScript client, then end to end through nginx

test-suites: install
	@set -e; for db in $(DATABASES); do for suite in $(SUITES); do \
	  echo "== $$suite on $$db"; C2R_TEST_DB=$$db $(BIN)/pytest $$suite -q -p no:cacheprovider; \
	done; done

test-e2e: install system-deps postgres
	@echo "== tests/e2e (three services on PostgreSQL behind nginx, and the embedded default)"
	@$(BIN)/pytest tests/e2e -q -p no:cacheprovider

lint: install  ## ruff, strict mypy and the import boundaries (pyproject's importlinter contracts)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

fmt: install  ## format and fix imports
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install  ## apply migrations to the embedded default's databases (./data)
	@$(BIN)/c2r migrate

# The TypeScript client's tools (generator, tsc, esbuild), from its npm lock file.
CLIENT := clients/typescript
$(CLIENT)/node_modules/.installed: $(CLIENT)/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

client: install $(CLIENT)/node_modules/.installed  ## regenerate the TypeScript client from the merged OpenAPI document
	@$(CLIENT)/generate.sh

test-client: install $(CLIENT)/node_modules/.installed  ## the committed TypeScript client matches the document and compiles with tsc --strict
	@echo "== clients/typescript"
	@$(CLIENT)/check.sh

openapi: install  ## write the merged OpenAPI document of the gateway to build/openapi.json
	@$(BIN)/c2r openapi --output build/openapi.json

gateway: install  ## regenerate deploy/gateway/nginx.conf (and the containers' gateway config) from the route table
	@$(BIN)/c2r gateway
	@$(BIN)/c2r container-gateway

# The base of the service images: the official image, or one that
# deploy/docker/build-base-image builds locally (PYTHON_IMAGE=c2r/python:3.11-bookworm).
PYTHON_IMAGE ?= python:3.11-slim-bookworm
# The gateway image's base: the official nginx image, or a local one with nginx on PATH.
NGINX_IMAGE ?= nginx:1.27-bookworm
images: openapi  ## build the images c2r/<service>:latest and c2r/gateway:latest with Docker
	@set -e; commit=$$(git rev-parse --short=12 HEAD); \
	for service in assessment-api request-intake school-monitor; do \
	  docker build --build-arg SERVICE=$$service --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) \
	    --build-arg COMMIT=$$commit -t c2r/$$service:latest . ; \
	done; \
	docker build -f deploy/gateway/Dockerfile --build-arg NGINX_IMAGE=$(NGINX_IMAGE) \
	  --build-arg COMMIT=$$commit -t c2r/gateway:latest build

bench: install postgres  ## benchmarks (tests/perf), figures into build/bench/
	@$(BIN)/python tests/perf/bench_school_monitor.py --db both

clean:  ## remove the venv, build output and the embedded default's data
	rm -rf $(VENV) build data

docs: install  ## regenerate the settings table of the README and the nginx config
	@$(BIN)/c2r config-doc
	@$(BIN)/c2r gateway
	@$(BIN)/c2r container-gateway
