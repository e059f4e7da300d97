# The README's two commands: `make run` and `make test`. Everything installs into the repo.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed
TOOLS_STAMP := .tools/.installed
DYNALITE := infra/dynalite/node_modules/dynalite/cli.js
SWAGGER_UI := infra/web/node_modules/swagger-ui-dist/swagger-ui-bundle.js
FUNCTIONS := $(wildcard functions/*/app.py)

.PHONY: setup test-tools run test unit lint fmt typecheck bench requirements openapi build clean

setup: $(APP_STAMP) $(TOOLS_STAMP) $(DYNALITE) $(SWAGGER_UI)

$(APP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,local]'
	touch $@

# cfn-lint and the SAM CLI pin many libraries of their own: they get a venv of their own.
$(TOOLS_STAMP): infra/tools-requirements.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q --disable-pip-version-check -r infra/tools-requirements.txt
	touch $@

$(DYNALITE): infra/dynalite/package.json infra/dynalite/package-lock.json
	npm ci --prefix infra/dynalite --no-audit --no-fund --loglevel=error
	touch $@

# Swagger UI for /docs, served offline; --ignore-scripts skips the package's telemetry hook.
$(SWAGGER_UI): infra/web/package.json infra/web/package-lock.json
	npm ci --prefix infra/web --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

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
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "make test needs:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run: setup
	$(BIN)/profilepics up

test: setup test-tools lint typecheck
	$(BIN)/python -m pytest

unit: $(APP_STAMP)
	$(BIN)/python -m pytest tests/unit

lint: $(APP_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(APP_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Each function is its own `app` module, so each is checked on its own.
typecheck: $(APP_STAMP)
	$(BIN)/mypy layers/core/profilepics layers/core/build_layer.py infra tests bench
	@for f in $(FUNCTIONS); do $(BIN)/mypy $$f || exit 1; done

SHARP := bench/sharp/node_modules/sharp/package.json

# sharp, a peer in the thumbnail rows: pinned by its lockfile, installed for the bench only.
$(SHARP): bench/sharp/package.json bench/sharp/package-lock.json
	npm ci --prefix bench/sharp --no-audit --no-fund --loglevel=error
	touch $@

bench: setup $(SHARP)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,local,bench]'
	$(BIN)/python -m bench

# `sam build` into .aws-sam/build, with Lambda's Python (3.12) found on this machine, first on
# PATH: sam builds the functions with it and the layer's Makefile compiles the layer with it.
build: $(APP_STAMP) $(TOOLS_STAMP)
	py312="$$($(BIN)/python -m infra.runtime_python)" && \
	PATH="$$(dirname "$$py312"):$$PATH" SAM_CLI_TELEMETRY=0 .tools/bin/sam build --cached

requirements: $(APP_STAMP)
	$(BIN)/python -m infra.requirements

# openapi.json from the resolvers and template.yaml (tests/unit/test_openapi.py checks it).
openapi: $(APP_STAMP)
	$(BIN)/python -m infra.openapi

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache infra/dynalite/node_modules
	rm -rf infra/web/node_modules bench/sharp/node_modules
