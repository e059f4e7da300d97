# The README's two commands: `make run` and `make test`. Everything installs into the repo.
# `make run` installs only what running needs; the test, lint and template tools come with
# `make test` (or `make setup`). Each step says what it does and how long it took.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STEP := infra/step
# uv installs the venvs: measured here, cold caches, 7 s where pip took 50 s (docs/benchmarks.md).
UV_VERSION := 0.13.9
UV := $(BIN)/uv
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
TOOLS_STAMP := .tools/.installed
DYNALITE := infra/dynalite/node_modules/dynalite/cli.js
SWAGGER_UI := infra/web/node_modules/swagger-ui-dist/swagger-ui-bundle.js
AXE := tests/e2e/node_modules/axe-core/axe.min.js
FUNCTIONS := $(wildcard functions/*/app.py)

.PHONY: setup setup-run test-tools run test unit lint fmt typecheck bench bench-first-run bench-more \
	mutation requirements openapi build clean

setup-run: $(RUN_STAMP) $(DYNALITE) $(SWAGGER_UI)

setup: setup-run $(DEV_STAMP) $(TOOLS_STAMP) $(AXE)

# A venv without pip (ensurepip alone took 13 s on a busy machine), uv put in it by the
# interpreter's own pip, or by a venv's pip where the interpreter has none.
$(UV):
	@if $(PYTHON) -m pip --version >/dev/null 2>&1; then \
	  $(STEP) "creating $(VENV) and installing uv $(UV_VERSION) into it" sh -c '\
	    $(PYTHON) -m venv --without-pip $(VENV) && \
	    $(PYTHON) -m pip --python $(BIN)/python install -q --disable-pip-version-check \
	      uv==$(UV_VERSION) 2>$(VENV)/uv-install.log || { cat $(VENV)/uv-install.log; exit 1; }'; \
	else \
	  $(STEP) "creating $(VENV) and installing uv $(UV_VERSION) into it" sh -c '\
	    $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q uv==$(UV_VERSION)'; \
	fi

$(RUN_STAMP): pyproject.toml | $(UV)
	@$(STEP) "installing the service and the local store (SeaweedFS) into $(VENV)" \
	  $(UV) pip install -q --python $(BIN)/python -e '.[local]'
	@touch $@

$(DEV_STAMP): pyproject.toml $(RUN_STAMP)
	@$(STEP) "installing the test, lint and type-check tools into $(VENV)" \
	  $(UV) pip install -q --python $(BIN)/python -e '.[dev,local]'
	@touch $@

# cfn-lint and the SAM CLI pin many libraries of their own: they get a venv of their own.
$(TOOLS_STAMP): infra/tools-requirements.txt | $(UV)
	@$(STEP) "installing cfn-lint and the SAM CLI into .tools (template tests)" sh -c '\
	  $(UV) venv -q --allow-existing --python $(BIN)/python .tools && \
	  $(UV) pip install -q --python .tools/bin/python -r infra/tools-requirements.txt'
	@touch $@

$(DYNALITE): infra/dynalite/package.json infra/dynalite/package-lock.json
	@$(STEP) "installing dynalite, the local DynamoDB (npm ci)" \
	  npm ci --prefix infra/dynalite --no-audit --no-fund --loglevel=error --silent
	@touch $@

# Swagger UI for /docs, served offline; --ignore-scripts skips the package's telemetry hook.
$(SWAGGER_UI): infra/web/package.json infra/web/package-lock.json
	@$(STEP) "installing Swagger UI for /docs (npm ci)" \
	  npm ci --prefix infra/web --ignore-scripts --no-audit --no-fund --loglevel=error --silent
	@touch $@

# axe-core, injected into the page by the browser tests' accessibility scan.
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@$(STEP) "installing axe-core for the accessibility scan (npm ci)" \
	  npm ci --prefix tests/e2e --ignore-scripts --no-audit --no-fund --loglevel=error --silent
	@touch $@

# Debian's Chromium (browser tests, driven by Playwright), docker-compose (validating the
# compose file without an engine) and haproxy (checking the distributed profile's balancer
# config): from apt, as root; otherwise say what to install.
test-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	PATH="$$PATH:/usr/sbin" command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    $(STEP) "installing$$missing from apt (browser tests, compose and balancer checks)" sh -c "\
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null"; \
	  else echo "make test needs:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run: setup-run
	@$(BIN)/profilepics up

test: setup test-tools lint typecheck
	$(BIN)/python -m pytest

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Each function is its own `app` module, so each is checked on its own.
typecheck: $(DEV_STAMP)
	$(BIN)/mypy layers/core/profilepics layers/core/build_layer.py infra tests bench
	@for f in $(FUNCTIONS); do $(BIN)/mypy $$f || exit 1; done

SHARP := bench/sharp/node_modules/sharp/package.json

# sharp, a peer in the thumbnail rows: pinned by its lockfile, installed for the bench only.
$(SHARP): bench/sharp/package.json bench/sharp/package-lock.json
	npm ci --prefix bench/sharp --no-audit --no-fund --loglevel=error
	touch $@

bench: setup $(SHARP)
	@$(STEP) "installing the benchmarks' extras (libvips, X-Ray SDK)" \
	  $(UV) pip install -q --python $(BIN)/python -e '.[dev,local,bench]'
	$(BIN)/python -m pytest -q -m bench tests/bench_extra
	$(BIN)/python -m bench

# The long sections (8 layer, 9 hostile, 13, 14 sweep, 15 phone, 16 re-crop) and 5 and 6 (HTTP load
# and edges), kept out of `make bench` so it stays within minutes; they write a part of
# docs/benchmarks.md of their own.
bench-more: setup
	@$(STEP) "installing the benchmarks' extras (libvips, X-Ray SDK)" \
	  $(UV) pip install -q --python $(BIN)/python -e '.[dev,local,bench]'
	$(BIN)/python -m bench --more

# mutmut over the core's decision-making modules against their unit tests; the score per
# module goes to docs/mutation.md (MODULES=auth sweep for some). Niced: it takes both cores.
mutation: $(DEV_STAMP)
	@$(STEP) "installing mutmut (the mutation extra)" \
	  $(UV) pip install -q --python $(BIN)/python -e '.[dev,local,mutation]'
	nice -n 10 $(BIN)/python -m tests.mutation $(MODULES)

# A fresh clone of HEAD to a healthy stack with cold package caches, pip against uv.
bench-first-run: $(DEV_STAMP)
	$(BIN)/python -m bench.first_run

# `sam build` into .aws-sam/build, with Lambda's Python (3.12) found on this machine, first on
# PATH: sam builds the functions with it and the layer's Makefile compiles the layer with it.
build: $(RUN_STAMP) $(TOOLS_STAMP)
	py312="$$($(BIN)/python -m infra.runtime_python)" && \
	PATH="$$(dirname "$$py312"):$$PATH" SAM_CLI_TELEMETRY=0 .tools/bin/sam build --cached

requirements: $(DEV_STAMP)
	$(BIN)/python -m infra.requirements

# openapi.json from the resolvers and template.yaml (tests/unit/test_openapi.py checks it).
openapi: $(DEV_STAMP)
	$(BIN)/python -m infra.openapi

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache infra/dynalite/node_modules
	rm -rf infra/web/node_modules tests/e2e/node_modules bench/sharp/node_modules
