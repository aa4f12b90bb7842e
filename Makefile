# Two commands do all the set-up on a machine with only Python 3 and make:
#   make run    the main job, offline, on the bundled demo
#   make test   ruff and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-fast test-fast-fit test-fast-rest lint bench clean help

help:
	@echo "make run    replay the bundled demo (simulated tiers, offline) and print the results"
	@echo "make test   install dev extras, run ruff and pytest"
	@echo "make test-fast   pytest without the tests marked slow (subprocesses, browser, full runs)"
	@echo "make bench  run the benchmarks in bench/ and append to bench/RESULTS.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The demo logs are a 400-row sample, so the savings projection is given a production volume.
run: $(STAMP)
	$(BIN)/routeeval run evalsets/support.jsonl --logs evalsets/support-logs.jsonl --out reports/demo \
		--monthly-queries 1000000

# The whole suite: what CI runs (.ci/run).
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# Everything but the tests marked slow (subprocesses, the browser, full runs end to end), well under a minute:
# pytest -m "not slow" in two processes, one per core. The modules that fit routers on hundreds of rows (about half
# the time) run in one, every other module in the other; -O prints each report whole when its process ends.
FAST_FIT := tests/test_routers.py tests/test_optimize.py tests/test_selection.py
test-fast: $(DEV_STAMP)
	@$(MAKE) --no-print-directory -j2 -O test-fast-fit test-fast-rest

test-fast-fit:
	$(BIN)/python -m pytest -q -m "not slow" -o cache_dir=.pytest_cache/fast-fit $(FAST_FIT)

test-fast-rest:
	$(BIN)/python -m pytest -q -m "not slow" -o cache_dir=.pytest_cache/fast-rest $(addprefix --ignore=,$(FAST_FIT))

# mypy: no error in the typed surfaces, and no more in the package than mypy-baseline.txt records
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/mypy_ratchet.py

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .routeeval reports/demo .pytest_cache .ruff_cache
