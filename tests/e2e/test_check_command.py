"""A step's check command never freezes the editor, in a real Neovim and a real Vim 9: it runs in
the background (the editor answers meanwhile), the step is completed when it passes, its failure is
drawn, :WorkflowCancel stops it (no process left, nothing committed), text typed meanwhile is not
completed, and after Deny :WorkflowNext! completes the step without running anything."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home, git


def slow(marker: Path, pids: Path) -> str:
    """A workflow whose first step's check command takes 3 s, then passes when the text says 'ok'."""
    return f"""\
title: Slow check
steps:
  - id: notes
    title: Notes
    instructions: Write 'ok'.
    check:
      no_match: 'TODO'
      command: echo $$ >> '{pids}'; sleep 3; touch '{marker}'; grep -q ok "$WORKFLOW_STEP_FILE"
  - id: last
    title: Last
    instructions: The end.
"""


def commits(run_dir: Path) -> list[str]:
    out = git(run_dir, "log", "--format=%s%n%(trailers:only,unfold)%x00", check=False)
    return [c.strip() for c in out.split("\0") if c.strip()]


def wait_for(what: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := what()):
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)
    return found


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies aside)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def diagnostics(nvim: Editor) -> list[tuple[int, str]]:
    found = nvim.exec_lua(
        "return vim.tbl_map(function(d) return {d.lnum + 1, d.message} end,"
        " vim.diagnostic.get(0, {namespace = require('workflow.check').ns}))"
    )
    return sorted((int(line), str(message)) for line, message in found)


def step_file(nvim: Editor) -> str:
    return Path(nvim.current.buffer.name).name


CHECKING = "[workflow] checking step 1: its check command runs (:WorkflowCancel stops it)"


def test_a_check_command_runs_in_the_background_in_neovim(nvim: Editor, home: Home, tmp_path: Path) -> None:
    marker, pids = tmp_path / "ran", tmp_path / "pids"
    home.write_workflow("slow", slow(marker, pids))
    nvim.cmd("WorkflowStart slow")
    nvim.cmd("WorkflowTrust!")
    run_dir = Path(nvim.state()["dir"])

    # It fails: :WorkflowNext answers at once, the editor answers meanwhile; the failure is drawn.
    nvim.current.buffer[:] = ["not yet"]
    nvim.clear_messages()
    nvim.cmd("WorkflowNext")
    assert nvim.eval("1") == 1 and step_file(nvim) == "01-notes.md"
    assert CHECKING in nvim.messages()
    [(line, message)] = wait_for(lambda: diagnostics(nvim))
    assert (line, message) == (1, "the check command failed (exit 1)")
    assert step_file(nvim) == "01-notes.md" and commits(run_dir) == []

    # :WorkflowCancel during it: nothing committed, no process left.
    marker.unlink()
    nvim.current.buffer[:] = ["ok"]
    nvim.cmd("WorkflowNext")
    assert nvim.error("WorkflowNext") == (
        "[workflow] step 1's check command is still running: wait, or :WorkflowCancel"
    )
    nvim.cmd("WorkflowCancel")
    wait_for(lambda: diagnostics(nvim) == [(1, "the check command was cancelled (:WorkflowCancel)")])
    pid = int(pids.read_text().split()[-1])
    assert not group_alive(pid) and not marker.exists()
    assert step_file(nvim) == "01-notes.md" and commits(run_dir) == []

    # Typing while it runs: not completed; a line says to :WorkflowNext again.
    nvim.cmd("WorkflowNext")
    nvim.current.buffer.append("and more")
    wait_for(lambda: "[workflow] step 1's checks pass: :WorkflowNext completes it" in nvim.messages())
    assert step_file(nvim) == "01-notes.md" and commits(run_dir) == []

    # It passes on the text as it is: the step is completed when it ends.
    marker.unlink()
    nvim.cmd("WorkflowNext")
    assert nvim.eval("1") == 1 and step_file(nvim) == "01-notes.md"
    wait_for(lambda: step_file(nvim) == "02-last.md")
    nvim.settle()
    assert [c.splitlines()[0] for c in commits(run_dir)] == ["slow: 1/2 Notes"]
    assert "Workflow-Check" not in commits(run_dir)[0]
    assert len(pids.read_text().split()) == 4  # once per :WorkflowNext that ran it, never again


def test_after_deny_next_bang_completes_and_runs_nothing_in_neovim(nvim: Editor, home: Home, tmp_path: Path) -> None:
    marker, pids = tmp_path / "ran", tmp_path / "pids"
    home.write_workflow("slow", slow(marker, pids))
    nvim.exec_lua("require('workflow.trust').confirm = function() vim.g.asked = 1; return 2 end")  # Deny
    nvim.cmd("WorkflowStart slow")
    run_dir = Path(nvim.state()["dir"])
    nvim.current.buffer[:] = ["ok"]
    nvim.cmd("WorkflowNext")
    assert nvim.eval("g:asked") == 1 and step_file(nvim) == "01-notes.md"
    nvim.cmd("WorkflowNext!")
    nvim.settle()
    assert step_file(nvim) == "02-last.md"
    [commit] = commits(run_dir)
    assert "Workflow-Check: skipped, 0 of 1 failed, the command not run" in commit
    assert not marker.exists() and not pids.exists()


@needs_vim
def test_a_check_command_runs_in_the_background_in_vim(tmp_path: Path, home: Home) -> None:
    marker, pids = tmp_path / "ran", tmp_path / "pids"
    home.write_workflow("slow", slow(marker, pids))
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    result = vim.run(
        f"""
        def g:Problems(): list<any>
          return workflow#check#Problems()->mapnew((_, p) => [p.line, p.note])
        enddef
        WorkflowStart slow
        WorkflowTrust!
        g:Keep('dir', g:WorkflowState().dir)
        setline(1, 'not yet')
        g:Said()
        WorkflowNext
        g:Keep('at_once', [fnamemodify(bufname(), ':t'), g:Said()])
        g:WaitFor(() => !empty(g:Problems()))
        g:Keep('failed', [fnamemodify(bufname(), ':t'), g:Problems()])
        delete({str(marker)!r})
        setline(1, 'ok')
        WorkflowNext
        WorkflowCancel
        g:WaitFor(() => g:Problems() == [[1, 'the check command was cancelled (:WorkflowCancel)']])
        g:Keep('cancelled', [fnamemodify(bufname(), ':t'), g:Problems()])
        g:Said()
        WorkflowNext
        append('$', 'and more')
        g:WaitFor(() => execute('messages') =~ 'checks pass: :WorkflowNext completes it')
        g:Keep('typed', fnamemodify(bufname(), ':t'))
        delete({str(marker)!r})
        WorkflowNext
        g:WaitFor(() => fnamemodify(bufname(), ':t') == '02-last.md')
        g:Settle()
        g:Keep('passed', fnamemodify(bufname(), ':t'))
        """
    )
    run_dir = Path(result["dir"])
    name, said = result["at_once"]
    assert name == "01-notes.md" and CHECKING in said, said
    assert result["failed"] == ["01-notes.md", [[1, "the check command failed (exit 1)"]]]
    assert result["cancelled"][0] == "01-notes.md"
    assert result["typed"] == "01-notes.md"
    assert result["passed"] == "02-last.md"
    assert [c.splitlines()[0] for c in commits(run_dir)] == ["slow: 1/2 Notes"]
    assert not any(group_alive(int(pid)) for pid in pids.read_text().split())
    assert len(pids.read_text().split()) == 4


@needs_vim
def test_after_deny_next_bang_completes_and_runs_nothing_in_vim(tmp_path: Path, home: Home) -> None:
    marker, pids = tmp_path / "ran", tmp_path / "pids"
    home.write_workflow("slow", slow(marker, pids))
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    result = vim.run(
        """
        g:WorkflowConfirm = (prompt, choices, default) => {
          g:asked = 1
          return 2
        }
        WorkflowStart slow
        g:Keep('dir', g:WorkflowState().dir)
        setline(1, 'ok')
        WorkflowNext
        g:Keep('asked', [get(g:, 'asked', 0), fnamemodify(bufname(), ':t')])
        WorkflowNext!
        g:Settle()
        g:Keep('banged', fnamemodify(bufname(), ':t'))
        """
    )
    assert result["asked"] == [1, "01-notes.md"] and result["banged"] == "02-last.md"
    [commit] = commits(Path(result["dir"]))
    assert "Workflow-Check: skipped, 0 of 1 failed, the command not run" in commit
    assert not marker.exists() and not pids.exists()
