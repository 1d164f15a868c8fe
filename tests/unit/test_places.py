"""Where the plugin keeps things (places.py): the XDG variables, an empty one unset, and Neovim's older places."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from workflow_nvim import places

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "rplugin" / "python3"


def test_without_xdg_variables_the_places_are_under_home() -> None:
    got = places.plugin({"HOME": "/home/ann"})
    assert got == places.Places(
        data=Path("/home/ann/.local/share/workflow.nvim"),
        config=Path("/home/ann/.config/workflow.nvim"),
        cache=Path("/home/ann/.cache/workflow.nvim"),
        state=Path("/home/ann/.local/state/workflow.nvim"),
    )
    assert got.runs == Path("/home/ann/.local/share/workflow.nvim/runs")
    assert got.venv == Path("/home/ann/.local/share/workflow.nvim/venv")
    assert got.workflows == Path("/home/ann/.config/workflow.nvim/workflows")
    assert got.log == Path("/home/ann/.local/state/workflow.nvim/workflow.log")
    assert got.python_cache == Path("/home/ann/.cache/workflow.nvim/python.json")
    assert got.spec_cache == Path("/home/ann/.cache/workflow.nvim/workflows")


@pytest.mark.parametrize("kind", ["data", "config", "cache", "state"])
def test_each_xdg_variable_moves_its_place_alone(kind: str) -> None:
    env = {"HOME": "/home/ann", f"XDG_{kind.upper()}_HOME": "/x/y"}
    got, default = places.plugin(env)._asdict(), places.plugin({"HOME": "/home/ann"})._asdict()
    assert got[kind] == Path("/x/y/workflow.nvim")
    assert {k: v for k, v in got.items() if k != kind} == {k: v for k, v in default.items() if k != kind}


def test_an_empty_xdg_variable_counts_as_unset() -> None:
    env = {"HOME": "/home/ann", "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "XDG_STATE_HOME": ""}
    assert places.plugin(env) == places.plugin({"HOME": "/home/ann"})


def test_a_trailing_slash_changes_nothing() -> None:
    assert places.plugin({"XDG_DATA_HOME": "/x/y/", "HOME": "/h"}).data == Path("/x/y/workflow.nvim")


def test_nvim_appname_moves_only_neovims_older_places() -> None:
    env = {"HOME": "/home/ann", "NVIM_APPNAME": "mynvim"}
    assert places.plugin(env) == places.plugin({"HOME": "/home/ann"})
    assert places.legacy(env) == places.Legacy(
        runs=Path("/home/ann/.local/share/mynvim/workflow/runs"),
        venv=Path("/home/ann/.local/share/mynvim/workflow/venv"),
        workflows=Path("/home/ann/.config/mynvim/workflows"),
    )


def test_neovims_older_places_follow_xdg_and_default_to_nvim() -> None:
    env = {"HOME": "/home/ann", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c", "NVIM_APPNAME": ""}
    assert places.legacy(env) == places.Legacy(
        runs=Path("/d/nvim/workflow/runs"), venv=Path("/d/nvim/workflow/venv"), workflows=Path("/c/nvim/workflows")
    )


def test_the_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    assert places.plugin().log == tmp_path / "s" / "workflow.nvim" / "workflow.log"


def test_without_home_nor_xdg_the_home_directory_is_asked_of_the_system() -> None:
    assert places.plugin({}).data == Path("~").expanduser() / ".local" / "share" / "workflow.nvim"


def test_runs_are_read_from_neovims_older_place_only_by_default_and_when_there(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    new, old = places.plugin(env).runs, places.legacy(env).runs
    assert places.runs_read(new, env) == [new]  # nothing there
    old.mkdir(parents=True)
    assert places.runs_read(new, env) == [new, old]
    assert places.runs_read(tmp_path / "mine", env) == [tmp_path / "mine"]  # the person's runs_dir
    assert places.runs_read(old, env) == [old]  # set to the older place itself: read once


def test_importing_places_costs_no_module_the_server_does_not_load_before_its_first_answer() -> None:
    code = (
        "import sys; import workflow_nvim.server; before = set(sys.modules); import workflow_nvim.places; "
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(PACKAGE_DIR)}, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() in (["['workflow_nvim.places']"], ["[]"])
