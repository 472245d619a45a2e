# The two commands of the README: `make demo` (main job on the bundled default) and
# `make test` (lint, types, every test and doctest, the runtime-extra check; what CI runs).
# Both create .venv when it is missing. `make test-fast` is the quick loop: the tests not
# marked slow (pytest -m "not slow"), no lint, no install check. The tests run on
# PYTEST_WORKERS pytest-xdist workers (`-n 2 --dist loadgroup`; the netns and cgroup tests
# share one worker, see CONTRIBUTING.md); PYTEST_WORKERS=1, or a venv without pytest-xdist,
# runs them in one process.
PYTHON ?= python3
PYTEST_WORKERS ?= 2
# expanded when a recipe runs, after $(STAMP) has installed the dev extra (pytest-xdist)
PYTEST_PARALLEL = $(if $(filter 1,$(PYTEST_WORKERS)),,$(shell $(BIN)/python -c 'import xdist' \
  2>/dev/null && echo '-n $(PYTEST_WORKERS) --dist loadgroup'))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo data chromium test test-fast check-runtime-extra bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,all]'
	touch $(STAMP)

# The bundled default needs the Fashion-MNIST files for the testbed's samples (never
# downloaded at run time: a Debian package, installed here when we are root).
FASHION_MNIST ?= $(or $(SPLITEXIT_FASHION_MNIST_DIR),/usr/share/datasets/fashion-mnist)

data:
	@test -e $(FASHION_MNIST)/train-images-idx3-ubyte.gz || test -e $(FASHION_MNIST)/train-images-idx3-ubyte || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get install -y -q dataset-fashion-mnist; \
	    else echo "Fashion-MNIST is missing: sudo apt-get install dataset-fashion-mnist" \
	      "(or set SPLITEXIT_FASHION_MNIST_DIR to a folder with the IDX files)"; exit 2; fi; }

# Headless Chromium for the test that opens the HTML reports (Debian package; installed here
# when we are root, otherwise that test is skipped with the reason).
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -q && apt-get install -y -q chromium; \
	    else echo "chromium is missing (sudo apt-get install chromium); the HTML render test" \
	      "will be skipped"; fi; }

demo: $(STAMP) data
	$(BIN)/splitexit plan --json out/plan.json --plot out/pareto.png
	$(BIN)/splitexit run --out out/run

test: $(STAMP) chromium
	$(BIN)/ruff check src tests benchmarks tools examples
	$(BIN)/mypy src
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)
	PYTHON=$(PYTHON) tools/check_runtime_extra.sh

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_PARALLEL)

# `pip install '.[runtime]'` in a fresh venv gives a working `splitexit worker` without torch.
check-runtime-extra:
	PYTHON=$(PYTHON) tools/check_runtime_extra.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_planner.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
