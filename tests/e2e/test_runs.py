""":WorkflowRuns in Neovim and in Vim, side by side: every run in a buffer, newest first, with its
progress ('finished' from its finish ref); <CR> resumes the run, l shows its log (and the log's <CR>
that run's text, though it is not the run open here), e exports it, q closes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home
from .test_steps import ESSAY


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def check_rows(lines: list[str]) -> None:
    """The newer run finished, the older one at 1/3; every line fits 80 columns (the run ids are in
    the log, l)."""
    assert lines[0] == "2 runs, 1 finished (<CR> open, e export, l log and id, q close)"
    assert "Write an essay" in lines[1] and " 3/3 " not in lines[1] and " finished " in lines[1]
    assert " 1/3 " in lines[2]
    assert max(len(line) for line in lines) <= 80, lines


def test_runs_buffer_in_neovim(nvim: Editor, essay: Path, home: Home) -> None:
    nvim.cmd("WorkflowStart essay")
    older = nvim.state()["run"]
    nvim.type("A first<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowStart essay")
    newer, newer_dir = nvim.state()["run"], Path(nvim.state()["dir"])
    for text in ("A second<Esc>", "Goone<Esc>", "Gotwo<Esc>"):
        nvim.type(text)
        nvim.cmd("WorkflowNext")
    nvim.settle()  # the last step's commit finishes the run (its finish ref)

    nvim.cmd("WorkflowRuns")
    lines = nvim.lines()
    check_rows(lines)
    assert nvim.current.buffer.name == "workflow://runs"
    assert nvim.current.buffer.options["modifiable"] is False
    assert nvim.call("line", ".") == 2  # on the newest run

    nvim.call("cursor", 3, 1)
    nvim.type("l")  # the older run's log, though the newer one is open
    log = nvim.lines()
    assert log[0].startswith(f"Write an essay, run {older}: 1 commit")
    assert log[1].endswith("1/3 Pick a topic")
    nvim.call("cursor", 2, 1)
    nvim.type("\r")
    assert nvim.lines() == ["Topic: first"]
    nvim.type("q")
    nvim.type("q")
    assert nvim.current.buffer.name == "workflow://runs"

    nvim.call("cursor", 2, 1)
    nvim.type("e")  # the newest run, exported beside it (a run of its own)
    assert "wrote " in nvim.messages() and (newer_dir.parent / f"{newer}.md").is_file()
    assert "# Write an essay" in (newer_dir.parent / f"{newer}.md").read_text(encoding="utf-8")

    nvim.call("cursor", 3, 1)
    nvim.type("\r")  # resumes the older run
    assert nvim.state()["run"] == older
    assert nvim.current.buffer.name.endswith("02-outline.txt")
    assert nvim.call("bufwinid", "workflow://runs") == -1

    nvim.cmd("WorkflowRuns")
    nvim.type("q")
    assert nvim.call("bufexists", "workflow://runs") == 0


def test_no_run_yet_in_neovim(nvim: Editor, home: Home) -> None:
    nvim.cmd("WorkflowRuns")
    assert nvim.lines() == [f"no runs in {home.runs}: :WorkflowStart {{name}} starts one"]


@needs_vim
def test_runs_buffer_in_vim(tmp_path: Path, home: Home, essay: Path) -> None:
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    first = vim.run(
        r"""
        WorkflowStart essay
        g:Keep('older', g:WorkflowState().run)
        normal! A first
        WorkflowNext
        WorkflowStart essay
        g:Keep('newer', [g:WorkflowState().run, g:WorkflowState().dir])
        normal! A second
        WorkflowNext
        normal! Goone
        WorkflowNext
        normal! Gotwo
        WorkflowNext
        g:Settle()
        """
    )
    older, (newer, newer_dir) = first["older"], first["newer"]
    result = vim.run(
        r"""
        WorkflowRuns
        g:Keep('list', [getline(1, '$'), bufname(), &modifiable, line('.')])
        cursor(3, 1)
        normal l
        g:Keep('log', getline(1, '$'))
        cursor(2, 1)
        execute "normal \<CR>"
        g:Keep('text', getline(1, '$'))
        normal q
        normal q
        g:Keep('back', bufname())
        cursor(2, 1)
        normal e
        g:Keep('exported', g:Said())
        cursor(3, 1)
        execute "normal \<CR>"
        g:Keep('resumed', [g:WorkflowState().run, bufname(), bufwinid('workflow://runs')])
        WorkflowRuns
        normal q
        g:Keep('closed', bufexists('workflow://runs'))
        """
    )
    lines, name, modifiable, line = result["list"]
    check_rows(lines)
    assert (name, modifiable, line) == ("workflow://runs", 0, 2)
    assert result["log"][0].startswith(f"Write an essay, run {older}: 1 commit")
    assert result["text"] == ["Topic: first"]
    assert result["back"] == "workflow://runs"
    exported = Path(newer_dir).parent / f"{newer}.md"
    assert exported.is_file() and any("wrote " in line for line in result["exported"]), result["exported"]
    run, buffer, window = result["resumed"]
    assert (run, Path(buffer).name, window) == (older, "02-outline.txt", -1)
    assert result["closed"] == 0


def test_a_broken_run_says_so_in_one_line_in_neovim(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    broken, broken_dir = nvim.state()["run"], Path(nvim.state()["dir"])  # a run of its own: its own .git
    nvim.type("A first<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    nvim.cmd("WorkflowStart essay")  # the broken run is no longer the one open
    (broken_dir / ".git" / "HEAD").write_text("garbage\n", encoding="utf-8")

    nvim.cmd("WorkflowRuns")
    [row] = [line for line in nvim.lines() if broken in line]
    assert row.endswith(f"{broken}: git cannot read its .git (broken?)")
    nvim.call("cursor", nvim.lines().index(row) + 1, 1)
    nvim.clear_messages()
    nvim.type("\r")
    said = nvim.messages()
    assert "E5108" not in said and "traceback" not in said and "internal error" not in said, said
    assert f"[workflow] run {broken}: git cannot read its .git (broken?)" in said, said

    assert nvim.error(f"WorkflowResume {broken}") == f"[workflow] run {broken}: git cannot read its .git (broken?)"


@needs_vim
def test_a_broken_run_says_so_in_one_line_in_vim(tmp_path: Path, home: Home, essay: Path) -> None:
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    first = vim.run(
        r"""
        WorkflowStart essay
        g:Keep('broken', [g:WorkflowState().run, g:WorkflowState().dir])
        normal! A first
        WorkflowNext
        g:Settle()
        """
    )
    broken, broken_dir = first["broken"]
    (Path(broken_dir) / ".git" / "HEAD").write_text("garbage\n", encoding="utf-8")
    result = vim.run(
        rf"""
        WorkflowRuns
        cursor(search('{broken}'), 1)
        g:Said()
        execute "normal \<CR>"
        g:Keep('open', g:Said())
        try
          WorkflowResume {broken}
        catch
          g:Keep('threw', v:exception)
        endtry
        g:Keep('resume', g:Said())
        """
    )
    line = f"[workflow] run {broken}: git cannot read its .git (broken?)"
    assert result["open"] == [line]
    assert result["resume"] == [line] and "threw" not in result
