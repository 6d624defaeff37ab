# The two commands: `make demo` runs the product on its embedded defaults, `make test` tests it.
# `make chaos` runs the whole chaos suite (`make test` runs its short pass).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install clean chaos

# Kill trials of `make chaos` (every fault kind is injected too); CHAOS_SEED=n replays a run.
CHAOS_TRIALS ?= 20

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/flask --app host_app demo run

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=plugin $(BIN)/lint-imports

test: lint
	$(BIN)/pytest

chaos: $(VENV)/.dev-installed
	CHAOS_TRIALS=$(CHAOS_TRIALS) $(BIN)/pytest tests/chaos -m chaos -s

clean:
	rm -rf $(VENV) instance .pytest_cache
