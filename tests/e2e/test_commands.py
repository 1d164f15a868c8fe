"""Command steps and trust in a real Neovim and a real Vim: nothing runs untrusted, output streams,
the record is committed with its exit status, cancel and timeout leave no process behind.

The trust prompt is answered through the test harness: Neovim's `require('workflow.trust').confirm`
and Vim's `g:WorkflowConfirm` are replaced by a function that records the question and answers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim.protocol import COMMANDS

from tests.vim import Vim, needs_vim

from .conftest import Editor, Home, git, wait_for

BUILD = """
title: Build
steps:
  - id: notes
    title: Notes
    instructions: Write notes.
  - id: tests
    title: Tests
    instructions: Run them.
    run: |
      printf 'one\\ntwo\\n'
      cat "$WORKFLOW_STEP_NOTES" > "$WORKFLOW_RUN_DIR/../../../../seen-notes"
      pwd > "$WORKFLOW_RUN_DIR/../../../../seen-pwd"
"""


FAIL = "title: F\nsteps:\n  - id: a\n    title: A\n    instructions: x\n    run: echo n; exit 3\n"


def hostile_workflow(marker: Path) -> str:
    return f"""
title: Hostile
steps:
  - id: a
    title: A
    instructions: First.
  - id: b
    title: B
    instructions: It runs.
    run: touch {marker}
    autorun: true
"""


def answer_with(nvim: Editor, choice: int) -> None:
    """Every trust question is kept in vim.g.asked and answered with ``choice`` (1 Trust, 2 Deny)."""
    nvim.exec_lua(
        "local choice = ...; vim.g.asked = {}; require('workflow.trust').confirm = function(prompt)"
        " vim.g.asked = vim.list_extend(vim.g.asked, {prompt}); return choice end",
        choice,
    )


def asked(nvim: Editor) -> list[str]:
    return list(nvim.eval("g:asked"))


def wait_until_done(nvim: Editor, path: Path) -> list[str]:
    """The step buffer's lines once its command's record (its last line "[...]") is shown."""
    return wait_for(lambda: (ls := nvim.lines()) and ls[-1].startswith("[") and path.exists() and ls, timeout=30)


def processes_in_group(pgid: int) -> list[str]:
    out = subprocess.run(["ps", "-e", "-o", "pgid=,stat=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[0] == str(pgid) and not line.split()[1].startswith("Z")]


def test_an_untrusted_workflow_runs_nothing_whatever_the_person_does(nvim: Editor, home: Home) -> None:
    marker = home.root / "SOMEWHERE"
    home.write_workflow("hostile", hostile_workflow(marker))
    answer_with(nvim, 2)  # Deny
    nvim.cmd("WorkflowStart hostile")
    assert not marker.exists()
    nvim.cmd("WorkflowNext")  # opens step b, whose autorun asks: denied
    assert not marker.exists()
    assert len(asked(nvim)) == 1 and f"touch {marker}" in asked(nvim)[0]
    for command in ("WorkflowStatus", "WorkflowList", "WorkflowPrev", "WorkflowGoto b", "WorkflowLog"):
        nvim.cmd(command)
        nvim.command("silent! close")  # a page or log window
        assert not marker.exists(), command
    assert "you denied the commands" in nvim.error("WorkflowRun")
    assert "its command has not run" in nvim.error("WorkflowNext")
    nvim.settle()
    assert not marker.exists()
    assert len(asked(nvim)) == 1  # denied is remembered: no prompt again


def every_command_workflow(ran: Path, checked: Path) -> str:
    """A workflow whose commands would leave a mark: a check command, a run step, autorun."""
    return f"""
title: Hostile
steps:
  - id: a
    title: A
    instructions: First.
    check:
      command: touch {checked}
  - id: b
    title: B
    instructions: It runs.
    run: touch {ran}
    autorun: true
    optional: true
"""


# What each command is given, in a step buffer of the run; None: not tried, and why.
ARGUMENTS: dict[str, str | None] = {
    "start": "hostile",
    "goto": "b",
    "revert": "a",
    "resume": "RUN",
    "new": "another",
    "annotate": "",
    "trust": None,  # the one command that allows: tested on its own above and below
    "install": None,  # builds a Python environment from PyPI: nothing of a workflow file runs there
}


@pytest.mark.parametrize("where", ["a", "b"])
def test_no_command_of_the_plugin_runs_an_untrusted_workflows_commands(nvim: Editor, home: Home, where: str) -> None:
    """Every command in protocol.COMMANDS (a new one is tried without being named here), from each
    step: the marks of `run:` and `check.command` never appear, whatever is answered to a question."""
    ran, checked = home.root / "RAN", home.root / "CHECKED"
    home.write_workflow("hostile", every_command_workflow(ran, checked))
    answer_with(nvim, 2)  # Deny, each time it is asked
    nvim.cmd("WorkflowStart hostile")
    run_id = nvim.state()["run"]
    tried = []
    for command in COMMANDS:
        argument = ARGUMENTS.get(command.name, "")
        if argument is None:
            continue
        nvim.command(f"silent! WorkflowGoto {where}")
        for bang in ("", "!") if command.bang else ("",):
            line = f"{command.command}{bang} {argument.replace('RUN', run_id)}".strip()
            nvim.command(f"silent! {line}")
            nvim.command("silent! only")  # a page, log or health window
            nvim.settle()
            assert not ran.exists() and not checked.exists(), line
            tried.append(line)
    untried = {c.command for c in COMMANDS} - {line.split()[0].rstrip("!") for line in tried}
    assert untried == {"WorkflowTrust", "WorkflowInstall"}
    assert not ran.exists() and not checked.exists()
    assert any(f"touch {ran}" in question for question in asked(nvim))


def test_trust_then_a_change_to_the_file_asks_again(nvim: Editor, home: Home) -> None:
    marker = home.root / "SOMEWHERE"
    path = home.write_workflow("hostile", hostile_workflow(marker))
    answer_with(nvim, 1)  # Trust
    nvim.cmd("WorkflowStart hostile")
    nvim.cmd("WorkflowNext")  # autorun: asked, trusted, run once
    wait_for(marker.exists, timeout=30)
    assert len(asked(nvim)) == 1
    marker.unlink()
    nvim.cmd("WorkflowStart hostile")
    nvim.cmd("WorkflowNext")
    wait_for(marker.exists, timeout=30)
    assert len(asked(nvim)) == 1  # the same bytes: not asked again
    marker.unlink()
    path.write_text(path.read_text().replace("First.", "First, changed."))
    answer_with(nvim, 2)
    nvim.cmd("WorkflowStart hostile")
    nvim.cmd("WorkflowNext")
    assert len(asked(nvim)) == 1 and not marker.exists()  # changed: asked again, and denied
    # :WorkflowTrust on a trusted file says so and offers to revoke; :WorkflowTrust! trusts at once.
    nvim.cmd("WorkflowTrust!")
    # Enter keeps a trusted file trusted; Escape changes nothing, and says so.
    nvim.exec_lua("require('workflow.trust').confirm = function(_, _, default) vim.g.default = default; return 0 end")
    nvim.cmd(f"WorkflowTrust {path}")
    assert nvim.eval("g:default") == 1 and "is still trusted: nothing changed" in nvim.messages()
    answer_with(nvim, 2)
    nvim.cmd(f"WorkflowTrust {path}")
    assert "is trusted as it is now" in asked(nvim)[0] and "Deny revokes it" in asked(nvim)[0]
    assert "is no longer trusted" in nvim.messages()


def test_a_command_step_streams_is_committed_with_its_exit_and_text_reaches_it_only_as_a_file(
    nvim: Editor, home: Home
) -> None:
    home.write_workflow("build", BUILD)
    answer_with(nvim, 1)
    nvim.cmd("WorkflowStart build")
    hostile = ["$(touch PWNED) `touch PWNED2` 'quote\" \\", "second line"]
    nvim.current.buffer[:] = hostile
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowRun")
    step = Path(nvim.current.buffer.name)
    lines = wait_until_done(nvim, step)
    assert lines[:3] == [
        "$ printf 'one\\ntwo\\n'",
        '> cat "$WORKFLOW_STEP_NOTES" > "$WORKFLOW_RUN_DIR/../../../../seen-notes"',
        '> pwd > "$WORKFLOW_RUN_DIR/../../../../seen-pwd"',
    ]
    assert lines[3:5] == ["one", "two"] and lines[5].startswith("[exit 0 after ")
    assert step.read_text().split("\n")[:-1] == lines
    assert not nvim.current.buffer.options["modified"]
    assert (home.root / "seen-notes").read_text() == "\n".join(hostile) + "\n"
    assert (home.root / "seen-pwd").read_text().strip() == str(home.project)
    assert not list(home.root.rglob("PWNED*")) and not list(home.project.rglob("PWNED*"))
    nvim.cmd("WorkflowNext")
    nvim.settle()
    run_dir = step.parent
    message = git(run_dir, "log", "-1", "--format=%B")
    assert "Workflow-Exit: 0" in message
    assert "one\ntwo" in git(run_dir, "show", "HEAD:" + step.name)


def test_a_failing_command_leaves_the_step_open(nvim: Editor, home: Home) -> None:
    home.write_workflow("fail", FAIL)
    answer_with(nvim, 1)
    nvim.cmd("WorkflowStart fail")
    nvim.cmd("WorkflowRun")
    lines = wait_until_done(nvim, Path(nvim.current.buffer.name))
    assert lines[-2:] == ["n", lines[-1]] and lines[-1].startswith("[exit 3 after ")
    assert "failed (exit 3)" in nvim.messages()
    assert "its command failed (exit 3)" in nvim.error("WorkflowNext")
    nvim.settle()
    assert git(Path(nvim.current.buffer.name).parent, "log", "--oneline", check=False).strip() == ""


def test_cancel_and_timeout_kill_the_whole_process_group(nvim: Editor, home: Home) -> None:
    pids = home.root / "pid"
    home.write_workflow(
        "slow",
        f"""
        title: Slow
        steps:
          - id: a
            title: A
            instructions: x
            run: echo $$ > {pids}; echo started; sleep 300 & sleep 300
        """,
    )
    answer_with(nvim, 1)
    nvim.cmd("WorkflowStart slow")
    nvim.cmd("WorkflowRun")
    wait_for(lambda: "started" in nvim.lines(), timeout=30)
    pgid = int(pids.read_text())
    assert processes_in_group(pgid)
    # The step file is written from the text the command started with: nothing can be typed meanwhile.
    assert nvim.eval("&modifiable") == 0
    assert "E21" in str(nvim.exec_lua("return select(2, pcall(vim.cmd, 'normal! ityped'))"))
    nvim.cmd("WorkflowCancel")
    lines = wait_until_done(nvim, Path(nvim.current.buffer.name))
    assert "started" in lines and lines[-1].startswith("[cancelled after ")
    assert nvim.eval("&modifiable") == 1 and "typed" not in "".join(lines)
    assert wait_for(lambda: not processes_in_group(pgid), timeout=10) is True
    # run_timeout: killed, with a message, nothing left.
    nvim.exec_lua("vim.g.workflow = { run_timeout = 1 }")
    pids.unlink()
    nvim.cmd("WorkflowRun")
    lines = wait_for(lambda: (ls := nvim.lines()) and ls[-1].startswith("[killed") and ls, timeout=30)
    assert lines[-1] == "[killed after 1 s: the run_timeout option]"
    assert lines.count("started") == 1  # the earlier record was replaced
    pgid = int(pids.read_text())
    assert wait_for(lambda: not processes_in_group(pgid), timeout=10) is True
    assert "killed after 1 s (run_timeout)" in nvim.messages()


def test_text_saved_while_a_command_runs_is_kept_and_a_step_opened_again_stays_locked(nvim: Editor, home: Home) -> None:
    home.write_workflow(
        "slow", "title: Slow\nsteps:\n  - id: a\n    title: A\n    instructions: x\n    run: echo started; sleep 300\n"
    )
    answer_with(nvim, 1)
    nvim.cmd("WorkflowStart slow")
    path = Path(nvim.current.buffer.name)
    nvim.cmd("WorkflowRun")
    wait_for(lambda: "started" in nvim.lines(), timeout=30)
    nvim.cmd("enew")
    nvim.cmd("WorkflowGoto a")  # opened again while it runs: still no typing
    assert Path(nvim.current.buffer.name) == path and nvim.eval("&modifiable") == 0
    # A save from elsewhere (another editor, a script) while it runs: the person's text stays above the record.
    path.write_text("MY TEXT\n")
    nvim.cmd("WorkflowCancel")
    lines = wait_until_done(nvim, path)
    assert lines[0] == "MY TEXT" and lines[-1].startswith("[cancelled after "), lines
    assert path.read_text().startswith("MY TEXT\n\n$ echo started; sleep 300\n")
    assert nvim.eval("&modifiable") == 1


# -- Vim -------------------------------------------------------------------------------------------

VIM_ANSWER = """
g:asked = []
g:answer = {answer}
g:WorkflowConfirm = (prompt, choices, default) => {{
  g:asked->add(prompt)
  return g:answer
}}
"""


@pytest.fixture
def vim(tmp_path: Path, home: Home) -> Vim:
    return Vim(tmp_path, {"runs_dir": str(home.runs)})


@needs_vim
def test_vim_an_untrusted_workflow_runs_nothing_then_trust_runs_it_and_a_change_asks_again(
    vim: Vim, home: Home
) -> None:
    marker = home.root / "SOMEWHERE"
    path = home.write_workflow("hostile", hostile_workflow(marker))
    result = vim.run(
        VIM_ANSWER.format(answer=2)
        + """
        var seen: list<bool> = []
        for command in ['WorkflowStart hostile', 'WorkflowNext', 'WorkflowRun', 'WorkflowStatus', 'WorkflowList',
            'WorkflowPrev', 'WorkflowGoto b', 'WorkflowLog', 'WorkflowNext', 'WorkflowNext']
          execute command
          g:Settle()
          seen->add(filereadable(MARKER))
        endfor
        g:Keep('seen', seen)
        g:Keep('asked', copy(g:asked))
        g:Keep('said', g:Said())
        WorkflowTrust
        g:Keep('asked_again', copy(g:asked))
        g:answer = 1
        WorkflowTrust
        WorkflowRun
        g:Keep('ran', g:WaitFor(() => filereadable(MARKER)))
        """.replace("MARKER", repr(str(marker)))
    )
    assert result["seen"] == [False] * 10
    assert len(result["asked"]) == 1 and f"touch {marker}" in result["asked"][0]
    assert any("you denied the commands" in line for line in result["said"]), result["said"]
    assert any("its command has not run" in line for line in result["said"]), "\n".join(result["said"])
    assert len(result["asked_again"]) == 2  # :WorkflowTrust asks, whatever was said before
    assert result["ran"] is True
    marker.unlink()
    path.write_text(path.read_text().replace("First.", "First, changed."))
    result = vim.run(
        VIM_ANSWER.format(answer=2)
        + """
        WorkflowStart hostile
        WorkflowNext
        g:Settle()
        g:Keep('asked', copy(g:asked))
        """
    )
    assert len(result["asked"]) == 1 and not marker.exists()  # changed: asked again


@needs_vim
def test_vim_no_command_of_the_plugin_runs_an_untrusted_workflows_commands(vim: Vim, home: Home) -> None:
    """The same in Vim: every command of protocol.COMMANDS, with and without !, from both steps."""
    ran, checked = home.root / "RAN", home.root / "CHECKED"
    home.write_workflow("hostile", every_command_workflow(ran, checked))
    lines = [
        f"{c.command}{bang} {ARGUMENTS.get(c.name, '')}".strip()
        for c in COMMANDS
        if ARGUMENTS.get(c.name, "") is not None
        for bang in (("", "!") if c.bang else ("",))
    ]
    result = vim.run(
        VIM_ANSWER.format(answer=2)
        + f"""
        WorkflowStart hostile
        g:Settle()
        var run = g:WorkflowState().run
        var seen: list<string> = []
        for where in ['a', 'b']
          for line in {lines!r}
            silent! execute 'WorkflowGoto ' .. where
            silent! execute substitute(line, 'RUN', run, '')
            silent! only
            g:Settle()
            if filereadable({str(ran)!r}) || filereadable({str(checked)!r})
              seen->add(where .. ': ' .. line)
            endif
          endfor
        endfor
        g:Keep('seen', seen)
        g:Keep('asked', copy(g:asked))
        """
    )
    assert result["seen"] == []
    assert not ran.exists() and not checked.exists()
    assert any(f"touch {ran}" in question for question in result["asked"])


@needs_vim
def test_vim_a_command_step_streams_is_committed_cancelled_and_timed_out(vim: Vim, home: Home) -> None:
    home.write_workflow("build", BUILD)
    pids = home.root / "pid"
    home.write_workflow(
        "slow",
        f"""
        title: Slow
        steps:
          - id: a
            title: A
            instructions: x
            run: echo $$ > {pids}; echo started; sleep 300 & sleep 300
        """,
    )
    result = vim.run(
        VIM_ANSWER.format(answer=1)
        + """
        WorkflowStart build
        setline(1, ["$(touch PWNED) `touch PWNED2` 'quote\\" \\\\", 'second line'])
        WorkflowNext
        WorkflowRun
        g:WaitFor(() => getline('$') =~ '^\\[exit')
        g:Keep('lines', getline(1, '$'))
        g:Keep('modified', &modified)
        g:Keep('path', expand('%:p'))
        WorkflowNext
        g:Settle()
        WorkflowTrust! .workflows/slow.yaml
        WorkflowStart slow
        WorkflowRun
        g:WaitFor(() => index(getline(1, '$'), 'started') >= 0)
        g:Keep('pgid', readfile(PIDS)[0])
        g:Keep('locked', &modifiable)
        try
          normal! ityped
        catch
          g:Keep('typing', v:exception)
        endtry
        WorkflowCancel
        g:WaitFor(() => getline('$') =~ '^\\[cancelled')
        g:Keep('cancelled', getline(1, '$'))
        g:Keep('unlocked', &modifiable)
        g:workflow.run_timeout = 1
        WorkflowRun
        g:WaitFor(() => getline('$') =~ '^\\[killed')
        g:Keep('killed', getline(1, '$'))
        g:Keep('pgid2', readfile(PIDS)[0])
        g:Keep('said', g:Said())
        """.replace("PIDS", repr(str(pids)))
    )
    lines = result["lines"]
    assert lines[3:5] == ["one", "two"] and lines[5].startswith("[exit 0 after "), lines
    assert result["modified"] == 0
    assert Path(result["path"]).read_text().split("\n")[:-1] == lines
    assert (home.root / "seen-notes").read_text() == "$(touch PWNED) `touch PWNED2` 'quote\" \\\nsecond line\n"
    assert not list(home.root.rglob("PWNED*")) and not list(home.project.rglob("PWNED*"))
    assert "Workflow-Exit: 0" in git(Path(result["path"]).parent, "log", "-1", "--format=%B")
    assert "started" in result["cancelled"] and result["cancelled"][-1].startswith("[cancelled after ")
    assert (result["locked"], result["unlocked"]) == (0, 1) and "E21" in result["typing"]
    assert "typed" not in "".join(result["cancelled"])
    assert result["killed"][-1] == "[killed after 1 s: the run_timeout option]"
    assert result["killed"].count("started") == 1
    for pgid in (result["pgid"], result["pgid2"]):
        assert wait_for(lambda pgid=pgid: not processes_in_group(int(pgid)), timeout=10) is True
    assert any("killed after 1 s (run_timeout)" in line for line in result["said"]), result["said"]


def branch(repo: Path, before: str, after: str, subject: str) -> None:
    """A repository whose main has app.py as ``before`` (and what is there already), and a branch
    ``feature`` (checked out) whose one commit ``subject`` makes it ``after``."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Pat")
    git(repo, "config", "user.email", "pat@example.org")
    (repo / "app.py").write_text(before)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Initial")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "app.py").write_text(after)
    git(repo, "commit", "-q", "-am", subject)


def test_code_review_on_a_real_repository(nvim: Editor, home: Home) -> None:
    """The bundled code-review, on a repository with a branch: its commands see the branch, the tests
    run, the notes start from the diff stat, and every step is committed (the bundled file is trusted)."""
    repo = home.project
    (repo / "Makefile").write_text("test:\n\t@echo 3 passed\n")
    branch(
        repo,
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
        "Add sub",
    )
    answer_with(nvim, 2)  # a question would be denied: none comes
    nvim.cmd("WorkflowStart code-review")
    assert nvim.lines() == ["main"]
    nvim.cmd("WorkflowNext")  # the changes step runs at once (autorun)
    lines = wait_until_done(nvim, Path(nvim.current.buffer.name))
    assert asked(nvim) == []
    text = "\n".join(lines)
    assert "Add sub" in text and "app.py | 4 ++++" in text and lines[-1].startswith("[exit 0 after "), text
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowRun")
    lines = wait_until_done(nvim, Path(nvim.current.buffer.name))
    assert "3 passed" in lines and lines[-1].startswith("[exit 0 after "), lines
    nvim.cmd("WorkflowNext")
    assert "app.py | 4 ++++" in "\n".join(nvim.lines())  # the notes start from the diff stat
    nvim.cmd("WorkflowNext")  # the notes as the template gave them: not completed
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "04-files.md"
    nvim.current.buffer.append("app.py: sub() is right; it needs a test.")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "05-summary.md"
    # The summary's gate: the template's decision line, and Risks with nothing under it.
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert Path(nvim.current.buffer.name).name == "05-summary.md"
    lines = nvim.lines()
    flagged = {lines[d["lnum"]] for d in nvim.exec_lua("return vim.diagnostic.get(0)")}
    assert flagged == {"# Risks", "Merge / merge after changes / do not merge, because ..."}, flagged
    nvim.current.buffer[:] = ["# Summary", "Merge.", "# Risks", "sub() has no test."]
    nvim.cmd("WorkflowNext")
    nvim.settle()
    run_dir = Path(nvim.state()["dir"])
    assert "Workflow-Exit: 0" in git(run_dir, "log", "--format=%B", "-1", "--grep=2/5")
    assert len(git(run_dir, "log", "--oneline").splitlines()) == 5


def test_a_command_step_runs_again_when_what_it_reads_has_changed(nvim: Editor, home: Home) -> None:
    """code-review: a wrong base fails step 2; fixing step 1 and coming back runs step 2 again (autorun),
    and a command step without autorun says that what it read has changed."""
    repo = home.project
    branch(repo, "x = 1\n", "x = 2\n", "Change x")
    nvim.cmd("WorkflowStart code-review")
    nvim.current.buffer[:] = ["develop"]
    nvim.cmd("WorkflowNext")
    lines = wait_until_done(nvim, Path(nvim.current.buffer.name))
    assert "'develop' is not a branch or commit here: fix step 1" in lines and lines[-1].startswith("[exit 2 ")
    nvim.cmd("WorkflowPrev")
    nvim.current.buffer[:] = ["main"]
    nvim.cmd("WorkflowNext")  # step 1 revised; step 2 opens and runs again: it read step 1
    lines = wait_for(lambda: (ls := nvim.lines()) and ls[-1].startswith("[exit 0") and ls, timeout=30)
    assert "Change x" in "\n".join(lines)
    home.write_workflow("two", BUILD.replace("    run: |", "    run: |\n      true"))
    answer_with(nvim, 1)
    nvim.cmd("WorkflowStart two")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowRun")
    wait_until_done(nvim, Path(nvim.current.buffer.name))
    nvim.cmd("WorkflowPrev")
    nvim.current.buffer[:] = ["other notes"]
    nvim.cmd("WorkflowGoto tests")
    stale = nvim.exec_lua(
        "local ns = vim.api.nvim_get_namespaces()['workflow_instructions'] or -1;"
        " local out = {}; for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, -1, 0, -1, {details = true})) do"
        " for _, vl in ipairs(m[4].virt_lines or {}) do for _, chunk in ipairs(vl) do"
        " table.insert(out, chunk[1]) end end end; return table.concat(out, '|')"
    )
    assert "'Notes' changed after this step's command ran: :WorkflowRun runs it again" in stale, stale


def test_quitting_the_editor_kills_a_running_command(start_nvim: Any, home: Home) -> None:
    pids = home.root / "pid"
    home.write_workflow(
        "slow",
        f"title: S\nsteps:\n  - id: a\n    title: A\n    instructions: x\n    run: echo $$ > {pids}; sleep 300\n",
    )
    nvim = start_nvim()
    nvim.cmd("WorkflowTrust! .workflows/slow.yaml")
    nvim.cmd("WorkflowStart slow")
    nvim.cmd("WorkflowRun")
    pgid = int(wait_for(lambda: pids.exists() and pids.read_text().strip(), timeout=30))
    assert processes_in_group(pgid)
    nvim.quit()
    assert wait_for(lambda: not processes_in_group(pgid), timeout=20) is True


def test_view_file_shows_it_read_only_then_asks_again(nvim: Editor, home: Home) -> None:
    marker = home.root / "SOMEWHERE"
    path = home.write_workflow("hostile", hostile_workflow(marker))
    nvim.exec_lua(
        "vim.g.asked = {}; local answers = {3, 1}; require('workflow.trust').confirm = function(prompt)"
        " vim.g.asked = vim.list_extend(vim.g.asked, {prompt}); return table.remove(answers, 1) end"
    )
    nvim.cmd("WorkflowStart hostile")
    nvim.cmd("WorkflowNext")  # autorun asks: View file, then Trust
    wait_for(marker.exists, timeout=30)
    assert len(asked(nvim)) == 2
    viewed = nvim.exec_lua(
        "for _, w in ipairs(vim.api.nvim_list_wins()) do local b = vim.api.nvim_win_get_buf(w)"
        " if vim.api.nvim_buf_get_name(b) == ... then return vim.bo[b].readonly end end return 'none'",
        str(path),
    )
    assert viewed is True


@needs_vim
def test_vim_view_file_shows_it_read_only_then_asks_again(vim: Vim, home: Home) -> None:
    marker = home.root / "SOMEWHERE"
    path = home.write_workflow("hostile", hostile_workflow(marker))
    result = vim.run(
        """
        g:asked = []
        g:answers = [3, 1]
        g:WorkflowConfirm = (prompt, choices, default) => {
          g:asked->add(prompt)
          return remove(g:answers, 0)
        }
        WorkflowStart hostile
        WorkflowNext
        g:Keep('ran', g:WaitFor(() => filereadable(MARKER)))
        g:Keep('asked', len(g:asked))
        g:Keep('viewed', getbufvar(bufnr(PATH), '&readonly'))
        """.replace("MARKER", repr(str(marker))).replace("PATH", repr(str(path)))
    )
    assert result["ran"] is True and result["asked"] == 2 and result["viewed"] == 1


@needs_vim
def test_vim_a_step_opened_again_while_its_command_runs_stays_locked_and_saved_text_is_kept(
    vim: Vim, home: Home
) -> None:
    home.write_workflow(
        "slow", "title: Slow\nsteps:\n  - id: a\n    title: A\n    instructions: x\n    run: echo started; sleep 300\n"
    )
    result = vim.run(
        VIM_ANSWER.format(answer=1)
        + """
        WorkflowStart slow
        var path = expand('%:p')
        WorkflowRun
        g:WaitFor(() => index(getline(1, '$'), 'started') >= 0)
        enew
        WorkflowGoto a
        g:Keep('locked', [expand('%:p') == path, &modifiable])
        writefile(['MY TEXT'], path)
        WorkflowCancel
        g:WaitFor(() => getline('$') =~ '^\\[cancelled')
        g:Keep('lines', getline(1, '$'))
        g:Keep('unlocked', &modifiable)
        """
    )
    assert result["locked"] == [True, 0]
    assert result["lines"][0] == "MY TEXT" and result["lines"][-1].startswith("[cancelled after "), result["lines"]
    assert result["unlocked"] == 1
