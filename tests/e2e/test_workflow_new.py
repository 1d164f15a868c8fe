""":WorkflowNew {name} in Neovim and in Vim: a workflow file from the skeleton, which validates and starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home


def validates(path: Path) -> str:
    """What `python -m workflow_nvim validate` says of ``path`` (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done
    return done.stdout + done.stderr


def test_neovim_new_makes_a_workflow_in_the_project_that_starts(nvim: Editor, home: Home) -> None:
    (home.project / ".workflows").mkdir()
    nvim.cmd("WorkflowNew trip")
    path = home.project / ".workflows" / "trip.yaml"
    assert nvim.current.buffer.name == str(path)
    assert "name: trip " in "\n".join(nvim.lines())
    assert "[workflow] created trip.yaml: fill it in, then :WorkflowStart trip" in nvim.messages()
    assert "ok: trip, 2 steps" in validates(path)

    nvim.cmd("WorkflowStart trip")
    assert nvim.state()["workflow"] == "trip"
    assert nvim.lines() == ["# Notes", "", "-"]
    assert nvim.error("WorkflowNew trip") == ("[workflow] .workflows/trip.yaml exists: edit it, or choose another name")
    assert nvim.error("WorkflowNew Trip").startswith("[workflow] 'Trip' is not a workflow name: use lowercase")


def test_neovim_new_asks_where_when_there_is_no_project(nvim: Editor, home: Home) -> None:
    nvim.exec_lua(
        "vim.ui.select = function(items, opts, cb) _G.offered = {opts.prompt,"
        " vim.tbl_map(opts.format_item, items)}; cb(items[1]) end"
    )
    nvim.cmd("WorkflowNew mine")
    prompt, labels = nvim.exec_lua("return _G.offered")
    assert prompt == "No .workflows/ here: where should mine.yaml go?"
    assert labels[0].startswith("your own workflows, ") and labels[1].startswith("a new .workflows/ here, in ")
    own = home.root / "config" / "workflow.nvim" / "workflows" / "mine.yaml"
    assert nvim.current.buffer.name == str(own)
    assert not (home.project / ".workflows").exists()
    nvim.cmd("WorkflowStart mine")
    assert nvim.state()["workflow"] == "mine"


@needs_vim
def test_vim_new_asks_where_makes_a_workflow_that_starts_and_never_overwrites(tmp_path: Path, home: Home) -> None:
    vim = Vim(tmp_path)
    result = vim.run(
        """
        WorkflowNew trip
        var menus = popup_list()
        g:Keep('menu', menus->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        popup_close(menus[0], 2)  # as <CR> on the second entry does: a new .workflows/ here
        g:Keep('file', expand('%:p'))
        g:Keep('said', g:Said())
        WorkflowStart trip
        g:Keep('lines', getline(1, '$'))
        g:Keep('workflow', g:WorkflowState().workflow)
        g:Said()
        WorkflowNew trip
        g:Keep('again', g:Said())
        """
    )
    [menu] = result["menu"]
    assert menu[0].startswith("your own workflows, ") and menu[1].startswith("a new .workflows/ here, in ")
    path = home.project / ".workflows" / "trip.yaml"
    assert result["file"] == str(path)
    assert "[workflow] created trip.yaml: fill it in, then :WorkflowStart trip" in result["said"]
    assert "ok: trip, 2 steps" in validates(path)
    assert result["workflow"] == "trip" and result["lines"] == ["# Notes", "", "-"]
    assert result["again"] == ["[workflow] .workflows/trip.yaml exists: edit it, or choose another name"]
