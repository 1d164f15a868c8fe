"""Where the plugin keeps things on disk, in Vim and Neovim alike: the one statement of the rule.

Four directories named ``workflow.nvim``, found from the XDG variables (an
empty one counts as unset) and $HOME:

    data    $XDG_DATA_HOME/workflow.nvim    (~/.local/share/...)   runs/, venv/
    config  $XDG_CONFIG_HOME/workflow.nvim  (~/.config/...)        workflows/
    cache   $XDG_CACHE_HOME/workflow.nvim   (~/.cache/...)         python.json, workflows/
    state   $XDG_STATE_HOME/workflow.nvim   (~/.local/state/...)   workflow.log

They are the plugin's, not an editor's: a run started in Vim is listed and
resumed in Neovim, and the other way round. Neovim's older places (``LEGACY``:
``stdpath('data')/workflow/runs`` and ``/venv``, ``stdpath('config')/workflows``,
which depend on $NVIM_APPNAME) are still read: runs are listed there too,
workflows found there, and that environment still chosen (host.lua).

The fronts compute the same places before Python starts (lua/workflow/places.lua,
autoload/workflow/places.vim; tests/e2e/test_places.py proves all three agree).
Standard library only, and cheap: the server imports this before its first answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

APP = "workflow.nvim"  # the name of the plugin's directory in each place

# variable, default under $HOME
_XDG = {
    "data": ("XDG_DATA_HOME", ".local/share"),
    "config": ("XDG_CONFIG_HOME", ".config"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


class Places(NamedTuple):
    """The plugin's four directories, and what lives in them."""

    data: Path
    config: Path
    cache: Path
    state: Path

    @property
    def runs(self) -> Path:
        """Where runs are made, unless the person sets ``runs_dir``."""
        return self.data / "runs"

    @property
    def exports(self) -> Path:
        """Where :WorkflowExport writes a run kept in a project, when given no file name."""
        return self.data / "exports"

    @property
    def venv(self) -> Path:
        """The plugin's own Python environment (:WorkflowInstall)."""
        return self.data / "venv"

    @property
    def workflows(self) -> Path:
        """The person's own workflows."""
        return self.config / "workflows"

    @property
    def log(self) -> Path:
        """The server's log: warnings, and the traceback of every bug."""
        return self.state / "workflow.log"

    @property
    def python_cache(self) -> Path:
        """The interpreter a front chose, kept so that a cold start probes nothing."""
        return self.cache / "python.json"

    @property
    def spec_cache(self) -> Path:
        """Workflow files that validated, kept so that a start need not import PyYAML."""
        return self.cache / "workflows"


class Legacy(NamedTuple):
    """Neovim's places before the plugin had its own: read still, written no more."""

    runs: Path  # stdpath('data')/workflow/runs
    venv: Path  # stdpath('data')/workflow/venv
    workflows: Path  # stdpath('config')/workflows


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def _base(env: Mapping[str, str], kind: str) -> Path:
    variable, default = _XDG[kind]
    return Path(env.get(variable) or _home(env) / default)


def plugin(environ: Mapping[str, str] | None = None) -> Places:
    """The plugin's places, from ``environ`` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    return Places(*(_base(env, kind) / APP for kind in Places._fields))


def legacy(environ: Mapping[str, str] | None = None) -> Legacy:
    """Neovim's older places: its ``stdpath()``, from the XDG variables and $NVIM_APPNAME."""
    env = os.environ if environ is None else environ
    name = env.get("NVIM_APPNAME") or "nvim"
    data, config = _base(env, "data") / name, _base(env, "config") / name
    return Legacy(runs=data / "workflow" / "runs", venv=data / "workflow" / "venv", workflows=config / "workflows")


def runs_read(runs_dir: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where runs are listed and resumed from: ``runs_dir`` (where new ones go); and when that is the
    plugin's own, Neovim's older place too, if it is there."""
    dirs = [runs_dir]
    if runs_dir == plugin(environ).runs:
        old = legacy(environ).runs
        if old != runs_dir and old.is_dir():
            dirs.append(old)
    return dirs
