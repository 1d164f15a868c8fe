""":WorkflowStatus and :WorkflowList on an 80x24 screen: their lines in a window, never a Press-ENTER
prompt; paths written short (~ for home, relative to the working directory), so that a one-line
message stays one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Editor, Home
from .test_steps import ESSAY


def not_blocked(nvim: Editor) -> None:
    assert nvim.api.get_mode() == {"mode": "n", "blocking": False}, "Neovim waits at a prompt"


def page(nvim: Editor, name: str) -> list[str]:
    """The lines of the workflow://NAME window on screen (it must be the current window)."""
    assert nvim.current.buffer.name == f"workflow://{name}"
    assert nvim.call("bufwinid", nvim.current.buffer.number) == nvim.current.window.handle
    return nvim.lines()


def test_status_and_list_open_a_window_with_no_prompt(nvim: Editor, home: Home) -> None:
    # Started on a wider screen: the start message (the run id is long) is another point's.
    nvim.api.ui_attach(100, 24, {"ext_linegrid": True})
    nvim.cmd("WorkflowStart tutorial")
    nvim.api.ui_try_resize(80, 24)
    not_blocked(nvim)
    step = nvim.current.window
    nvim.cmd("WorkflowStatus")
    not_blocked(nvim)
    lines = page(nvim, "status")
    run = nvim.call("WorkflowState")["run"]
    assert lines[0] == f"Learn workflow.nvim (tutorial), run {run}"
    assert lines[1].startswith("  in ") and "workflow.nvim/runs/" in lines[1]
    # Each step with its file, as the tutorial's step 2 says.
    assert any(line.startswith("▶   1. ") and line.endswith("01-step-buffer.md") for line in lines), lines
    assert any(line.endswith("02-saving.md") for line in lines), lines
    assert lines[-1] == "0/8 done"
    assert nvim.current.window.height == len(lines)
    nvim.type("q")
    assert nvim.current.window == step  # q closes it: back in the step
    assert len(nvim.windows) == 1

    nvim.cmd("WorkflowList")
    not_blocked(nvim)
    lines = page(nvim, "list")
    assert any(line.startswith("tutorial ") for line in lines), lines
    nvim.cmd("WorkflowList")  # again: the same window, not another
    not_blocked(nvim)
    assert len(nvim.windows) == 2


def test_a_path_in_a_one_line_message_fits_an_80_column_screen(
    start_nvim: Any, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_home = home.root / ("a-rather-long-home-directory-name-" * 2).rstrip("-")
    data = long_home / ".local" / "share"
    data.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(long_home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    nvim = start_nvim()
    nvim.api.ui_attach(80, 24, {"ext_linegrid": True})
    nvim.cmd("WorkflowResume")  # no run yet: says where it looked
    not_blocked(nvim)
    (line,) = nvim.messages().splitlines()
    assert line == "[workflow] no unfinished runs in ~/.local/share/workflow.nvim/runs"
    assert int(nvim.call("strdisplaywidth", line)) <= 79


def test_list_writes_paths_relative_to_the_working_directory(nvim: Editor, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    nvim.cmd("WorkflowList")
    lines = page(nvim, "list")
    (essay,) = [line for line in lines if line.startswith("essay ")]
    assert essay.endswith("steps, project: .workflows/essay.yaml)"), essay
    assert str(Path(home.project)) not in "\n".join(lines)


def test_starting_a_run_on_an_80_column_screen_waits_for_no_key(nvim: Editor, home: Home) -> None:
    # The tutorial's start message once took 70 columns: with 'showcmd' on, a message that
    # reaches its column (v:echospace, 68 here) makes Neovim wait at "Press ENTER".
    nvim.api.ui_attach(80, 24, {"ext_linegrid": True})
    nvim.cmd("WorkflowStart tutorial")
    not_blocked(nvim)
    (line,) = nvim.messages().splitlines()
    assert line.startswith("[workflow] started run ") and line.endswith("(8 steps)"), line
