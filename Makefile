# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench browser-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## Simulate the 20-tenant universe, validate, fit, diagnose, allocate and write the HTML report.
demo: $(VENV)/.installed
	$(BIN)/bayes-mmm demo

## Install with the dev extra and run the test suite (slow end-to-end tests: pytest --run-slow).
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

## Benchmarks (results go to benchmarks/RESULTS.md by hand).
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_fit.py

## Open the demo report in headless Chromium (installs Debian's chromium if missing), check figures, screenshot.
browser-check: $(VENV)/.installed
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	test -f reports/demo-report.html || $(BIN)/bayes-mmm demo
	$(BIN)/python benchmarks/check_report_browser.py reports/demo-report.html

clean:
	rm -rf $(VENV) data runs reports/*.html
