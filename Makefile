# madoguchi: `make run` starts everything, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
MADOGUCHI := $(VENV)/bin/madoguchi
APP_REQUIREMENTS := pyproject.toml requirements/app.lock requirements/data.txt
RASA_REQUIREMENTS := requirements/rasa.txt requirements/rasa.lock
WIDGET_REQUIREMENTS := widget/package.json widget/package-lock.json

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
# This machine's pip configuration names local index folders that may not exist; pip warns per package.
PIP_NOISE := is ignored: it is neither a file nor a directory

# Prints the first working interpreter for a Python version: on PATH, else under pyenv.
define find_python
for candidate in python$(1) $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/$(1).*/bin/python$(1) 2>/dev/null | sort -V | tail -n 1); do \
  if "$$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then echo "$$candidate"; break; fi; \
done
endef

# $(1) venv dir, $(2) Python version, $(3) files whose content decides the install, $(4) pip arguments,
# $(5) optional pip arguments for packages installed without their dependencies.
# The hash of those files is kept in the venv: unchanged requirements make this a quick no-op.
define ensure_venv
wanted=$$(cat $(3) | sha256sum | cut -c1-64); \
if [ "$$(cat $(1)/.requirements-hash 2>/dev/null)" != "$$wanted" ]; then \
  python=$$($(call find_python,$(2))); \
  if [ -z "$$python" ]; then \
    echo "ERROR: Python $(2) was not found (neither python$(2) on PATH nor under pyenv)." >&2; \
    echo "       Install it, e.g.: pyenv install $(2)  (or: apt-get install python$(2)-venv)" >&2; \
    exit 1; \
  fi; \
  echo ">> Setting up $(1) with $$python"; \
  [ -x $(1)/bin/python ] || "$$python" -m venv $(1); \
  $(1)/bin/python -m pip install --quiet --upgrade pip==25.2 2>&1 | { grep -v "$(PIP_NOISE)" || true; }; \
  $(1)/bin/python -m pip install --quiet $(4) 2>&1 | { grep -v "$(PIP_NOISE)" || true; }; \
  if [ -n "$(5)" ]; then \
    $(1)/bin/python -m pip install --quiet --no-deps $(5) 2>&1 | { grep -v "$(PIP_NOISE)" || true; }; \
  fi; \
  echo "$$wanted" > $(1)/.requirements-hash; \
fi
endef

.PHONY: help install run test screenshots bench train model lint format clean

help:
	@echo "make run    install what is missing, seed the demo city, train, start every service"
	@echo "make test   install what is missing and run all tests"
	@echo "make screenshots   retake the phone screenshots in widget/screenshots/ (README)"
	@echo "make bench  print the performance figures"
	@echo "make train  retrain the Rasa model"
	@echo "make model MODEL=cl-nagoya/ruri-v3-30m   download an embedding model into models/"

install:
	@$(call ensure_venv,$(VENV),3.11,$(APP_REQUIREMENTS),-c requirements/app.lock -e '.[test]',-r requirements/data.txt)
	@$(call ensure_venv,$(RASA_VENV),3.10,$(RASA_REQUIREMENTS),-c requirements/rasa.lock -r requirements/rasa.txt)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	fc-list :lang=ja 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> Installing Debian packages for the browser tests and screenshots:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "ERROR: missing:$$missing. Install with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
	@if [ -f widget/package-lock.json ]; then \
	  wanted=$$(cat $(WIDGET_REQUIREMENTS) | sha256sum | cut -c1-64); \
	  if [ "$$(cat widget/node_modules/.requirements-hash 2>/dev/null)" != "$$wanted" ]; then \
	    command -v npm >/dev/null || { echo "ERROR: npm is missing. Install it with: apt-get install npm" >&2; exit 1; }; \
	    echo ">> Installing the widget's test packages (npm ci)"; \
	    npm ci --prefix widget --no-audit --no-fund --loglevel=error; \
	    echo "$$wanted" > widget/node_modules/.requirements-hash; \
	  fi; \
	fi

run: install
	@$(MADOGUCHI) run

train: install
	@$(MADOGUCHI) train

test: install
	@echo ">> ruff"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@echo ">> pytest"
	@HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest

# The README screenshots are tracked: `make test` only writes to test-output/.
screenshots: install
	@MADOGUCHI_UPDATE_SCREENSHOTS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q \
	  tests/widget/test_widget_conversation.py -k "test_conversation_flow and phone"

bench: install
	@for bench in tests/bench/bench_*.py; do \
	  echo ">> $$bench"; HF_HUB_OFFLINE=1 $(PY) "$$bench"; \
	done

model: install
	@if [ -z "$(MODEL)" ]; then echo "usage: make model MODEL=cl-nagoya/ruri-v3-30m" >&2; exit 2; fi
	@$(PY) -c 'import sys; from sentence_transformers import SentenceTransformer; \
	  name = sys.argv[1]; target = "models/" + name.replace("/", "__"); \
	  SentenceTransformer(name).save(target); \
	  print(f"Saved to {target}. Set retrieval.embedding_model: {target} in config.yml")' "$(MODEL)"

lint: install
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: install
	@$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

clean:
	rm -rf .rasa results test-output .pytest_cache .ruff_cache
