# inferlab: `make run` starts the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-distributed lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamps re-run pip only when the requirement files change.
$(VENV)/.runtime: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/python -m inferlab.dashboard --server.port $(PORT)

test: $(VENV)/.dev
	$(BIN)/python -m pytest

# The `distributed` extra (Ray) and its tests (skipped by `make test` when Ray is absent).
$(VENV)/.distributed: $(VENV)/.dev pyproject.toml
	$(BIN)/python -m pip install -q -e '.[distributed]'
	touch $@

test-distributed: $(VENV)/.distributed
	$(BIN)/python -m pytest -m distributed tests/unit/distributed; rc=$$?; $(BIN)/ray stop >/dev/null 2>&1; exit $$rc

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.dev
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
