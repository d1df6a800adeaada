# Quick start: `make demo` and `make test` each set up .venv on a machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

# The order of the tests is random (pytest-randomly); the seed is printed so a run can be repeated.
ifeq ($(origin TEST_SEED), undefined)
TEST_SEED := $(shell $(PYTHON) -c 'import random; print(random.randrange(10**9))')
endif

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): nat-harness and its test tools (about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nat-harness demo
	$(BIN)/nat-harness run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@echo "Tests in random order with seed $(TEST_SEED) (repeat: make test TEST_SEED=$(TEST_SEED))"
	$(BIN)/python -m pytest -q -n auto -p randomly --randomly-seed=$(TEST_SEED)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

docs: $(STAMP)
	$(BIN)/nat-harness docs --out docs/formats.md

clean:
	rm -rf $(VENV) build dist *.egg-info
