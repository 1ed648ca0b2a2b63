# Vitrine — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/vitrine/web/static/vendor

.PHONY: setup run cluster test lint typecheck check-imports bench-smoke clean

## setup: create .venv and install Python and front-end packages (changes nothing else)
setup: $(VENV)/.installed node_modules/.installed $(VENDOR)/hls.min.mjs

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv 2>/dev/null || true
	@if test -x $(BIN)/uv; then \
	  $(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock && \
	  $(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e . ; \
	else \
	  $(BIN)/python -m pip install -q -r requirements.lock && \
	  $(BIN)/python -m pip install -q --no-deps -e . ; \
	fi
	@touch $@

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/hls.min.mjs: node_modules/.installed
	@npm run --silent vendor

## run: the server with the demo brand and its live show on the embedded defaults
run: setup
	@$(BIN)/vitrine serve --demo

## cluster: the production topology on this machine (nginx, 2 instances, Redis, PostgreSQL)
cluster: setup
	@$(BIN)/python -m vitrine.deploy cluster $(CLUSTER_ARGS)

## test: lint, types, import rules, and the whole test suite (with benchmark smoke runs)
test: setup lint typecheck check-imports
	@$(BIN)/pytest

lint:
	@$(BIN)/ruff check src tests bench
	@$(BIN)/ruff format --check --quiet src tests bench

typecheck:
	@$(BIN)/mypy

check-imports:
	@$(BIN)/lint-imports --no-cache --quiet 2>/dev/null || $(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
