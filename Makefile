# Two commands on a fresh clone: `make run` and `make test`. Each installs what is missing first.
# `make run` installs only what the server needs (requirements.lock); `make test` adds the test and lint tools
# (requirements-dev.lock, a superset with the same versions). `make help` lists every target.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
CHROMIUM := /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest db-shell lock clean-data

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(RUNTIME) ## install what is missing, start the server (embedded PostgreSQL, local media, example form)
	$(BIN)/survey serve

test: $(DEV) $(CHROMIUM) ## install what is missing, then lint, type check and the whole test suite (what CI runs)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(DEV) ## fix what ruff can fix, and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(DEV) ## mypy --strict only
	$(BIN)/mypy

pytest: $(DEV) ## the test suite only; pass options with ARGS='-k scope -x'
	$(BIN)/pytest $(ARGS)

db-shell: $(RUNTIME) ## psql on the server's database (DATABASE_URL, else the embedded one)
	$(BIN)/survey db-shell

lock: $(BIN)/python ## after changing dependencies in pyproject.toml: refresh both lock files
	$(PIP) -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable > requirements-dev.lock
	rm -rf $(VENV)/lock-runtime && $(PYTHON) -m venv $(VENV)/lock-runtime
	$(VENV)/lock-runtime/bin/python -m pip install --quiet --disable-pip-version-check -c requirements-dev.lock .
	$(VENV)/lock-runtime/bin/python -m pip freeze --exclude-editable | grep -v '^survey-service' > requirements.lock
	rm -rf $(VENV)/lock-runtime

clean-data: ## delete the embedded database and the local media (everything `make run` stored)
	rm -rf .data media/blobs media/.spool

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)

# The review site's tests (tests/web) drive Debian's chromium through Playwright; no browser is ever downloaded.
# A file target: when chromium is there, make does nothing here.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests (tests/web)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
			|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; \
	else \
		echo "The browser tests (tests/web) need Debian's chromium at $(CHROMIUM)." >&2; \
		echo "Install it once with: sudo apt-get install chromium   (then run make test again)" >&2; \
		exit 1; \
	fi

# Exact versions come from the lock files, so every clone installs the same set.
$(RUNTIME): requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) --upgrade pip
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	@touch $@

$(DEV): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) --upgrade pip
	$(PIP) -r requirements-dev.lock
	$(PIP) --no-deps -e .
	@touch $@
