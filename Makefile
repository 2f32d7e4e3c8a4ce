# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICES := $(PY) -m lifecycle_dash.stack.services exec --
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run test lint format bench system-deps lock clean

help:
	@echo "make run    start the dashboard (and the simulated cluster) at http://127.0.0.1:8000/"
	@echo "make test   lint + every test (unit, integration, browser)"
	@echo "make bench  benchmarks; figures are printed and written to bench-results/"
	@echo "make lint   ruff, mypy, import-linter"
	@echo "make lock   re-resolve constraints.txt (every transitive dependency) from pyproject.toml"

# constraints.txt pins every transitive dependency as well, so a fresh clone installs exactly
# what CI tested: a new release of a library we do not name cannot change a build.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "error: Python 3.11 is required (found $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Re-resolve constraints.txt from pyproject.toml (after changing a pin there), in a scratch venv;
# build/ is what installing the project from source leaves behind.
LOCK_VENV := var/lock-venv
lock:
	rm -rf $(LOCK_VENV) build
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --upgrade pip
	$(LOCK_VENV)/bin/pip install -q '.[dev,embedded]'
	{ echo "# Every dependency, transitive ones included, as CI tested them. Regenerate: make lock"; \
	  $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v -E '^lifecycle-dash( |==)'; } > constraints.txt
	rm -rf $(LOCK_VENV) build

# Debian packages the tests drive: Chromium for browser tests (never a downloaded browser),
# docker-compose to validate docker-compose.yml without an engine, and redis-server for the
# ingest fault tests, which restart a Redis of their own.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing ..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP)
	@$(SERVICES) $(PY) -m lifecycle_dash.stack.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lifecycle_dash tests benchmarks
	$(VENV)/bin/lint-imports

# Services are resolved first so a bad DATABASE_URL fails in a second, not after the lint.
test: $(STAMP) system-deps
	@$(SERVICES) $(MAKE) --no-print-directory _test

_test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	@$(SERVICES) $(PY) -m benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var/* .mypy_cache .ruff_cache .pytest_cache
