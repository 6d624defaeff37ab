# The two commands: `make demo` runs the product on its embedded defaults, `make test` tests it.
# `make chaos` runs the whole chaos suite (`make test` runs its short pass).
# `make bench` measures the sync against QuickBooks' limits (not part of `make test`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install lock clean chaos bench screenshots

# Kill trials of `make chaos` (every fault kind is injected too); CHAOS_SEED=n replays a run.
CHAOS_TRIALS ?= 20

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files (exact versions, checked by hash), so every machine runs the
# versions that were tested; the project itself adds no dependency of its own (--no-deps).
$(VENV)/.installed: requirements/base.txt setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@touch $@

$(VENV)/.dev-installed: requirements/dev.txt setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/flask --app host_app demo run

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=plugin $(BIN)/lint-imports

# PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS='-m "not conformance"'.
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

# After a change to setup.cfg's requirements: pin the newest compatible versions, with hashes.
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.dev-installed
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements/base.txt setup.cfg
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -o requirements/dev.txt setup.cfg

chaos: $(VENV)/.dev-installed
	CHAOS_TRIALS=$(CHAOS_TRIALS) $(BIN)/pytest tests/chaos -m chaos -s
	$(BIN)/pytest tests/engine/test_infra_faults.py tests/engine/test_infra_processes.py \
		tests/engine/test_races.py tests/engine/test_resilience.py

# Throughput, the python-quickbooks baseline, no-op run, books check, scale, scale-out (< 10 min);
# prints a table and writes bench/results/latest.json. BENCH_ARGS='--only throughput' narrows it.
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# The README's pictures: the browser tests take them (Chromium), this keeps the chosen ones.
SHOTS := 03-connected 04-sync-progress 05-details-and-failures 10-invoice-in-quickbooks 11-books-check schedule history run-page timeline
screenshots: $(VENV)/.dev-installed
	rm -rf test-artifacts/readme
	TEST_ARTIFACTS=test-artifacts/readme $(BIN)/pytest tests/browser -m browser
	mkdir -p docs/screenshots
	for s in $(SHOTS); do cp test-artifacts/readme/screenshots/$$s.png docs/screenshots/; done

clean:
	rm -rf $(VENV) instance .pytest_cache
