"""Git is the run's memory: commits per step, log, resume, revert, locks, on real git."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import git_commits_running_in, gone

from .conftest import Editor, Home, git, wait_for
from .test_steps import ESSAY


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def run_dir(nvim: Editor) -> Path:
    return Path(nvim.state()["dir"])


def trailers(repo: Path, key: str = "Workflow-Step") -> list[str]:
    out = git(repo, "log", f"--format=%(trailers:key={key},valueonly)")
    return [line for line in out.splitlines() if line]


def test_each_completed_step_is_one_commit_with_trailers(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    run_id = nvim.state()["run"]
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowNext")
    nvim.type("iThe draft.<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()

    assert (d / ".git").is_dir()
    assert trailers(d) == ["3/3 draft", "2/3 outline", "1/3 topic"]
    assert trailers(d, "Workflow-Run") == [run_id] * 3
    assert trailers(d, "Workflow") == ["essay"] * 3
    assert git(d, "log", "--format=%s").splitlines() == [
        "essay: 3/3 Draft",
        "essay: 2/3 Outline",
        "essay: 1/3 Pick a topic",
    ]
    first = git(d, "rev-list", "--max-parents=0", "HEAD").strip()
    assert git(d, "show", "--name-only", "--format=", first).split() == [
        ".start/01-topic.md",
        ".start/run.json",
        "01-topic.md",
        "workflow.yaml",
    ]
    assert git(d, "show", "--name-only", "--format=", "HEAD").split() == [".start/03-draft.md", "03-draft.md"]
    assert git(d, "show", "HEAD:01-topic.md") == "Topic: trains\n"
    assert git(d, "show", "HEAD:workflow.yaml") == essay.read_text(encoding="utf-8")
    assert git(d, "status", "--porcelain") == ""
    # The standalone repository got an identity of its own (none is configured in the test's git).
    assert git(d, "config", "user.email").strip() == "workflow.nvim@localhost"
    assert nvim.state()["finished"] is True


def test_revising_a_step_makes_a_new_commit_and_no_change_makes_none(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto topic")
    nvim.type("A boats<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert git(d, "log", "--format=%s").splitlines() == ["essay: 1/3 Pick a topic (revised)", "essay: 1/3 Pick a topic"]
    assert git(d, "show", "HEAD:01-topic.md") == "Topic: boats\n"

    nvim.cmd("WorkflowGoto topic")
    nvim.clear_messages()
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert len(git(d, "log", "--format=%h").splitlines()) == 2
    assert "has not changed since its last commit: nothing to commit" in nvim.messages()
    assert Path(nvim.current.buffer.name).name == "02-outline.txt"


def in_project(nvim: Editor, project: Path) -> None:
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(project / ".workflow-runs"))


def test_runs_inside_a_project_commit_only_their_files(nvim: Editor, essay: Path, project: Path) -> None:
    in_project(nvim, project)
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    assert not (d / ".git").exists()
    nvim.type("A sailing<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()

    rel = d.relative_to(project).as_posix()
    assert git(project, "show", "--name-only", "--format=", "HEAD").split() == [
        f"{rel}/.start/01-topic.md",
        f"{rel}/.start/run.json",
        f"{rel}/01-topic.md",
        f"{rel}/workflow.yaml",
    ]
    assert git(project, "log", "-1", "--format=%an <%ae>").strip() == "Pat Person <pat@example.org>"
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    # The person's own changes: still staged, still unstaged, exactly as before.
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert git(project, "diff", "--cached", "notes.txt").count("+two (staged)") == 1
    assert git(project, "diff", "--name-only").split() == ["code.py"]
    assert (project / "code.py").read_text() == "x = 2  # unstaged\n"


def test_a_rejecting_hook_keeps_the_text_and_says_why(nvim: Editor, essay: Path, project: Path) -> None:
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'pre-commit: no trains allowed' >&2\nexit 1\n")
    hook.chmod(0o755)
    in_project(nvim, project)
    nvim.cmd("WorkflowStart essay")
    path = Path(nvim.current.buffer.name)
    nvim.type("A trains<Esc>")
    head = git(project, "rev-parse", "HEAD")
    nvim.clear_messages()

    nvim.cmd("WorkflowNext")  # the commit runs in the background: the editor does not wait for hooks
    nvim.settle()

    message = wait_for(lambda: "git refused" in nvim.messages() and nvim.messages())
    assert message.splitlines()[-1] == "[workflow] git refused the commit of step 1: pre-commit: no trains allowed"
    assert git(project, "rev-parse", "HEAD") == head
    assert path.read_text() == "Topic: trains\n"
    assert nvim.state()["steps"][0]["done"] is False
    # nothing of the run is left staged for the person's next commit
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    # Step 2 cannot be completed before step 1.
    assert "step 1 'Pick a topic' is not done yet" in nvim.error("WorkflowNext")

    hook.unlink()
    nvim.cmd("WorkflowGoto topic")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert trailers(project) == ["1/3 topic"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda repo: git(repo, "checkout", "-q", "--detach"), "has a detached HEAD: check out a branch first"),
        (lambda repo: (repo / ".git" / "index.lock").write_text(""), "index.lock"),
        (lambda repo: (repo / ".git" / "MERGE_HEAD").write_text("0" * 40 + "\n"), "in the middle of a merge"),
    ],
    ids=["detached-head", "index-lock", "merge"],
)
def test_unsafe_repository_states_are_refused(
    nvim: Editor, essay: Path, project: Path, setup: Any, expected: str
) -> None:
    in_project(nvim, project)
    nvim.cmd("WorkflowStart essay")
    path = Path(nvim.current.buffer.name)
    nvim.type("A kept<Esc>")
    setup(project)
    head = git(project, "rev-parse", "HEAD")

    message = nvim.error("WorkflowNext")

    assert expected in message
    assert git(project, "rev-parse", "HEAD") == head
    assert path.read_text() == "Topic: kept\n"
    assert (project / ".git" / "index.lock").exists() == (expected == "index.lock")  # never deleted


def test_a_project_without_identity_is_refused_at_start(nvim: Editor, essay: Path, home: Home) -> None:
    git(home.project, "init", "-q")
    in_project(nvim, home.project)
    message = nvim.error("WorkflowStart essay")
    assert "git has no user.name/user.email" in message
    assert "git config --global user.name" in message
    assert not (home.project / ".workflow-runs").exists() or list((home.project / ".workflow-runs").iterdir()) == []


def test_log_lists_commits_and_shows_text_and_diff(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    nvim.cmd("WorkflowLog")
    assert nvim.lines()[1:] == ["no step completed yet: :WorkflowNext commits the current step"]
    nvim.type("q")
    nvim.type("A first<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto 1")
    nvim.type("ccTopic: second<Esc>")
    nvim.cmd("WorkflowNext")

    nvim.cmd("WorkflowLog")
    lines = nvim.lines()
    hashes = git(d, "log", "--format=%h").split()
    assert lines[0].startswith("Write an essay, run ")
    assert lines[1].startswith(hashes[0]) and lines[1].endswith("1/3 Pick a topic (revised)")
    assert lines[2].startswith(hashes[1]) and lines[2].endswith("1/3 Pick a topic")
    assert nvim.current.buffer.options["modifiable"] is False

    nvim.call("cursor", 3, 1)  # the first version
    nvim.type("\r")
    assert nvim.lines() == ["Topic: first"]
    assert nvim.current.buffer.options["filetype"] == "markdown"
    nvim.type("q")
    nvim.call("cursor", 2, 1)
    nvim.type("d")
    diff = "\n".join(nvim.lines())
    assert "-Topic: first" in diff and "+Topic: second" in diff
    assert nvim.current.buffer.options["filetype"] == "git"
    nvim.type("q")
    assert nvim.current.buffer.name.startswith("workflow://log/")
    nvim.type("q")
    assert not nvim.current.buffer.name.startswith("workflow://log/")


def test_resume_after_neovim_is_killed(start_nvim, essay: Path) -> None:  # type: ignore[no-untyped-def]
    first = start_nvim()
    first.cmd("WorkflowStart essay")
    run_id = first.state()["run"]
    first.type("A kept<Esc>")
    first.cmd("WorkflowNext")
    first.settle()
    first.type("Goafter the crash<Esc>")
    first.cmd("write")
    first.type("ounsaved line<Esc>")  # typed, never written: this is what a crash loses
    os.kill(first.call("getpid"), signal.SIGKILL)

    again = start_nvim()
    again.exec_lua("vim.ui.select = function(items, opts, on_choice) _G.offered = items; on_choice(items[1]) end")
    again.cmd("WorkflowResume")

    offered = again.exec_lua("return _G.offered")
    assert [r["run"] for r in offered] == [run_id]
    assert offered[0]["done"] == 1 and offered[0]["total"] == 3
    state = again.state()
    assert state["run"] == run_id and state["step"] == 2
    assert [s["done"] for s in state["steps"]] == [True, False, False]
    assert again.lines() == ["# Outline of Topic: kept", "- point", "after the crash"]
    assert state["readonly"] is False  # the dead Neovim's lock was stale
    again.type("ochanged<Esc>")
    again.cmd("WorkflowNext")
    again.settle()
    assert trailers(Path(state["dir"])) == ["2/3 outline", "1/3 topic"]


def test_resume_by_id_and_finished_runs_are_not_offered(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    done_id = nvim.state()["run"]
    for _ in range(3):
        nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowStart essay")
    open_id = nvim.state()["run"]
    nvim.cmd("WorkflowStop")
    runs = nvim.exec_lua("return require('workflow.host').command('unfinished', {}, vim.g.workflow or {}).unfinished")
    assert [r["run"] for r in runs] == [open_id]
    assert done_id != open_id
    assert nvim.call("getcompletion", "WorkflowResume ", "cmdline")[:2] == [open_id, done_id]  # newest first
    nvim.cmd(f"WorkflowResume {open_id}")
    assert nvim.state()["run"] == open_id


def test_the_runs_directory_is_pythons_default_or_the_persons_own(nvim: Editor, essay: Path, home: Home) -> None:
    nvim.clear_messages()
    nvim.cmd("WorkflowResume")
    assert nvim.messages().splitlines() == [f"[workflow] no unfinished runs in {home.runs}"]
    nvim.exec_lua("vim.g.workflow = {runs_dir = 'my-runs'}")  # under the editor's directory
    nvim.cmd("WorkflowStart essay")
    assert run_dir(nvim).parent == home.project / "my-runs"


def test_revert_makes_later_steps_pending_and_keeps_their_text(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.type("Goold outline<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.type("iunfinished draft<Esc>")  # not saved, not committed
    nvim.settle()  # step 2's commit is made in the background
    commits_before = len(git(d, "log", "--format=%h").split())

    nvim.cmd("WorkflowRevert topic")

    state = nvim.state()
    assert state["step"] == 1
    assert [s["done"] for s in state["steps"]] == [True, False, False]
    assert not (d / "02-outline.txt").exists() and not (d / "03-draft.md").exists()
    assert Path(nvim.current.buffer.name).name == "01-topic.md"
    assert nvim.call("bufexists", str(d / "03-draft.md")) == 0
    subjects = git(d, "log", "--format=%s").splitlines()
    assert len(subjects) == commits_before + 2  # nothing rewritten: a kept-unfinished commit and the revert
    assert subjects[0] == "essay: back to 1/3 Pick a topic"
    assert trailers(d, "Workflow-Revert") == ["1/3 topic"]
    assert git(d, "show", "HEAD^:03-draft.md") == "unfinished draft\n"
    assert "old outline" in git(d, "show", "HEAD^:02-outline.txt")
    assert git(d, "status", "--porcelain") == ""

    nvim.type("ccTopic: boats<Esc>")
    nvim.cmd("WorkflowNext")
    assert nvim.lines() == ["# Outline of Topic: boats", "- point"]  # rendered again from the new text


def test_a_second_neovim_gets_the_run_read_only(start_nvim, essay: Path) -> None:  # type: ignore[no-untyped-def]
    first = start_nvim()
    first.cmd("WorkflowStart essay")
    run_id = first.state()["run"]

    second = start_nvim()
    second.clear_messages()
    second.cmd(f"WorkflowResume {run_id}")
    assert "done; read-only here: Neovim pid" in second.messages()
    assert second.state()["readonly"] is True
    assert second.current.buffer.options["modifiable"] is False
    message = second.error("WorkflowNext")
    assert f"run {run_id} is read-only here: Neovim pid" in message

    first.cmd("WorkflowNext")  # the first one is not disturbed
    assert first.state()["step"] == 2


def test_the_lock_is_released_on_stop(start_nvim, essay: Path) -> None:  # type: ignore[no-untyped-def]
    first = start_nvim()
    first.cmd("WorkflowStart essay")
    run_id = first.state()["run"]
    first.cmd("WorkflowStop")
    second = start_nvim()
    second.cmd(f"WorkflowResume {run_id}")
    assert second.state()["readonly"] is False


def host_children(nvim: Editor) -> list[str]:
    from .test_errors import host_pid

    pid = host_pid(nvim)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{c}/cmdline").read_text().replace("\0", " ") for c in children]


def test_no_git_processes_leak_over_many_steps(nvim: Editor, home: Home) -> None:
    steps = "".join(f"  - id: s{i}\n    title: S{i}\n    instructions: Step {i}.\n" for i in range(1, 101))
    home.write_workflow("long", f"name: long\ntitle: Long\nsteps:\n{steps}")
    nvim.cmd("WorkflowStart long")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    after_first = host_children(nvim)
    for _ in range(99):
        nvim.cmd("WorkflowNext")
    nvim.settle()
    assert nvim.state()["finished"] is True
    nvim.cmd("WorkflowLog")
    assert len(nvim.lines()) == 102  # the header, the finish, 100 commits
    assert nvim.lines()[1].endswith("  finished: all 100 steps done")
    assert host_children(nvim) == after_first == []


def test_a_restarted_python_host_picks_the_run_up_again(nvim: Editor, essay: Path) -> None:
    from .test_errors import host_pid

    nvim.cmd("WorkflowStart essay")
    nvim.type("A kept<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    os.kill(host_pid(nvim), signal.SIGKILL)
    wait_for(lambda: all(c.get("stream") != "job" for c in nvim.api.list_chans()))
    nvim.cmd("WorkflowNext")  # a new server reopens the run from git and goes on
    assert "the Python server had stopped (killed by signal 9); a new one took over" in nvim.messages()
    state = nvim.state()
    assert state["step"] == 3
    assert [s["done"] for s in state["steps"]] == [True, True, False]


def test_user_events_carry_the_runs_data(nvim: Editor, essay: Path) -> None:
    nvim.exec_lua(
        "_G.events = {};"
        "vim.api.nvim_create_autocmd('User', {pattern = {'WorkflowStarted', 'WorkflowStepCompleted',"
        " 'WorkflowFinished'}, callback = function(ev) table.insert(_G.events, {ev.match, ev.data}) end})"
    )
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    for _ in range(3):
        nvim.cmd("WorkflowNext")
    nvim.settle()
    events = wait_for(lambda: len(nvim.exec_lua("return _G.events")) >= 5 and nvim.exec_lua("return _G.events"))
    names = [name for name, _ in events]
    assert names == [
        "WorkflowStarted",
        "WorkflowStepCompleted",
        "WorkflowStepCompleted",
        "WorkflowStepCompleted",
        "WorkflowFinished",
    ]
    started = events[0][1]
    assert (started["workflow"], started["dir"]) == ("essay", str(d))
    first = events[1][1]
    assert (first["step"], first["id"], first["title"]) == (1, "topic", "Pick a topic")
    assert first["commit"] == git(d, "rev-list", "--reverse", "HEAD").split()[0]
    assert events[4][1]["run"] == started["run"]


def test_statusline_component(nvim: Editor, essay: Path) -> None:
    assert nvim.exec_lua("return require('workflow').statusline()") == ""
    nvim.cmd("WorkflowStart essay")
    nvim.cmd("WorkflowNext")
    assert nvim.exec_lua("return require('workflow').statusline()") == "essay 2/3"
    nvim.cmd("set statusline=%{v:lua.require'workflow'.statusline()}")
    nvim.cmd("redrawstatus")
    assert nvim.eval("nvim_eval_statusline(&statusline, {}).str") == "essay 2/3"


def slow_hook(project: Path, marker: Path) -> Path:
    """A pre-commit hook that writes its process id to ``marker``, then waits for a minute."""
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho $$ > '{marker}.new' && mv '{marker}.new' '{marker}'\nexec sleep 60\n")
    hook.chmod(0o755)
    return hook


@dataclass
class SlowCommit:
    """Step 1 of essay, completed with a pre-commit hook that waits for ``gate``, then edited again."""

    path: Path  # step 1's file
    marker: Path  # holds the hook's process id once it runs
    gate: Path  # the hook lets the commit go on once this exists (after a minute at most)


def type_during_a_slow_commit(nvim: Editor, project: Path, home: Home) -> SlowCommit:
    """:WorkflowNext on step 1 with a hook that holds the commit, then back to step 1 and type in it."""
    slow = SlowCommit(Path(), home.root / "hook-ran", home.root / "hook-may-go")
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f"#!/bin/sh\necho $$ > '{slow.marker}.new' && mv '{slow.marker}.new' '{slow.marker}'\n"
        f"i=0; while [ ! -e '{slow.gate}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done\n"
    )
    hook.chmod(0o755)
    in_project(nvim, project)
    nvim.cmd("WorkflowStart essay")
    slow.path = Path(nvim.current.buffer.name)
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    assert wait_for(slow.marker.exists)
    nvim.cmd("WorkflowPrev")  # back to step 1 while git still commits it
    assert Path(nvim.current.buffer.name) == slow.path
    nvim.type("o(more)<Esc>")
    return slow


@pytest.mark.parametrize("leave", ["doautocmd CursorHold", "enew"], ids=["idle", "leaving"])
def test_an_automatic_save_during_a_slow_commit_never_waits_and_saves_when_it_lands(
    nvim: Editor, essay: Path, project: Path, home: Home, leave: str
) -> None:
    nvim.cmd("set updatetime=3600000")  # no idle moment but the test's own: only the commit's answer may save
    slow = type_during_a_slow_commit(nvim, project, home)
    buf = nvim.current.buffer

    nvim.cmd(leave)  # an idle moment, or leaving the buffer: the editor saves step buffers by itself

    # It came back while git still runs the hook: the save did not wait for the commit, nor write under it.
    assert not gone(int(slow.marker.read_text())), "the hook ended before the save came back"
    assert slow.path.read_text() == "Topic: trains\n"
    assert buf.options["modified"]
    slow.gate.touch()
    assert wait_for(lambda: slow.path.read_text() == "Topic: trains\n(more)\n"), "not saved when the commit landed"
    assert not buf.options["modified"]
    rel = slow.path.relative_to(project).as_posix()
    assert git(project, "show", f"HEAD:{rel}") == "Topic: trains\n"  # the commit has the text of :WorkflowNext
    assert trailers(project) == ["1/3 topic"]
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]


def test_a_command_during_a_slow_commit_says_the_step_is_still_being_committed(
    nvim: Editor, essay: Path, project: Path, home: Home
) -> None:
    slow = type_during_a_slow_commit(nvim, project, home)

    message = nvim.error("WorkflowStatus")  # asked for: it waits a moment for git, then says why it cannot save

    assert message == "[workflow] git is still committing this step (a slow hook?): try again in a moment"
    assert slow.path.read_text() == "Topic: trains\n"
    slow.gate.touch()
    nvim.settle()
    nvim.cmd("WorkflowStatus")
    assert slow.path.read_text() == "Topic: trains\n(more)\n"


def test_quitting_during_a_slow_hook_stages_nothing_and_resume_makes_the_commit(  # type: ignore[no-untyped-def]
    start_nvim, essay: Path, project: Path, home: Home
) -> None:
    from .test_errors import host_pid

    marker = home.root / "hook-ran"
    hook = slow_hook(project, marker)
    first = start_nvim()
    in_project(first, project)
    first.cmd("WorkflowStart essay")
    run_id = first.state()["run"]
    first.type("A trains<Esc>")
    head = git(project, "rev-parse", "HEAD")
    first.cmd("WorkflowNext")
    assert wait_for(marker.exists)
    host = host_pid(first)

    first.quit()

    assert wait_for(lambda: gone(host)), "the Python host outlived its Neovim"
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]  # the person's own, only
    hook.unlink()
    again = start_nvim()
    in_project(again, project)
    again.cmd(f"WorkflowResume {run_id}")
    assert "step 1 'Pick a topic' was not committed when Neovim quit: committed now (" in again.messages()
    assert trailers(project) == ["1/3 topic"]
    assert git(project, "show", f"HEAD:.workflow-runs/{run_id}/01-topic.md") == "Topic: trains\n"
    state = again.state()
    assert [s["done"] for s in state["steps"]] == [True, False, False]
    assert state["step"] == 2
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert git(project, "diff", "--name-only").split() == ["code.py"]


KILLS = 20


def test_kill_9_during_next_never_stages_the_run_nor_loses_text(  # type: ignore[no-untyped-def]
    start_nvim, project: Path, home: Home
) -> None:
    """Neovim, its Python host and their git children killed -9 at random moments of :WorkflowNext,
    in a project with its own staged and unstaged changes; after each kill, a new Neovim resumes."""
    from .test_errors import host_pid

    steps = "".join(f"  - id: s{i}\n    title: S{i}\n    instructions: Step {i}.\n" for i in range(1, KILLS + 6))
    home.write_workflow("long", f"name: long\ntitle: Long\nsteps:\n{steps}")
    hooks = project / ".git" / "hooks"
    for name, seconds in (("pre-commit", "0.1"), ("post-commit", "0.03")):  # commits that take a while
        (hooks / name).write_text(f"#!/bin/sh\nsleep {seconds}\n")
        (hooks / name).chmod(0o755)
    staged_notes = git(project, "show", ":notes.txt")
    rng = random.Random(20261126)
    typed: list[str] = []
    run_id = ""

    for i in range(KILLS):
        ed = start_nvim(own_session=True)
        in_project(ed, project)
        if run_id:
            ed.cmd(f"WorkflowResume {run_id}")
        else:
            ed.cmd("WorkflowStart long")
            run_id = ed.state()["run"]
        d = project / ".workflow-runs" / run_id

        # what a person would find after each crash
        fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=project, capture_output=True, text=True)
        assert fsck.returncode == 0 and "error" not in fsck.stdout + fsck.stderr, fsck.stdout + fsck.stderr
        assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"], f"after kill {i}"
        assert git(project, "show", ":notes.txt") == staged_notes
        assert (project / "code.py").read_text() == "x = 2  # unstaged\n"
        assert not [
            line
            for line in git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
            if line.endswith(".workflow-tmp") or line.endswith(".tmp")
        ]
        history = git(project, "log", "-p", "--format=", "--", str(d)) + "".join(p.read_text() for p in d.glob("*.md"))
        assert [t for t in typed if t not in history] == [], f"typed text lost after kill {i}"
        state = ed.state()
        assert state["run"] == run_id and state["readonly"] is False

        marker = f"typed before kill {i}"
        ed.type(f"Go{marker}<Esc>")
        ed.cmd("write")
        typed.append(marker)
        nvim_pid, host = int(ed.call("getpid")), os.getpgid(host_pid(ed))
        ed.nvim.command("WorkflowNext", async_=True)
        time.sleep(rng.uniform(0.0, 0.3))
        for group in (host, nvim_pid):  # Neovim, its Python host, git and the hooks: all at once
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        assert wait_for(lambda pids=(nvim_pid, host): all(gone(p) for p in pids))
        with contextlib.suppress(Exception):
            ed.nvim.close()

    ed = start_nvim()
    in_project(ed, project)
    ed.cmd(f"WorkflowResume {run_id}")
    ed.settle()
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    done = [s["done"] for s in ed.state()["steps"]]
    assert done == sorted(done, reverse=True)  # the steps done are the first ones
    # every commit of the run is a step commit, none was made twice
    commits = git(project, "log", "--format=%(trailers:key=Workflow-Step,valueonly)", "--", str(d)).split("\n")
    steps = [c for c in commits if c]
    assert len(steps) == len(set(steps)) == done.count(True)


def test_a_crashed_neovim_leaves_no_commit_to_land_behind_the_resume(  # type: ignore[no-untyped-def]
    start_nvim, essay: Path, project: Path, home: Home
) -> None:
    from .test_errors import host_pid

    marker = home.root / "hook-ran"
    hook = slow_hook(project, marker)
    first = start_nvim()
    in_project(first, project)
    first.cmd("WorkflowStart essay")
    run_id = first.state()["run"]
    first.type("A trains<Esc>")
    first.cmd("WorkflowNext")
    assert wait_for(marker.exists)
    host = host_pid(first)
    assert git_commits_running_in(project)

    os.kill(first.call("getpid"), signal.SIGKILL)  # Neovim alone: its Python host sees its input end

    assert wait_for(lambda: gone(host)), "the Python host outlived its Neovim"
    assert wait_for(lambda: not git_commits_running_in(project)), "a step commit outlived the editor"
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(marker.read_text()), signal.SIGKILL)  # the hook git left behind
    hook.unlink()
    again = start_nvim()
    in_project(again, project)
    again.cmd(f"WorkflowResume {run_id}")
    assert "step 1 'Pick a topic' was not committed when Neovim quit: committed now (" in again.messages()
    assert trailers(project) == ["1/3 topic"]
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]


def test_a_command_that_overruns_its_deadline_frees_the_editor_and_the_next_starts_afresh(  # type: ignore[no-untyped-def]
    start_nvim, essay: Path, project: Path, home: Home, monkeypatch
) -> None:
    from .test_errors import host_pid

    monkeypatch.setenv("WORKFLOW_COMMAND_SECONDS", "2")  # read by the server Neovim starts
    nvim = start_nvim()
    in_project(nvim, project)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowNext")
    nvim.type("iA draft kept<Esc>")
    assert wait_for(lambda: trailers(project) == ["2/3 outline", "1/3 topic"])
    first = host_pid(nvim)
    marker = home.root / "hook-ran"
    slow_hook(project, marker)  # :WorkflowRevert commits the unfinished step itself, through this hook

    message = nvim.error("WorkflowRevert 1")  # waits 2 s, not the hook's minute

    assert message == (
        "[workflow] :Workflow revert did not finish in 2 s; the Python server was restarted and your saved "
        f"text is safe (details in {home.log}; please report it)"
    )
    assert gone(first) or wait_for(lambda: gone(first)), "the stuck server is still running"
    with contextlib.suppress(ProcessLookupError, FileNotFoundError, ValueError):
        os.kill(int(marker.read_text()), signal.SIGKILL)
    (project / ".git" / "hooks" / "pre-commit").unlink()
    nvim.cmd("WorkflowStatus")  # a new server, which reads the run from git
    assert host_pid(nvim) != first
    assert "2/3 done" in "\n".join(nvim.lines())  # (the status page) the revert never happened: nothing half-done
    assert (run_dir(nvim) / "03-draft.md").read_text(encoding="utf-8").startswith("A draft kept")


SIX = "name: six\ntitle: Six steps\ndescription: Six steps.\nsteps:\n" + "".join(
    f"  - id: {word}\n    title: {word.title()}\n    instructions: Write.\n    template: |\n      Notes on {word}:\n"
    for word in ("one", "two", "three", "four", "five", "six")
)


@pytest.fixture
def six(home: Home) -> Path:
    return home.write_workflow("six", SIX)


def workflow_lines(nvim: Editor) -> list[str]:
    return [line.removeprefix("[workflow] ") for line in nvim.messages().splitlines() if line.startswith("[workflow]")]


def complete_with(nvim: Editor, *texts: str) -> None:
    """Add ``text`` to the current step and complete it, for each text."""
    for text in texts:
        nvim.type(f"o{text}<Esc>")
        nvim.cmd("WorkflowNext")


def test_an_unchanged_step_completed_again_says_only_that_there_is_nothing_to_commit(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto topic")
    nvim.settle()
    nvim.clear_messages()

    nvim.cmd("WorkflowNext")
    nvim.settle()

    # One message, the true one: no "revised" first.
    assert workflow_lines(nvim) == ["step 1 'Pick a topic' has not changed since its last commit: nothing to commit"]
    assert len(git(run_dir(nvim), "log", "--format=%h").split()) == 1
    assert Path(nvim.current.buffer.name).name == "02-outline.txt"


def test_the_first_completion_since_a_revert_is_done_not_revised(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    complete_with(nvim, "- old point")
    nvim.cmd("WorkflowRevert topic")
    nvim.cmd("WorkflowNext")  # step 1 unchanged: step 2 opens again from its template
    nvim.settle()
    nvim.clear_messages()

    complete_with(nvim, "- new point")
    nvim.settle()

    assert workflow_lines(nvim) == ["step 2 'Outline' done"]
    assert git(d, "log", "-1", "--format=%s").strip() == "essay: 2/3 Outline"
    nvim.cmd("WorkflowLog")
    assert nvim.lines()[1].endswith("  2/3 Outline")


def test_next_after_revising_an_earlier_step_goes_back_to_the_first_step_not_done(nvim: Editor, six: Path) -> None:
    nvim.cmd("WorkflowStart six")
    complete_with(nvim, "1", "2", "3", "4")
    assert Path(nvim.current.buffer.name).name == "05-five.md"
    nvim.cmd("WorkflowGoto 2")
    nvim.type("oa second thought<Esc>")
    nvim.clear_messages()

    nvim.cmd("WorkflowNext")

    assert Path(nvim.current.buffer.name).name == "05-five.md"
    assert nvim.state()["step"] == 5
    assert workflow_lines(nvim) == ["step 2 'Two' revised; back to step 5 'Five'"]
    nvim.settle()
    assert git(run_dir(nvim), "log", "-1", "--format=%s").strip() == "six: 2/6 Two (revised)"


def follow_log_to(nvim: Editor, commit: str) -> list[str]:
    """In :WorkflowLog, <CR> on the line of ``commit``: the text shown."""
    nvim.cmd("WorkflowLog")
    row = next(i for i, line in enumerate(nvim.lines(), 1) if line.startswith(commit))
    nvim.call("cursor", row, 1)
    nvim.type("\r")
    text = nvim.lines()
    nvim.type("q")
    nvim.type("q")
    return text


def test_revert_names_every_file_it_kept_and_the_way_back_to_its_text_works(nvim: Editor, six: Path) -> None:
    nvim.cmd("WorkflowStart six")
    d = run_dir(nvim)
    complete_with(nvim, "one", "two", "three", "four", "five")
    nvim.type("othe sixth, unfinished<Esc>")
    nvim.settle()
    nvim.clear_messages()

    nvim.cmd("WorkflowRevert 5")

    [message] = workflow_lines(nvim)
    saved = git(d, "rev-parse", "--short=7", "HEAD^").strip()
    assert git(d, "log", "-1", "--format=%s", "HEAD^").strip() == "six: kept unfinished 6/6 Six"
    assert message == f"back at step 5, 6 pending again; 06-six.md kept: :WorkflowLog, <CR> on {saved}"
    assert not (d / "06-six.md").exists()
    assert follow_log_to(nvim, saved) == ["Notes on six:", "the sixth, unfinished"]

    # Back from step 6 again, to step 3: every later file is named, and each one's text comes back.
    nvim.cmd("WorkflowGoto 5")
    nvim.cmd("WorkflowNext")
    nvim.type("oa new sixth<Esc>")
    nvim.settle()
    nvim.clear_messages()
    nvim.cmd("WorkflowRevert 3")

    [message] = workflow_lines(nvim)
    head, where = message.split("; kept: :WorkflowLog, <CR> on ")
    assert head == "back at step 3, 4-6 pending again"
    found = [part.split(" (") for part in where.split(", ")]
    assert [name.rstrip(")") for _, name in found] == ["04-four.md", "05-five.md", "06-six.md"]
    texts = {name.rstrip(")"): follow_log_to(nvim, commit) for commit, name in found}
    assert texts == {
        "04-four.md": ["Notes on four:", "four"],
        "05-five.md": ["Notes on five:", "five"],
        "06-six.md": ["Notes on six:", "a new sixth"],
    }


def test_d_in_the_log_shows_a_first_completion_as_the_lines_changed_from_the_template(
    nvim: Editor, essay: Path
) -> None:
    nvim.cmd("WorkflowStart essay")
    d = run_dir(nvim)
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    complete_with(nvim, "- my own point")
    nvim.settle()
    # The text the step started with is kept beside it, in the same commit.
    assert (d / ".start" / "02-outline.txt").read_text() == "# Outline of Topic: trains\n- point\n"
    assert git(d, "show", "--name-only", "--format=", "HEAD").split() == [
        ".start/02-outline.copies.json",  # what its template copied (:help workflow-stale)
        ".start/02-outline.txt",
        "02-outline.txt",
    ]

    nvim.cmd("WorkflowLog")
    nvim.call("cursor", 2, 1)  # 2/3 Outline, its first completion
    nvim.type("d")

    diff = nvim.lines()
    changed = [line for line in diff if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changed == ["+- my own point"]
    assert " # Outline of Topic: trains" in diff and " - point" in diff
    assert nvim.current.buffer.options["filetype"] == "git"
