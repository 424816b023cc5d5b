# The two commands the README opens with: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest bench clean lock upgrade

# Every Python dependency is pinned with hashes in uv.lock (uv itself in uv-requirements.txt).
# `make run` syncs the runtime set only; `make test` adds the dev extra and the client package
# from the same lock. --locked fails when pyproject.toml changed without `make lock`.
UV := $(BIN)/uv
RUN_STAMP := $(VENV)/.installed-run
LOCKS := pyproject.toml uv.lock clients/python/pyproject.toml clients/verify/pyproject.toml

$(UV): uv-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --require-hashes --no-deps \
	  -r uv-requirements.txt
	touch $(UV)

# --inexact keeps uv (installed by pip, not in the lock) and leaves a dev set in place.
$(RUN_STAMP): $(UV) $(LOCKS)
	$(UV) sync --locked --inexact --no-dev
	touch $(RUN_STAMP)

$(STAMP): $(UV) $(LOCKS)
	$(UV) sync --locked --inexact --extra dev --group client
	touch $(STAMP) $(RUN_STAMP)

## Re-resolve uv.lock after editing dependencies in pyproject.toml (keeps the other pins).
lock: $(UV)
	$(UV) lock

## The one command that updates every dependency to its newest allowed release.
upgrade: $(UV)
	$(UV) lock --upgrade

# Test tools outside PyPI: anvil (the local EVM node, from npm) and Debian's chromium.
TOOLS := node_modules/.installed
$(TOOLS): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null \
	  || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
	touch $(TOOLS)

install: $(STAMP)

## Install, seed demo data on the embedded SQLite default, print a key and a curl line, serve.
run: $(RUN_STAMP)
	$(BIN)/mtx demo --base-url http://$(HOST):$(PORT)
	$(BIN)/mtx serve --host $(HOST) --port $(PORT)

## Install, then run every check: lint, format, types and the whole test suite.
test: $(STAMP) $(TOOLS) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Three pytest-xdist workers: most tests wait on servers, nodes and browsers, not the CPU.
## Work stealing keeps the long process tests from queueing on one worker at the end;
## the 30 slowest tests are listed after the run.
PYTEST_WORKERS ?= 3
pytest: $(STAMP) $(TOOLS)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=30

bench: $(STAMP)
	$(BIN)/python -m benchmarks.load
	$(BIN)/python -m benchmarks.accrual
	$(BIN)/python -m benchmarks.webhooks
	$(BIN)/python -m benchmarks.pages

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
