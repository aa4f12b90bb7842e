# Two commands do all the set-up on a machine with only Python 3 and make:
#   make run    the main job, offline, on the bundled demo
#   make test   ruff and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run drift label-demo test test-fast lint bench clean help

help:
	@echo "make run    replay the bundled demo (simulated tiers, offline) and print the results"
	@echo "make drift  re-check the demo policy on a stationary month (passes) and a shifted one (fails, saying why)"
	@echo "make label-demo   sample 200 demo log queries, label them easy/hard (scripted keys), estimate the saving"
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

# The monthly drift check on the demo policy (after `make run`): November is a month like October, the policy's
# reference, and passes (exit 0); December brings a new intent, twice the hard queries and a price rise on the
# large tier, and fails (exit 1, ignored here so both months show).
drift: run
	$(BIN)/routeeval drift reports/demo/policy.json evalsets/drift/support-logs-2026-11.jsonl \
		--reference reports/demo --out reports/drift-2026-11
	-$(BIN)/routeeval drift reports/demo/policy.json evalsets/drift/support-logs-2026-12.jsonl \
		--config evalsets/drift/routeeval-2026-12.toml --reference reports/demo --out reports/drift-2026-12

# Will routing pay for us? Sample 200 of November's demo log queries (stratified by intent), label them with two
# scripted labelers reading one key per line from stdin (scripts/label_demo_keys.py stands in for people at the
# keyboard), and estimate the easy share, their agreement and the saving. Offline, no model calls.
LABEL_DEMO := reports/label-demo
LABEL_LOGS := evalsets/drift/support-logs-2026-11.jsonl
label-demo: $(STAMP)
	rm -rf $(LABEL_DEMO)
	$(BIN)/routeeval sample $(LABEL_LOGS) --n 200 --seed 0 --out $(LABEL_DEMO)/sample.jsonl
	$(BIN)/python scripts/label_demo_keys.py $(LABEL_DEMO)/sample.jsonl $(LABEL_LOGS) \
		| $(BIN)/routeeval label $(LABEL_DEMO)/sample.jsonl --out $(LABEL_DEMO)/labels.jsonl --labeler ana > /dev/null
	$(BIN)/python scripts/label_demo_keys.py $(LABEL_DEMO)/sample.jsonl $(LABEL_LOGS) --flip 9 \
		| $(BIN)/routeeval label $(LABEL_DEMO)/sample.jsonl --out $(LABEL_DEMO)/labels.jsonl --labeler ben > /dev/null
	$(BIN)/routeeval estimate $(LABEL_DEMO)/labels.jsonl --sample $(LABEL_DEMO)/sample.jsonl \
		--monthly-queries 1000000 --out $(LABEL_DEMO)

# The whole suite: what CI runs (.ci/run).
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# Everything but the tests marked slow (subprocesses, the browser, full runs end to end), well under a minute:
# pytest -m "not slow" spread over one worker per core by pytest-xdist, a test module to a worker (--dist loadfile),
# so a module's fixtures are built once.
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n auto --dist loadfile

# mypy: no error in the typed surfaces, and no more in the package than mypy-baseline.txt records
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/mypy_ratchet.py

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .routeeval reports/demo reports/drift-2026-11 reports/drift-2026-12 $(LABEL_DEMO) .pytest_cache .ruff_cache
