"""Where things live (:help workflow-places): the plugin's own XDG places, the same for Python, Neovim
and Vim; and Neovim's older places, still found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import places

from tests.vim import VIM, require

from .conftest import ROOT, Editor, Home, nvim_binary
from .test_steps import ESSAY

# What every front computes (places.py's Places, lua/workflow/places.lua, autoload/workflow/places.vim).
KEYS = ("data", "config", "cache", "state", "runs", "venv", "workflows", "log", "python_cache")
BASE_KEYS = KEYS[:4]


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def legacy_runs(home: Home, appname: str | None) -> Path:
    """Neovim's stdpath('data')/workflow/runs for $NVIM_APPNAME ``appname``."""
    return home.root / "data" / (appname or "nvim") / "workflow" / "runs"


def offered_by_resume(nvim: Editor) -> list[dict[str, Any]]:
    """What :WorkflowResume offers in its picker (the first is taken)."""
    nvim.exec_lua("vim.ui.select = function(items, opts, on_choice) _G.offered = items; on_choice(items[1]) end")
    nvim.cmd("WorkflowResume")
    return list(nvim.exec_lua("return _G.offered") or [])


@pytest.mark.parametrize("appname", [None, "work"])
def test_a_run_made_in_neovims_older_place_is_listed_and_resumed_and_new_runs_go_to_the_new_one(
    start_nvim: Any, home: Home, essay: Path, appname: str | None
) -> None:
    if appname:
        home.env["NVIM_APPNAME"] = appname  # it moved Neovim's places, and so the older runs directory
    old_runs = legacy_runs(home, appname)
    first = start_nvim()
    assert first.call("stdpath", "data") + "/workflow/runs" == str(old_runs)
    # A run made as the plugin made them before it had its own places.
    first.exec_lua("vim.g.workflow = {runs_dir = ...}", str(old_runs))
    first.cmd("WorkflowStart essay")
    old_id = first.state()["run"]
    first.type("A kept<Esc>")
    first.cmd("WorkflowNext")
    first.settle()
    first.quit()

    again = start_nvim()  # the defaults: no runs_dir
    assert again.call("getcompletion", "WorkflowResume ", "cmdline") == [old_id]
    offered = offered_by_resume(again)
    assert [(r["run"], r["dir"], r["done"]) for r in offered] == [(old_id, str(old_runs / old_id), 1)]
    state = again.state()
    assert (state["run"], state["dir"], state["step"]) == (old_id, str(old_runs / old_id), 2)
    assert again.lines() == ["# Outline of Topic: kept", "- point"]
    again.cmd("WorkflowNext")  # it goes on where it is
    again.settle()
    assert (
        "2/3 outline"
        in subprocess.run(
            ["git", "-C", str(old_runs / old_id), "log", "-1", "--format=%B"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    # A new run goes to $XDG_DATA_HOME/workflow.nvim/runs, whatever $NVIM_APPNAME says. (Its id
    # names the second it starts in: another second than the old run's, so that both are offered.)
    while time.strftime("%Y%m%d-%H%M%S") == old_id[:15]:
        time.sleep(0.05)
    again.cmd("WorkflowStart essay")
    new = again.state()
    assert Path(new["dir"]).parent == home.root / "data" / "workflow.nvim" / "runs" == home.runs
    again.cmd("WorkflowStop")
    assert again.call("getcompletion", "WorkflowResume ", "cmdline") == [new["run"], old_id]  # newest first
    again.cmd(f"WorkflowResume {old_id}")
    assert again.state()["dir"] == str(old_runs / old_id)

    again.cmd("checkhealth workflow")
    report = "\n".join(again.lines())
    assert f"OK runs directory: {home.runs}" in report
    assert f"runs are also read from Neovim's older directory {old_runs}" in report


def test_the_older_runs_directory_is_not_read_when_the_person_sets_runs_dir(
    start_nvim: Any, home: Home, essay: Path
) -> None:
    first = start_nvim()
    first.exec_lua("vim.g.workflow = {runs_dir = ...}", str(home.legacy_runs))
    first.cmd("WorkflowStart essay")
    first.cmd("WorkflowStop")
    first.exec_lua("vim.g.workflow = {runs_dir = ...}", str(home.root / "mine"))
    assert first.call("getcompletion", "WorkflowResume ", "cmdline") == []


def python_of(home: Home, venv: Path) -> Path:
    """A stand-in for an environment's interpreter: the test's Python, which has the packages."""
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    return python


def test_the_environment_an_earlier_install_made_is_still_chosen_after_the_new_one(
    nvim: Editor, home: Home, essay: Path
) -> None:
    candidates = "return require('workflow.host').candidates({})"
    new = str(home.venv / "bin" / "python")
    assert nvim.exec_lua(candidates)[:2] == [
        [new, "the plugin's own environment"],
        [home.python, "g:python3_host_prog"],
    ]

    old = python_of(home, home.data / "workflow" / "venv")  # Neovim's stdpath('data')/workflow/venv
    assert nvim.exec_lua(candidates)[:3] == [
        [new, "the plugin's own environment"],
        [str(old), "the plugin's older environment"],
        [home.python, "g:python3_host_prog"],
    ]
    nvim.exec_lua("require('workflow.host').forget()")
    nvim.cmd("WorkflowStart essay")  # works with no new install
    assert nvim.exec_lua("return require('workflow.host').running().python") == str(old)
    chosen = json.loads((home.root / "cache" / "workflow.nvim" / "python.json").read_text(encoding="utf-8"))["neovim"]
    assert (chosen["python"], chosen["origin"]) == (str(old), "the plugin's older environment")

    python_of(home, home.venv)  # :WorkflowInstall made the new one: it comes first
    nvim.exec_lua("require('workflow.host').forget()")
    nvim.cmd("WorkflowStatus")
    assert nvim.exec_lua("return require('workflow.host').running().python") == new


def test_the_log_and_the_install_go_to_the_plugins_places(nvim: Editor, home: Home) -> None:
    assert nvim.exec_lua("return require('workflow.host').log_file()") == str(home.log)
    assert nvim.exec_lua("return require('workflow.host').venv()") == str(home.venv)
    nvim.cmd("WorkflowList")
    pid = nvim.exec_lua("return require('workflow.host').running().pid")
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert argv[-3:] == [b"--log", str(home.log).encode(), b""]
    assert home.log.is_file()  # its stderr goes there from the start


# -- one rule in three languages ---------------------------------------------------------------

ENVIRONMENTS = {
    "every XDG variable set": {
        "XDG_DATA_HOME": "{root}/d",
        "XDG_CONFIG_HOME": "{root}/c",
        "XDG_CACHE_HOME": "{root}/k",
        "XDG_STATE_HOME": "{root}/s",
    },
    "none set": {},
    "all empty": {"XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "XDG_STATE_HOME": ""},
    "some set, one with a trailing slash, NVIM_APPNAME": {
        "XDG_DATA_HOME": "{root}/d/",
        "XDG_STATE_HOME": "",
        "NVIM_APPNAME": "work",
    },
}


def environment(tmp_path: Path, given: dict[str, str]) -> dict[str, str]:
    """A clean environment: HOME under ``tmp_path``, and only the XDG variables of ``given``."""
    xdg = ("XDG_", "NVIM", "VIM", "MYVIMRC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(xdg)}
    env.update(HOME=str(tmp_path / "home"), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update({k: v.format(root=tmp_path) for k, v in given.items()})
    return env


def python_places(env: dict[str, str]) -> dict[str, str]:
    p = places.plugin(env)
    return {key: str(getattr(p, key)) for key in KEYS}


LUA = """
vim.opt.runtimepath:prepend(arg[1])
local places = require('workflow.places')
io.stdout:write(vim.json.encode({ places = places.get(), legacy = places.legacy() }))
"""


def lua_places(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    script = tmp_path / "places.lua"
    script.write_text(LUA, encoding="utf-8")
    done = subprocess.run(
        [nvim_binary(), "--clean", "-l", str(script), str(ROOT)],
        cwd=tmp_path,  # Neovim makes its directories, and takes an empty $XDG_*_HOME as relative
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("given", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_lua_computes_the_places_python_does(tmp_path: Path, given: dict[str, str]) -> None:
    env = environment(tmp_path, given)
    got = lua_places(tmp_path, env)
    assert {k: got["places"][k] for k in KEYS} == python_places(env)
    # Neovim's older places: Python's rule gives what stdpath() says. (Neovim 0.11 takes an empty
    # $XDG_DATA_HOME as a relative path: stdpath('data') is 'nvim'. No one kept runs there.)
    if "" not in (given.get("XDG_DATA_HOME"), given.get("XDG_CONFIG_HOME")):
        assert got["legacy"] == {k: str(v) for k, v in places.legacy(env)._asdict().items()}


VIM_SCRIPT = """
vim9script
try
  writefile([json_encode(workflow#places#Get())], $WORKFLOW_TEST_OUT)
catch
  writefile([json_encode({error: v:exception, where: v:throwpoint})], $WORKFLOW_TEST_OUT)
endtry
qa!
"""


@pytest.mark.parametrize("given", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_vim_computes_the_places_python_does(tmp_path: Path, given: dict[str, str]) -> None:
    require(VIM, "vim")
    assert VIM is not None
    env = environment(tmp_path, given)
    out = tmp_path / "vim-places.json"
    env["WORKFLOW_TEST_OUT"] = str(out)
    script = tmp_path / "places.vim"
    script.write_text(VIM_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [VIM, "-Nu", "NONE", "-i", "NONE", "--not-a-term", "-es", "--cmd", f"set rtp^={ROOT}", "-S", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"Vim wrote no result (exit {done.returncode}): {done.stdout!r} {done.stderr!r}"
    got = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in got, got
    assert set(BASE_KEYS) <= set(got), f"workflow#places#Get() lacks {sorted(set(BASE_KEYS) - set(got))}"
    expected = python_places(env)
    shared = [k for k in KEYS if k in got]
    assert {k: got[k] for k in shared} == {k: expected[k] for k in shared}
