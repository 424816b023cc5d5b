# The two commands the README opens with: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Test tools outside PyPI: anvil (the local EVM node, from npm) and Debian's chromium.
TOOLS := node_modules/.installed
$(TOOLS): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null \
	  || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
	touch $(TOOLS)

install: $(STAMP)

## Install, seed demo data on the embedded SQLite default, print a key and a curl line, serve.
run: $(STAMP)
	$(BIN)/mtx demo --base-url http://$(HOST):$(PORT)
	$(BIN)/mtx serve --host $(HOST) --port $(PORT)

## Install, then run every check: lint, format, types and the whole test suite.
test: $(STAMP) $(TOOLS) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(TOOLS)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.load
	$(BIN)/python -m benchmarks.accrual
	$(BIN)/python -m benchmarks.webhooks
	$(BIN)/python -m benchmarks.pages

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
