# `make test` and `make demo` work on a fresh machine: each creates .venv,
# installs the package with what it needs, then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test demo bench lint format clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	touch $@

test: $(VENV)/.installed
	$(PY) -m ruff check keras_miyasawa tests
	$(PY) -m ruff format --check keras_miyasawa tests
	$(PY) -m pytest -q

demo: $(VENV)/.installed
	$(PY) -m keras_miyasawa.demo

bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py

lint: $(VENV)/.installed
	$(PY) -m ruff check keras_miyasawa tests

format: $(VENV)/.installed
	$(PY) -m ruff format keras_miyasawa tests
	$(PY) -m ruff check --fix keras_miyasawa tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
