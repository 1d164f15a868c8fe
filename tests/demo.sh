#!/bin/sh
# `make demo`: Neovim on the tutorial, isolated from your own configuration. Its XDG
# directories (config, the runs, ...) are in .demo/, which `make clean` removes; you work
# in demo/ (the current directory: a .workflows/ you make there is a project's), which it
# keeps. Arguments go to Neovim (the tests add --embed --headless).
# WORKFLOW_DEMO_STATE and WORKFLOW_DEMO_DIR move those two directories; WORKFLOW_NVIM and
# WORKFLOW_PYTHON choose Neovim and the Python (by default the ones in .venv).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
state=${WORKFLOW_DEMO_STATE:-$root/.demo}
work=${WORKFLOW_DEMO_DIR:-$root/demo}
mkdir -p "$state/config" "$state/data" "$state/state" "$state/cache" "$work"
cd "$work"
export XDG_CONFIG_HOME="$state/config" XDG_DATA_HOME="$state/data" XDG_STATE_HOME="$state/state"
export XDG_CACHE_HOME="$state/cache" NVIM_APPNAME=workflow-demo
export WORKFLOW_PYTHON="${WORKFLOW_PYTHON:-$root/.venv/bin/python}"
exec "${WORKFLOW_NVIM:-$root/.venv/bin/nvim}" -u "$root/tests/init.lua" "$@" -S "$root/tests/demo.lua"
