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

.PHONY: run test lint types contracts pytest bench clean system-packages

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

run: $(VENV)/.synced-run
	$(VENV)/bin/corral server --data-dir ./data $(ARGS)

test: $(VENV)/.synced-test system-packages
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

bench: $(VENV)/.synced-test
	@scripts/ensure-system-packages.sh scripts/bench-packages.txt
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
