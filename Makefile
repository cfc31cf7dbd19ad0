# mktdash — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
ARGS ?=

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name mktdash --display-name "Python (mktdash)" >/dev/null
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

## Create .venv and install the package (done by the other targets as needed)
install: $(STAMP)

## Run the weekly job (demo world if data/ is empty) for the latest complete ISO week: make run ARGS="--week 2025-W46"
run: $(STAMP)
	$(BIN)/mktdash run $(ARGS)

## Install test extras and run all tests (unit, notebooks, Spark, browser)
test: $(TEST_STAMP)
	$(BIN)/python -m playwright --version >/dev/null
	@command -v chromium >/dev/null || echo "note: /usr/bin/chromium missing; browser tests will skip (apt-get install -y chromium)"
	$(BIN)/ruff check lib tests bench notebooks
	$(BIN)/ruff format --check lib tests bench
	$(BIN)/python -m pytest $(ARGS)

## Quick tests only (no full runs, no Spark, no browser)
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow and not spark and not browser" $(ARGS)

## Lint and format check (ruff) and type check (mypy)
lint: $(TEST_STAMP)
	$(BIN)/ruff check lib tests bench notebooks
	$(BIN)/ruff format --check lib tests bench
	$(BIN)/mypy

## Open JupyterLab on the notebooks with the project's kernel
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1

## Serve the executive and budget dashboards (Voilà, login required) on 127.0.0.1
serve: $(STAMP)
	$(BIN)/mktdash serve $(ARGS)

## Regenerate the demo world in data/inbox (ARGS="--scale 10 --seed 7")
demo: $(STAMP)
	$(BIN)/mktdash demo $(ARGS)

## Benchmarks (print ratios against baselines measured in the same run)
bench: $(TEST_STAMP)
	$(BIN)/python bench/run_all.py $(ARGS)

## Remove data/, outputs/ and the venv
clean:
	rm -rf $(VENV) data outputs

## List targets
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){split($$0,a,":"); printf "  %-10s %s\n", a[1], doc}; doc=""}' $(MAKEFILE_LIST)

.PHONY: install run test test-fast lint lab serve demo bench clean help
