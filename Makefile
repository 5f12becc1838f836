# `make test` and `make demo` work on a fresh machine: each creates .venv,
# installs the package with what it needs, then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test demo bench lint format clean notebooks

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	touch $@

test: $(VENV)/.installed
	$(PY) -m ruff check keras_miyasawa tests notebooks benchmarks
	$(PY) -m ruff format --check keras_miyasawa tests notebooks benchmarks
	$(PY) -m pytest -q

demo: $(VENV)/.installed
	$(PY) -m keras_miyasawa.demo

bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py

# Regenerates the .ipynb (no outputs) from the jupytext sources.
notebooks: $(VENV)/.installed
	$(PY) -m jupytext --to ipynb notebooks/[0-9][0-9]_*.py

lint: $(VENV)/.installed
	$(PY) -m ruff check keras_miyasawa tests notebooks benchmarks

format: $(VENV)/.installed
	$(PY) -m ruff format keras_miyasawa tests notebooks benchmarks
	$(PY) -m ruff check --fix keras_miyasawa tests notebooks benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
