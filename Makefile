# The two commands: `make run` and `make test`. Both set up everything they need
# from the lock file; both are cheap to repeat once everything is installed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV_VERSION := 0.13.9
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON := $(VENV)/bin/python
export UV_NO_PROGRESS := 1

.PHONY: run test lint types contracts pytest bench clean system-packages ui ui-typecheck

# The web console (web/, Vue + Vite) is built into the Python package's
# src/corral/ui/static, which is never committed: rebuilt when missing or older
# than any of its sources; `npm ci` runs again only when the lock is newer than
# node_modules.
UI_INDEX := src/corral/ui/static/index.html
UI_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
NODE_MODULES := web/node_modules/.package-lock.json

# uv itself lives in its own small venv, pinned, so that `uv sync` never removes it.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Re-synced only when the lock or the project metadata changed.
$(VENV)/.synced-run: uv.lock pyproject.toml | $(UV) $(VENV)/bin/python
	$(UV) sync --frozen --no-dev --inexact
	touch $@

$(VENV)/.synced-test: uv.lock pyproject.toml | $(UV) $(VENV)/bin/python
	$(UV) sync --frozen --extra test --inexact
	touch $@ $(VENV)/.synced-run

system-packages:
	@scripts/ensure-system-packages.sh

$(NODE_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

$(UI_INDEX): $(NODE_MODULES) $(UI_SOURCES)
	cd web && npm run build

ui: $(UI_INDEX)

ui-typecheck: $(NODE_MODULES)
	cd web && npm run typecheck

run: $(VENV)/.synced-run $(UI_INDEX)
	$(VENV)/bin/corral server --data-dir ./data $(ARGS)

test: $(VENV)/.synced-test system-packages ui-typecheck $(UI_INDEX)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

bench: $(VENV)/.synced-test
	@scripts/ensure-system-packages.sh scripts/bench-packages.txt
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		web/node_modules src/corral/ui/static
