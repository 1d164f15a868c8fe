"""A step's checks stop :WorkflowNext, in a real Neovim and a real Vim 9: the failures on their lines
(Neovim: diagnostics in the namespace workflow_check; Vim: signs and the location list), nothing
committed nor staged; :WorkflowNext! commits with its trailer; :WorkflowCheck in a step buffer;
:WorkflowSkip on an optional step, and its refusal on one that is not."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home, git

GATED = """\
title: Gated
steps:
  - id: notes
    title: Notes
    instructions: Write the notes.
    template: |
      # Summary
      Replace this line.
      # Risks
    check:
      changed: true
      headings: [Summary, Risks]
      no_match: 'Replace this line'
  - id: extra
    title: Extra
    instructions: Write more, or skip it.
    template: |
      something
    optional: true
  - id: last
    title: Last
    instructions: Write the end.
"""

# (line, message) of the failures of the untouched template, in the order they are drawn.
FAILURES = [
    (2, "the placeholder is still there: replace it"),
    (2, "the text is still what the template gave: write the step's text"),
    (3, "nothing under the heading 'Risks': write it"),
]
SUMMARY = "step not done: 3 of 4 checks failed: line 2: the text is still what the template gave"
GOOD = ["# Summary", "It ships on Monday.", "# Risks", "None known."]


def commits(run_dir: Path) -> list[str]:
    """Subject and trailers of each commit of the run, newest first ([] before the first)."""
    out = git(run_dir, "log", "--format=%s%n%(trailers:only,unfold)%x00", check=False)
    return [c.strip() for c in out.split("\0") if c.strip()]


def staged(run_dir: Path) -> list[str]:
    return git(run_dir, "ls-files", check=False).split()


# -- Neovim -------------------------------------------------------------------


def diagnostics(nvim: Editor) -> list[tuple[int, str]]:
    found = nvim.exec_lua(
        "return vim.tbl_map(function(d) return {d.lnum + 1, d.message} end,"
        " vim.diagnostic.get(0, {namespace = require('workflow.check').ns}))"
    )
    return sorted((int(line), str(message)) for line, message in found)


def test_the_gate_in_neovim(nvim: Editor, home: Home) -> None:
    home.write_workflow("gated", GATED)
    nvim.cmd("WorkflowStart gated")
    nvim.settle()
    run_dir = Path(nvim.state()["dir"])
    nvim.clear_messages()
    nvim.cmd("WorkflowNext")
    nvim.settle()
    # Not completed: still in step 1, each failure on its line, one line said, nothing committed or staged.
    assert Path(nvim.current.buffer.name).name == "01-notes.md"
    assert diagnostics(nvim) == sorted(FAILURES)
    assert f"[workflow] {SUMMARY}" in nvim.messages()
    assert commits(run_dir) == [] and staged(run_dir) == []
    assert nvim.state()["steps"][0]["done"] is False

    # :WorkflowCheck here runs the step's checks on the buffer, unsaved; passing clears the marks.
    nvim.current.buffer[:] = GOOD
    nvim.cmd("WorkflowCheck")
    assert diagnostics(nvim) == []
    assert "[workflow] all 4 checks pass" in nvim.messages()
    nvim.current.buffer[:] = ["# Summary", "Replace this line.", "# Risks"]
    nvim.cmd("WorkflowCheck")
    assert diagnostics(nvim) == sorted(FAILURES)
    # Where the person stands, not a refusal: :WorkflowCheck completes nothing.
    assert "[workflow] 3 of 4 checks fail: line 2: the text is still" in nvim.messages()
    assert commits(run_dir) == []

    # ! completes it anyway, and the commit says so.
    notes = nvim.current.buffer.number
    nvim.cmd("WorkflowNext!")
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "02-extra.md"
    [commit] = commits(run_dir)
    assert commit.splitlines()[0] == "gated: 1/3 Notes"
    assert "Workflow-Check: skipped, 3 of 4 failed" in commit
    assert "step 1 'Notes' done, its checks skipped" in nvim.messages()
    assert nvim.exec_lua("return #vim.diagnostic.get(..., {namespace = require('workflow.check').ns})", notes) == 0

    # An optional step is skipped: empty, committed as skipped; the next one is not optional.
    nvim.cmd("WorkflowSkip")
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "03-last.md"
    assert commits(run_dir)[0].splitlines()[0] == "gated: 2/3 Extra (skipped)"
    assert "step 2 'Extra' skipped" in nvim.messages()
    assert "Workflow-Skipped: true" in commits(run_dir)[0]
    assert (run_dir / "02-extra.md").read_text() == ""
    assert nvim.error("WorkflowSkip") == (
        "[workflow] step 3 'Last' is not optional: complete it with :WorkflowNext "
        "(only steps with 'optional: true' can be skipped)"
    )
    assert len(commits(run_dir)) == 2
    nvim.cmd("WorkflowStatus")
    page = "\n".join(nvim.exec_lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "Extra [extra] (skipped)" in page


# -- Vim ----------------------------------------------------------------------

VIM_HELPERS = """
def g:Problems(): list<any>
  return workflow#check#Problems()->mapnew((_, p) => [p.line, p.note])->sort()
enddef
def g:Signs(): list<any>
  return sign_getplaced(bufnr(), {group: 'workflow_check'})[0].signs->mapnew((_, s) => s.lnum)->sort('n')
enddef
def g:Loclist(): list<any>
  return getloclist(0)->mapnew((_, i) => [i.lnum, i.text])->sort()
enddef
"""


@needs_vim
def test_the_gate_in_vim(tmp_path: Path, home: Home) -> None:
    home.write_workflow("gated", GATED)
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    result = vim.run(
        VIM_HELPERS
        + f"""
        WorkflowStart gated
        g:Settle()
        g:Keep('dir', g:WorkflowState().dir)
        g:Said()
        WorkflowNext
        g:Settle()
        g:Keep('failed', [fnamemodify(bufname(), ':t'), g:Problems(), g:Signs(), g:Loclist(), g:Said()])
        g:Keep('failed_state', g:WorkflowState().steps[0].done)
        setline(1, {GOOD!r})
        WorkflowCheck
        g:Keep('passed', [g:Problems(), g:Signs(), g:Said()])
        :%delete _
        setline(1, ['# Summary', 'Replace this line.', '# Risks'])
        WorkflowCheck
        g:Keep('checked', [g:Problems(), g:Said()])
        var notes = bufnr()
        WorkflowNext!
        g:Settle()
        g:Keep('banged', [fnamemodify(bufname(), ':t'), workflow#check#Problems(notes)])
        WorkflowSkip
        g:Settle()
        g:Keep('skipped', fnamemodify(bufname(), ':t'))
        g:Said()
        WorkflowSkip
        g:Keep('refused', g:Said())
        """
    )
    run_dir = Path(result["dir"])
    name, problems, signs, loclist, said = result["failed"]
    assert name == "01-notes.md"
    assert [tuple(p) for p in problems] == sorted(FAILURES)
    assert signs == [2, 2, 3]
    assert [tuple(i) for i in loclist] == sorted(FAILURES)
    assert any("[workflow] step not done: 3 of 4 checks failed: line 2" in line for line in said), said
    assert result["failed_state"] is False
    assert result["passed"][:2] == [[], []] and any("all 4 checks pass" in s for s in result["passed"][2])
    assert [tuple(p) for p in result["checked"][0]] == sorted(FAILURES)
    assert result["banged"] == ["02-extra.md", []]
    assert result["skipped"] == "03-last.md"
    assert any("step 3 'Last' is not optional" in line for line in result["refused"]), result["refused"]
    skip, bang = commits(run_dir)
    assert bang.splitlines()[0] == "gated: 1/3 Notes" and "Workflow-Check: skipped, 3 of 4 failed" in bang
    assert skip.splitlines()[0] == "gated: 2/3 Extra (skipped)" and "Workflow-Skipped: true" in skip
    assert result["errors"] == []


def test_nothing_staged_before_the_first_commit(nvim: Editor, home: Home) -> None:
    """The failing gate leaves the run's repository as it was: no commit, an empty index."""
    home.write_workflow("gated", GATED)
    nvim.cmd("WorkflowStart gated")
    nvim.settle()
    run_dir = Path(nvim.state()["dir"])
    before: Any = (commits(run_dir), staged(run_dir))
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert (commits(run_dir), staged(run_dir)) == before == ([], [])


COMMAND_GATED = """\
title: Command gated
steps:
  - id: notes
    title: Notes
    instructions: Write 'ok'.
    check:
      command: grep -q ok "$WORKFLOW_STEP_FILE"
  - id: last
    title: Last
    instructions: The end.
"""


def wait_for(what: Any, seconds: float = 30) -> Any:
    """``what()`` once it is true (a check command's push has come), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (found := what()):
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)
    return found


def test_a_check_command_asks_for_trust_then_gates_on_its_exit(nvim: Editor, home: Home) -> None:
    """check.command: asked about first (denied: nothing runs, not completed), then trusted: it runs
    in the background on the saved step file, its failure drawn when it ends; once it passes the step
    is completed (the front gives :WorkflowNext again, which runs nothing more)."""
    home.write_workflow("cgated", COMMAND_GATED)
    nvim.exec_lua(
        "vim.g.asked = {}; require('workflow.trust').confirm = function(prompt)"
        " vim.g.asked = vim.list_extend(vim.g.asked, {prompt}); return vim.g.answer end"
    )
    nvim.command("let g:answer = 2")  # Deny
    nvim.cmd("WorkflowStart cgated")
    run_dir = Path(nvim.state()["dir"])
    nvim.current.buffer[:] = ["ok"]
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "01-notes.md" and commits(run_dir) == []
    asked = list(nvim.eval("g:asked"))
    assert len(asked) == 1 and 'grep -q ok "$WORKFLOW_STEP_FILE"' in asked[0]
    nvim.command("let g:answer = 1")  # Trust, through :WorkflowTrust (a denied file is not asked again)
    nvim.cmd("WorkflowTrust")
    nvim.current.buffer[:] = ["not yet"]
    nvim.cmd("WorkflowNext")
    [(line, message)] = wait_for(lambda: diagnostics(nvim))
    assert line == 1 and "exit 1" in message, message
    assert Path(nvim.current.buffer.name).name == "01-notes.md" and commits(run_dir) == []
    nvim.current.buffer[:] = ["ok"]
    nvim.cmd("WorkflowNext")
    wait_for(lambda: Path(nvim.current.buffer.name).name == "02-last.md")
    nvim.settle()
    assert [c.splitlines()[0] for c in commits(run_dir)] == ["cgated: 1/2 Notes"]
