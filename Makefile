# The two commands of the README: `make demo` (main job on the bundled default) and
# `make test` (lint, types, tests; what CI runs). Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,full]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/splitexit plan --json out/plan.json --plot out/pareto.png

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools examples
	$(BIN)/mypy src
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_planner.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
