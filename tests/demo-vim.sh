#!/bin/sh
# `make demo-vim`: Vim 9 on the tutorial, isolated from your own configuration,
# as tests/demo.sh does for Neovim. Its XDG directories are in .demo/, which
# `make clean` removes; you work in demo/, which it keeps. Arguments go to Vim.
# WORKFLOW_VIM and WORKFLOW_PYTHON choose Vim and the Python.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
state=${WORKFLOW_DEMO_STATE:-$root/.demo}
work=${WORKFLOW_DEMO_DIR:-$root/demo}
mkdir -p "$state/config" "$state/data" "$state/state" "$state/cache" "$work"
cd "$work"
export XDG_CONFIG_HOME="$state/config" XDG_DATA_HOME="$state/data" XDG_STATE_HOME="$state/state"
export XDG_CACHE_HOME="$state/cache"
export WORKFLOW_PYTHON="${WORKFLOW_PYTHON:-$root/.venv/bin/python}"
exec "${WORKFLOW_VIM:-vim}" -Nu "$root/tests/init.vim" -i NONE "$@" -S "$root/tests/demo.vim"
