"""Finishing a run, reopening it and exporting it, in a real Neovim and a real Vim 9, side by side.

Completing the last step marks the run finished with a tag object under refs/workflow/finished/
(never refs/tags/), fires WorkflowFinished and makes the run's step buffers read-only with a
one-line notice; :WorkflowReopen makes them editable again in a commit that says so; finishing
again keeps the earlier finish under a ref of its own. :WorkflowExport writes the run as Markdown.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home, git
from .test_steps import ESSAY


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def finish_refs(repo: Path) -> list[str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objecttype)", "refs/workflow/", "refs/tags/")
    return out.splitlines()


# Vim: start the essay and complete its three steps (the run finishes); keep WorkflowState() as 'state'.
FINISH_IN_VIM = r"""
        WorkflowStart essay
        normal! A trains
        WorkflowNext
        WorkflowNext
        normal! iThe draft.
        WorkflowNext
        g:Settle()
        g:Keep('state', g:WorkflowState())
"""


def test_neovim_finish_reopen_and_export(nvim: Editor, essay: Path, home: Home) -> None:
    nvim.exec_lua(
        "_G.finished = {};"
        "vim.api.nvim_create_autocmd('User', {pattern = 'WorkflowFinished',"
        " callback = function(ev) table.insert(_G.finished, ev.data) end})"
    )
    run_id, d = finish_essay_in_neovim(nvim)
    ref = f"refs/workflow/finished/{run_id}"
    assert finish_refs(d) == [f"{ref} tag"]
    assert git(d, "for-each-ref", "--format=%(contents:subject)", ref).strip() == "essay: finished Write an essay"
    assert nvim.exec_lua("return _G.finished") == [{"workflow": "essay", "run": run_id, "dir": str(d), "ref": ref}]
    # the last step stays in view, read-only, saying how to change it
    notice = f"run {run_id} is finished: :WorkflowReopen to change it"
    assert nvim.current.buffer.name == str(d / "03-draft.md")
    assert (nvim.eval("&modifiable"), nvim.eval("&readonly")) == (0, 1)
    assert notice in nvim.virt_lines()
    assert nvim.error("WorkflowNext") == f"[workflow] {notice}"
    nvim.cmd("WorkflowGoto 1")
    assert nvim.eval("&modifiable") == 0 and notice in nvim.virt_lines()
    # reopen: a commit says so; every step buffer of the run is editable again
    nvim.clear_messages()
    nvim.cmd("WorkflowReopen")
    assert f"run {run_id} reopened" in nvim.messages()
    assert git(d, "log", "-1", "--format=%s").strip() == "essay: reopened"
    assert notice not in nvim.virt_lines()
    draft = nvim.exec_lua(f"return vim.fn.bufnr('{d / '03-draft.md'}')")
    assert nvim.eval("&modifiable") == 1 and nvim.eval(f"getbufvar({draft}, '&modifiable')") == 1
    nvim.cmd("WorkflowGoto draft")
    nvim.type("oMore.<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert finish_refs(d) == [f"{ref} tag", f"{ref}.1 tag"]  # the earlier finish stays reachable
    assert git(d, "rev-parse", f"{ref}^{{commit}}").strip() == git(d, "rev-parse", "HEAD").strip()
    assert len(nvim.exec_lua("return _G.finished")) == 2
    # the log tells the finishes and the reopening; <CR> on a finish shows its summary
    nvim.cmd("WorkflowLog")
    told = [line.split("  ", 2)[2] for line in nvim.current.buffer[1:5]]
    assert told == [
        "finished: all 3 steps done",
        "3/3 Draft (revised)",
        "reopened",
        "finished: all 3 steps done (an earlier finish)",
    ]
    nvim.type("<CR>")
    assert nvim.current.buffer[0] == f"tag finished/{run_id}"
    assert "3. Draft (" in "\n".join(nvim.current.buffer[:])
    nvim.type("q")
    nvim.type("q")
    # export: the default file lies beside the run, outside its repository; the message names it
    nvim.clear_messages()
    nvim.cmd("WorkflowExport")
    out = home.runs / f"{run_id}.md"
    text = out.read_text(encoding="utf-8")
    assert f"{out.name}" in nvim.messages()
    assert text.startswith("# Write an essay\n")
    assert "## 3. Draft\n\nThe draft.\nMore.\n" in text
    assert git(d, "status", "--porcelain").strip() == ""
    nvim.cmd(f"WorkflowExport {home.root / 'essay.md'}")
    assert (home.root / "essay.md").read_text(encoding="utf-8") == text


@needs_vim
def test_vim_finish_reopen_and_export(tmp_path: Path, home: Home, essay: Path) -> None:
    vim = Vim(tmp_path, {"runs_dir": str(home.runs)})
    result = vim.run(
        r"""
        g:finished = []
        autocmd User WorkflowFinished g:finished->add(g:workflow_event)
        """
        + FINISH_IN_VIM
        + r"""
        g:Keep('finished', [bufname(), &modifiable, &readonly, b:workflow_instructions.notice, g:Above()])
        g:Keep('events', g:finished)
        g:Said()
        try
          WorkflowNext
        catch
        endtry
        g:Keep('refused', g:Said())
        WorkflowGoto 1
        g:Keep('first', [&modifiable, get(b:workflow_instructions, 'notice', '')])
        WorkflowReopen
        g:Keep('reopened', [&modifiable, get(b:workflow_instructions, 'notice', ''), g:Said()])
        WorkflowGoto draft
        g:Keep('draft_modifiable', &modifiable)
        WorkflowLog
        g:Keep('log', getline(2, 3))
        normal 2G
        execute "normal \<CR>"
        g:Keep('reopening', [bufname(), getline(1)])
        close
        normal 3G
        execute "normal \<CR>"
        g:Keep('finish', [getline(1), join(getline(1, '$'), "\n")])
        close
        close
        WorkflowGoto draft
        WorkflowExport
        g:Keep('exported', g:Said())
        """
    )
    run_id, d = result["state"]["run"], Path(result["state"]["dir"])
    ref = f"refs/workflow/finished/{run_id}"
    notice = f"run {run_id} is finished: :WorkflowReopen to change it"
    assert result["state"]["readonly"] is True or result["state"]["readonly"] == 1
    name, modifiable, readonly, shown, above = result["finished"]
    assert (Path(name).name, modifiable, readonly, shown) == ("03-draft.md", 0, 1, notice)
    assert "workflow_instructions_stale" in above[1]  # the notice is drawn as a line of its own
    assert result["events"] == [{"workflow": "essay", "run": run_id, "dir": str(d), "ref": ref}]
    assert f"[workflow] {notice}" in result["refused"]
    assert result["first"] == [0, notice]
    assert result["reopened"][:2] == [1, ""]
    assert any(f"run {run_id} reopened" in line for line in result["reopened"][2])
    assert result["draft_modifiable"] == 1
    assert [line.split("  ", 2)[2] for line in result["log"]] == ["reopened", "finished: all 3 steps done"]
    reopening = git(d, "rev-parse", "HEAD").strip()
    assert result["reopening"] == [f"workflow://{run_id}/{reopening[:7]}/diff", f"commit {reopening}"]
    assert result["finish"][0] == f"tag finished/{run_id}" and "3. Draft (" in result["finish"][1]
    assert finish_refs(d) == [f"{ref} tag"]
    assert git(d, "log", "-1", "--format=%s%n%(trailers:key=Workflow-Reopened,valueonly)").startswith(
        "essay: reopened\n20"
    )
    out = home.runs / f"{run_id}.md"
    assert any(line.startswith(f"[workflow] wrote {str(out)[:20]}") for line in result["exported"]), result["exported"]
    assert "## 3. Draft\n\nThe draft.\n" in out.read_text(encoding="utf-8")


def finish_essay_in_neovim(nvim: Editor) -> tuple[str, Path]:
    nvim.cmd("WorkflowStart essay")
    run_id, d = nvim.state()["run"], Path(nvim.state()["dir"])
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowNext")
    nvim.type("iThe draft.<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    return run_id, d


def test_neovim_annotate_and_skip_refuse_a_finished_runs_step(nvim: Editor, essay: Path) -> None:
    run_id, d = finish_essay_in_neovim(nvim)
    notice = f"[workflow] run {run_id} is finished: :WorkflowReopen to change it"
    assert nvim.current.buffer.name == str(d / "03-draft.md")
    assert nvim.error("WorkflowAnnotate") == notice  # its notes would be a file of the finished run
    assert nvim.error("WorkflowSkip") == notice  # before 'is not optional'
    assert git(d, "status", "--porcelain").strip() == ""
    nvim.cmd("enew")
    nvim.current.buffer[:] = ["Some text."]
    nvim.clear_messages()
    with contextlib.suppress(Exception):  # no model server here: what it says is not the finish
        nvim.cmd("WorkflowAnnotate")
    assert "is finished" not in nvim.messages()


@needs_vim
def test_vim_annotate_and_skip_refuse_a_finished_runs_step(tmp_path: Path, home: Home, essay: Path) -> None:
    vim = Vim(tmp_path, {"runs_dir": str(home.runs)})
    result = vim.run(
        FINISH_IN_VIM
        + r"""
        g:Said()
        for command in ['WorkflowAnnotate', 'WorkflowSkip']
          try
            execute command
          catch
          endtry
          g:Keep(command, g:Said())
        endfor
        enew
        setline(1, 'Some text.')
        try
          WorkflowAnnotate
        catch
        endtry
        g:Keep('other', g:Said())
        """
    )
    run_id, d = result["state"]["run"], Path(result["state"]["dir"])
    notice = f"[workflow] run {run_id} is finished: :WorkflowReopen to change it"
    assert result["WorkflowAnnotate"] == [notice]
    assert result["WorkflowSkip"] == [notice]
    assert not any("is finished" in line for line in result["other"]), result["other"]
    assert git(d, "status", "--porcelain").strip() == ""
