# The two Quickstart commands: `make demo` and `make test`. Both build the virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/esqs demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q -n 3

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Each benchmark compares against a peer in one run and prints ratios; results: docs/performance.md
bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py --cpu 0
	$(BIN)/python benchmarks/publisher_client_cost.py
	$(BIN)/python benchmarks/consumer_throughput.py
	$(BIN)/python -m benchmarks.server_throughput
	$(BIN)/python benchmarks/encryption_cost.py
	$(BIN)/python benchmarks/observability_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
