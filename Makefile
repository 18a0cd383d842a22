# The README's two commands: `make demo` and `make test`.
# Each builds its own virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit system-packages benchmarks clean

$(VENV)/.runtime: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $@

## Run the demo: a fake three-node HA cluster on loopback and a fleet of Tentacle configs.
demo: $(VENV)/.runtime
	$(BIN)/python -m tentacle_ha demo

## Run everything CI runs: system packages, lint, format, types, tests with coverage.
test: $(VENV)/.test system-packages lint typecheck unit

system-packages:
	@./scripts/ensure-system-packages

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test
	$(BIN)/mypy
	$(BIN)/mypy --explicit-package-bases ansible_collections

# Tests run in PYTEST_JOBS processes (pytest-xdist; "auto": one per CPU, at
# most 4), each measured by coverage (setup.cfg: patch = subprocess) into one
# data file; `make unit PYTEST_JOBS=0` runs them in this process.
PYTEST_JOBS ?= auto

unit: $(VENV)/.test
	rm -f .coverage .coverage.*
	COVERAGE_FILE=$(CURDIR)/.coverage $(BIN)/coverage run -m pytest -n $(PYTEST_JOBS) --maxprocesses=4 $(PYTEST_ARGS)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

benchmarks: $(VENV)/.test system-packages
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .coverage .coverage.* .hypothesis .mypy_cache .ruff_cache
