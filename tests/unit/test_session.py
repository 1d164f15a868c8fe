"""The commands behind :Workflow*, as the Lua side calls them."""

from __future__ import annotations

import builtins
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import workflow_nvim
from workflow_nvim import protocol
from workflow_nvim.errors import WorkflowError
from workflow_nvim.run import Run
from workflow_nvim.session import Session
from workflow_nvim.spec import load_workflow

from tests import hostile

BROKEN = "title: Broken\nsteps:\n  - id: a\n    title: A\n    intructions: x\n"


@pytest.fixture
def env(write, tmp_path: Path, blog_yaml) -> dict[str, Any]:
    """Parameters every command gets: a project dir with 'blog' and a bundled dir."""
    project, bundled = tmp_path / "project", tmp_path / "bundled"
    write("blog.yaml", blog_yaml, project)
    write("notes.yaml", "title: Notes\nsteps:\n  - id: note\n    title: Note\n    instructions: Write.\n", bundled)
    return {
        "dirs": [["project", str(project)], ["bundled", str(bundled)]],
        "options": {"runs_dir": str(tmp_path / "runs")},
    }


@pytest.fixture
def session() -> Session:
    return Session()


def call(session: Session, env: dict[str, Any], command: str, *args: str, **extra: Any) -> dict[str, Any]:
    """Run a command as the editor does; by default from the buffer of the step last opened."""
    if "buffer_step" not in extra and session.run is not None:
        extra["buffer_step"] = {"run": session.run.id, "id": session.run.current.id}
    return session.handle(command, {**env, "args": list(args), **extra})


def error(session: Session, env: dict[str, Any], command: str, *args: str, **extra: Any) -> str:
    with pytest.raises(WorkflowError) as info:
        call(session, env, command, *args, **extra)
    message = str(info.value)
    assert "\n" not in message, f"error message is not one line: {message!r}"
    return message


def test_the_server_handles_the_protocols_commands_and_no_others(session):
    handled = {c.name for c in protocol.COMMANDS if c.name not in protocol.FRONT_ONLY} | set(protocol.INTERNAL)
    assert sorted(session.commands) == sorted(handled)
    assert [name for name in vars(Session) if not name.startswith("__") and name in dir(builtins)] == []


def test_start_opens_the_first_step(session, env):
    r = call(session, env, "start", "blog")
    run = session.run
    assert run is not None
    path = Path(r["open"]["path"])
    assert path == run.dir / "01-topic.md"
    assert path.read_text(encoding="utf-8") == "# Topic\n"
    assert path.parent.parent == Path(env["options"]["runs_dir"])
    assert r["open"] == {
        "path": str(path),
        "scratch": str(run.dir / ".git" / "workflow-tmp"),  # where the editor's saves write first
        "run": run.id,
        "id": "topic",
        "index": 1,
        "total": 3,
        "title": "Pick a topic",
        "filetype": "markdown",
        "workflow": "Write a blog post",
        "progress": "Step 1/3: Pick a topic",
        "instructions": ["Write the topic in one line."],
        "readonly": False,
    }
    assert r["info"] == [f"started run {run.id} (3 steps)"]
    assert r["state"] == run.state()
    assert r["state"]["step"] == 1


def test_next_completes_the_step_and_opens_the_following_one(session, env, git):
    first = call(session, env, "start", "blog")
    Path(first["open"]["path"]).write_text("Cats\n", encoding="utf-8")
    r = call(session, env, "next")
    run_dir = Path(r["state"]["dir"])
    head = git(run_dir, "rev-parse", "HEAD")
    assert r["info"] == [f"step 1 'Pick a topic' done (commit {head[:7]})"]
    assert git(run_dir, "show", "HEAD:01-topic.md") == "Cats"
    assert (r["open"]["id"], r["open"]["index"], r["open"]["progress"]) == ("outline", 2, "Step 2/3: Outline")
    assert r["open"]["instructions"] == ["Outline the post about Cats."]
    assert Path(r["open"]["path"]).read_text(encoding="utf-8") == "Outline for: Cats\n"
    assert [s["done"] for s in r["state"]["steps"]] == [True, False, False]
    assert r["state"]["step"] == 2


def test_next_after_the_last_step_finishes_the_run(session, env, git):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    r = call(session, env, "next")
    run = session.run
    assert run is not None
    assert r["finished"] is True
    # the last step stays open, read-only, saying how to change it
    assert (r["open"]["id"], r["open"]["readonly"]) == ("draft", True)
    assert r["open"]["notice"] == f"run {run.id} is finished: :WorkflowReopen to change it"
    assert git(run.dir, "log", "-1", "--format=%s") == "blog: 3/3 Draft"  # the last step was committed
    assert r["info"] == ["blog finished: all 3 steps done (:WorkflowLog)"]
    assert r["state"]["finished"] is True
    assert r["state"]["readonly"] is True
    assert r["state"]["step"] == 3
    assert git(run.dir, "log", "--format=%s") == "blog: 3/3 Draft\nblog: 2/3 Outline\nblog: 1/3 Pick a topic"
    assert git(run.dir, "status", "--porcelain") == ""
    # the finish: a tag object under the plugin's own ref, never under refs/tags/
    ref = f"refs/workflow/finished/{run.id}"
    assert git(run.dir, "for-each-ref", "--format=%(refname) %(objecttype)") == (
        f"refs/heads/{git(run.dir, 'branch', '--show-current')} commit\n{ref} tag"
    )
    assert git(run.dir, "rev-parse", f"{ref}^{{commit}}") == git(run.dir, "rev-parse", "HEAD")
    message = git(run.dir, "for-each-ref", "--format=%(contents)", ref).split("\n")
    assert message[0] == "blog: finished Write a blog post"
    assert [re.sub(r"\(\d{4}-\d\d-\d\d \d\d:\d\d\)", "(DATE)", line) for line in message[1:]] == [
        "",
        "1. Pick a topic (DATE)",
        "2. Outline (DATE)",
        "3. Draft (DATE)",
        "",
        "by workflow.nvim <workflow.nvim@localhost>",
    ]
    assert sorted(p.name for p in run.dir.iterdir()) == [
        ".git",
        ".start",
        "01-topic.md",
        "02-outline.md",
        "03-draft.txt",
        "workflow.yaml",
    ]


def test_multi_line_instructions_are_a_list_of_lines(session, env, write, tmp_path):
    write(
        "multi.yaml",
        "title: M\nsteps:\n  - id: a\n    title: A\n    instructions: |\n      one\n\n      two\n",
        tmp_path / "project",
    )
    r = call(session, env, "start", "multi")
    assert r["open"]["instructions"] == ["one", "", "two"]


def test_prev_goes_back_and_stops_at_the_first_step(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    r = call(session, env, "prev")
    assert (r["open"]["id"], r["state"]["step"]) == ("topic", 1)
    assert "info" not in r
    assert error(session, env, "prev") == "already at the first step"


def test_goto_by_id_and_by_number(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    assert call(session, env, "goto", "topic")["open"]["id"] == "topic"
    assert call(session, env, "goto", "2")["open"]["id"] == "outline"


def test_goto_errors(session, env):
    call(session, env, "start", "blog")
    assert error(session, env, "goto", "outlin") == "blog has no step 'outlin', did you mean 'outline'?"
    assert error(session, env, "goto", "9") == "blog has steps 1 to 3, not 9"
    assert (
        error(session, env, "goto", "draft")
        == "step 'draft' is not reached yet: complete 'topic' first (:WorkflowNext)"
    )
    assert error(session, env, "goto", "9" * 5000) == "blog has steps 1 to 3, not 9999999999999999999…"
    assert error(session, env, "goto") == ":WorkflowGoto takes one step id or number"
    assert error(session, env, "goto", "a", "b") == ":WorkflowGoto takes one step id or number"
    assert session.run is not None and session.run.current.id == "topic"


def test_revising_a_step_of_a_reopened_run_stays_on_it_and_says_so(session, env, git):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    call(session, env, "next")
    call(session, env, "reopen")
    write_step(call(session, env, "goto", "outline"), "1. Fur\n")
    r = call(session, env, "next")
    assert r["info"] == [
        "step 2 'Outline' revised (commit "
        + git(r["state"]["dir"], "rev-parse", "--short=7", "HEAD")
        + "); all 3 steps done (:WorkflowLog)"
    ]
    # revising an earlier step does not finish the run again: its last step does
    assert (r["open"]["id"], r["open"]["readonly"], r["state"]["step"]) == ("outline", False, 2)
    assert "notice" not in r["open"]


def finish_blog(session: Session, env: dict[str, Any]) -> Run:
    """Start the blog workflow and complete its three steps: the run, finished."""
    call(session, env, "start", "blog")
    for _ in range(3):
        call(session, env, "next")
    assert session.run is not None
    return session.run


def test_status_says_finished_from_the_finish_ref_not_reopened(session, env):
    finish_blog(session, env)
    assert call(session, env, "status")["info"][-1] == "3/3 done, finished"
    call(session, env, "reopen")
    assert call(session, env, "status")["info"][-1] == "3/3 done"


def test_a_finished_run_is_read_only_until_reopened(session, env, git):
    run = finish_blog(session, env)
    notice = f"run {run.id} is finished: :WorkflowReopen to change it"
    r = call(session, env, "goto", "outline")
    assert (r["open"]["readonly"], r["open"]["notice"]) == (True, notice)
    for command in ("next", "revert"):
        args = ("topic",) if command == "revert" else ()
        assert error(session, env, command, *args) == notice
    # a restarted server reads it from git
    other = Session()
    r = call(other, env, "resume", run.id)
    assert (r["open"]["readonly"], r["open"]["notice"]) == (True, notice)
    other.handle("stop", env)
    # reopen: a commit says so, the buffers are editable again
    r = call(session, env, "reopen")
    assert r["info"] == [
        f"run {run.id} reopened (commit {git(run.dir, 'rev-parse', '--short=7', 'HEAD')}): "
        "completing its last step finishes it again"
    ]
    assert (r["open"]["id"], r["open"]["readonly"], r["state"]["readonly"]) == ("outline", False, False)
    assert "notice" not in r["open"]
    assert git(run.dir, "log", "-1", "--format=%s%n%(trailers:key=Workflow-Reopened,valueonly)").startswith(
        "blog: reopened\n20"
    )
    assert git(run.dir, "diff", "HEAD~1", "HEAD", "--stat") == ""  # it changes no file
    assert error(session, env, "reopen") == f"run {run.id} is not finished: there is nothing to reopen"
    assert call(Session(), env, "resume", run.id)["open"]["readonly"] is False


def test_finishing_again_moves_the_ref_and_keeps_the_earlier_one(session, env, git):
    run = finish_blog(session, env)
    ref = f"refs/workflow/finished/{run.id}"
    first = git(run.dir, "rev-parse", ref)
    call(session, env, "reopen")
    write_step(call(session, env, "goto", "draft"), "Cats are good.\n")
    r = call(session, env, "next")
    assert r["open"]["readonly"] is True and r["finished"] is True
    head = git(run.dir, "rev-parse", "--short=7", "HEAD")
    assert r["info"] == [
        f"step 3 'Draft' revised (commit {head}); blog finished again: all 3 steps done (:WorkflowLog)"
    ]
    assert git(run.dir, "rev-parse", f"{ref}^{{commit}}") == git(run.dir, "rev-parse", "HEAD")
    assert git(run.dir, "rev-parse", f"{ref}.1") == first  # the earlier finish, reachable
    assert git(run.dir, "rev-parse", ref) != first
    assert git(run.dir, "cat-file", "-t", f"{ref}.1") == "tag"
    call(session, env, "reopen")
    call(session, env, "next")
    assert git(run.dir, "for-each-ref", "--format=%(refname)", "refs/workflow/").split("\n") == [
        ref,
        f"{ref}.1",
        f"{ref}.2",
    ]


def test_the_log_tells_each_finish_and_reopening_where_it_happened(session, env, git):
    run = finish_blog(session, env)
    ref = f"refs/workflow/finished/{run.id}"
    first = git(run.dir, "rev-parse", ref)
    call(session, env, "reopen")
    write_step(call(session, env, "goto", "draft"), "Cats are good.\n")
    call(session, env, "next")
    log = call(session, env, "log")["log"]
    commits = git(run.dir, "log", "--format=%H").split()  # draft again, reopened, draft, outline, topic
    assert [(e["kind"], e["hash"]) for e in log["entries"]] == [
        ("finished", git(run.dir, "rev-parse", ref)),
        ("step", commits[0]),
        ("reopened", commits[1]),
        ("finished", git(run.dir, "rev-parse", f"{ref}.1")),
        ("step", commits[2]),
        ("step", commits[3]),
        ("step", commits[4]),
    ]
    assert git(run.dir, "rev-parse", f"{ref}.1") == first
    assert log["header"] == f"Write a blog post, run {run.id}: 5 commits"  # a finish is no commit
    lines = [e["line"].split("  ", 2)[2] for e in log["entries"]]
    assert lines == [
        "finished: all 3 steps done",
        "3/3 Draft (revised)",
        "reopened",
        "finished: all 3 steps done (an earlier finish)",
        "3/3 Draft",
        "2/3 Outline",
        "1/3 Pick a topic",
    ]
    assert all(e["line"].startswith(e["short"] + "  ") for e in log["entries"])
    # A finish's line shows the tag: its summary, then the commit it marks.
    shown = call(session, env, "show", log["entries"][0]["hash"], "", "diff")["text"]
    assert shown.startswith(f"tag finished/{run.id}\nTagger: ")
    assert "blog: finished Write a blog post" in shown and "3. Draft (" in shown
    assert f"commit {commits[0]}" in shown and "diff --git" not in shown
    # The steps' bookkeeping never sees them: the run is finished, all three steps done.
    assert call(session, env, "status")["info"][-1] == "3/3 done, finished"


def test_a_run_reset_behind_its_finish_is_not_finished(session, env, git):
    run = finish_blog(session, env)
    call(session, env, "stop")
    git(run.dir, "reset", "--hard", "HEAD~1")  # by hand: the finished commit is no longer in its history
    r = call(session, env, "resume", run.id)
    assert r["open"]["readonly"] is False and "notice" not in r["open"]


def test_export_writes_the_run_beside_it_and_says_where(session, env, git, tmp_path):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "next")
    run = session.run
    assert run is not None
    r = call(session, env, "export")
    out = Path(env["options"]["runs_dir"]) / f"{run.id}.md"
    assert r["info"] == [f"wrote {out}: run {run.id} as Markdown"]
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Write a blog post\n\nRun ")
    assert "## 1. Pick a topic\n\nCats" in text and "## 2. Outline (not done)" in text
    # to a file given, relative to the editor's directory
    r = call(session, env, "export", "out/run.md", cwd=str(tmp_path))
    assert (tmp_path / "out" / "run.md").read_text(encoding="utf-8") == text
    assert r["info"] == [f"wrote out/run.md: run {run.id} as Markdown"]  # shown as relative to it
    # another run than the current one (:WorkflowRuns' e)
    call(session, env, "next")
    call(session, env, "next")
    other = Session()
    r = other.handle("export", {**env, "args": [], "run_dir": str(run.dir)})
    assert "Finished 20" in out.read_text(encoding="utf-8").split("\n")[2]
    assert r["info"] == [f"wrote {out}: run {run.id} as Markdown"]
    assert other.run is None  # exporting opens no run
    assert error(Session(), env, "export").startswith("no workflow is running")


def test_export_says_a_skipped_step_was_skipped(session, env, write, blog_yaml):
    write(
        "blog.yaml",
        blog_yaml.replace("    title: Outline\n", "    title: Outline\n    optional: true\n"),
        Path(env["dirs"][0][1]),
    )
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "next")
    call(session, env, "skip")
    run = session.run
    assert run is not None
    call(session, env, "export")
    text = (Path(env["options"]["runs_dir"]) / f"{run.id}.md").read_text(encoding="utf-8")
    assert "## 2. Outline (skipped)\n\n_(skipped)_\n" in text
    assert "## 3. Draft (not done)\n\n_(not started)_" in text


def test_export_of_a_run_in_a_project_writes_outside_the_project(session, env, git, project, isolated_places):
    env = {**env, "options": {"runs_dir": str(project / "runs")}}
    call(session, env, "start", "blog")
    run = session.run
    assert run is not None and not run.repo.standalone
    r = call(session, env, "export")
    out = isolated_places / "data" / "workflow.nvim" / "exports" / f"{run.id}.md"
    assert out.is_file(), r
    assert f"{run.id}.md" not in git(project, "status", "--porcelain", "--untracked-files=all", "--ignored")


def test_the_step_buffer_the_person_is_in_decides_what_next_completes(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    run = session.run
    assert run is not None and run.current.id == "draft"
    # in the buffer of step 1 of this run: next completes step 1 and goes back to the first step not done
    r = call(session, env, "next", buffer_step={"run": run.id, "id": "topic"})
    assert r["open"]["id"] == "draft"
    assert r["info"] == [
        "step 1 'Pick a topic' has not changed since its last commit: nothing to commit; back to step 3 'Draft'"
    ]
    # a buffer of another run, or of a step that does not exist, is ignored
    r = call(session, env, "prev", buffer_step={"run": "other", "id": "draft"})
    assert r["open"]["id"] == "outline"
    r = call(session, env, "next", buffer_step={"run": run.id, "id": "nope"})
    assert r["open"]["id"] == "draft"


def test_status_lists_the_steps_with_done_and_current_marks(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    run = session.run
    assert run is not None
    r = call(session, env, "status")
    assert r["info"] == [
        f"Write a blog post (blog), run {run.id}",
        f"  in {run.dir}",
        " ✓  1. Pick a topic [topic]  01-topic.md",
        "▶   2. Outline [outline]     02-outline.md",
        "    3. Draft [draft]         03-draft.txt",
        "1/3 done",
    ]
    call(session, env, "next")
    call(session, env, "next")
    assert call(session, env, "status")["info"][-1] == "3/3 done, finished"


def test_list_shows_valid_broken_and_shadowed_workflows(session, env, write, tmp_path, blog_yaml):
    project, bundled = tmp_path / "project", tmp_path / "bundled"
    broken = write("broken.yaml", BROKEN, project)
    write("blog.yaml", blog_yaml, bundled)
    r = call(session, env, "list")
    assert r["state"] is None
    assert r["info"] == [
        f"blog             Write a blog post  (3 steps, project: {project / 'blog.yaml'})",
        f"                 shadows {bundled / 'blog.yaml'}",
        f"broken           INVALID  (project: {broken})",
        [
            f"  {broken}:5:5: unknown key 'intructions', did you mean 'instructions'? "
            "(keys of step 1: id, title, instructions, template, filetype, annotate, model, "
            "check, run, autorun, optional)",
            "error",
        ],
        [f"  {broken}:3:5: step 1 is missing the required key 'instructions'", "error"],
        f"notes            Notes  (1 step, bundled: {bundled / 'notes.yaml'})",
    ]


def test_list_with_nothing_found(session, tmp_path):
    r = session.handle("list", {"dirs": [["project", str(tmp_path / "none")]]})
    assert r["info"] == [f"no workflows found (searched {tmp_path / 'none'})"]


def test_stop_ends_the_run_and_keeps_its_files(session, env):
    call(session, env, "start", "blog")
    run = session.run
    assert run is not None
    r = call(session, env, "stop")
    assert r == {"info": [f"run {run.id} stopped; its files stay in {run.dir}"], "stopped": run.id, "state": None}
    assert session.run is None
    assert (run.dir / "01-topic.md").is_file()


@pytest.mark.parametrize("command", ["next", "prev", "goto", "status", "stop"])
def test_commands_that_need_a_run(session, env, command):
    args = ["topic"] if command == "goto" else []
    assert (
        error(session, env, command, *args)
        == "no workflow is running: start one with :WorkflowStart {name} (see :WorkflowList)"
    )


def test_start_while_a_run_is_active_says_what_became_of_it(session, env):
    call(session, env, "start", "blog")
    previous = session.run
    assert previous is not None
    r = call(session, env, "start", "notes")
    assert session.run is not None and session.run.id != previous.id
    assert r["info"] == [
        f"started run {session.run.id} (1 step); run {previous.id} stopped, its files stay in {previous.dir}"
    ]
    assert (previous.dir / "01-topic.md").is_file()


def test_two_starts_in_the_same_second_make_two_runs(session, env):
    first = call(session, env, "start", "blog")["open"]["path"]
    second = call(session, env, "start", "blog")["open"]["path"]
    assert Path(first).parent != Path(second).parent
    assert Path(first).is_file() and Path(second).is_file()


def test_start_unknown_workflow_suggests_a_close_name(session, env, tmp_path):
    where = f"{tmp_path / 'project'}, {tmp_path / 'bundled'}"
    assert error(session, env, "start", "blgo") == f"no workflow 'blgo', did you mean 'blog'? (searched {where})"
    assert session.run is None


def test_a_failed_start_keeps_the_active_run(session, env):
    call(session, env, "start", "blog")
    run = session.run
    error(session, env, "start", "nope")
    assert session.run is run


def test_start_broken_workflow_reports_its_first_problem(session, env, write, tmp_path):
    broken = write("broken.yaml", BROKEN, tmp_path / "project")
    message = error(session, env, "start", "broken")
    assert message.startswith(f"{broken}:5:5: unknown key 'intructions', did you mean 'instructions'?")
    assert message.endswith(" (and 1 more)")


def with_options(env: dict[str, Any], **options: Any) -> dict[str, Any]:
    """``env`` with these options set as the person would (None: not set at all)."""
    merged = {**env["options"], **options}
    return {**env, "options": {k: v for k, v in merged.items() if v is not None}}


@pytest.mark.parametrize("runs_dir", ["", None])
def test_the_runs_dir_defaults_to_the_plugins_data_place(session, env, monkeypatch, tmp_path, runs_dir):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    r = call(session, with_options(env, runs_dir=runs_dir), "start", "blog")  # empty counts as unset
    assert Path(r["open"]["path"]).parent.parent == tmp_path / "data" / "workflow.nvim" / "runs"


def test_a_relative_runs_dir_is_under_the_editors_directory(session, env, tmp_path):
    r = call(session, {**with_options(env, runs_dir="relative/runs"), "cwd": str(tmp_path / "here")}, "start", "blog")
    assert Path(r["open"]["path"]).parent.parent == tmp_path / "here" / "relative" / "runs"


def test_runs_in_neovims_older_place_are_listed_completed_and_resumed(session, env, monkeypatch, tmp_path):
    """Runs made before the plugin had its own places (Neovim's stdpath('data')/workflow/runs) stay
    found while the person sets no runs_dir; new runs go to the new place."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NVIM_APPNAME", "mynvim")
    old_runs = tmp_path / "data" / "mynvim" / "workflow" / "runs"
    write_step(call(session, with_options(env, runs_dir=str(old_runs)), "start", "blog"), "Cats\n")
    call(session, with_options(env, runs_dir=str(old_runs)), "next")
    old = session.run.id if session.run else ""
    call(session, env, "stop")
    defaults = with_options(env, runs_dir=None)
    new = call(session, defaults, "start", "notes")["state"]["run"]
    assert Path(session.run.dir if session.run else "").parent == tmp_path / "data" / "workflow.nvim" / "runs"
    call(session, defaults, "stop")

    r = call(session, defaults, "unfinished")
    assert [(x["run"], x["dir"]) for x in r["unfinished"]] == [
        (new, str(tmp_path / "data" / "workflow.nvim" / "runs" / new)),
        (old, str(old_runs / old)),
    ]
    assert session.complete("runs", "", defaults) == [new, old]
    r = call(session, defaults, "resume", old)
    assert r["info"] == [f"resumed run {old}: 1/3 done"] and r["open"]["id"] == "outline"
    assert session.run is not None and session.run.dir == old_runs / old

    # A run copied (not moved) to the new place is offered once, and resumed from there.
    call(session, defaults, "stop")
    shutil.copytree(old_runs / old, tmp_path / "data" / "workflow.nvim" / "runs" / old)
    assert [x["dir"] for x in call(session, defaults, "unfinished")["unfinished"]] == [
        str(tmp_path / "data" / "workflow.nvim" / "runs" / new),
        str(tmp_path / "data" / "workflow.nvim" / "runs" / old),
    ]
    assert session.complete("runs", "", defaults) == [new, old]
    call(session, defaults, "resume", old)
    assert session.run is not None and session.run.dir == tmp_path / "data" / "workflow.nvim" / "runs" / old

    # A runs_dir the person sets is the only one read.
    elsewhere = with_options(env, runs_dir=str(tmp_path / "elsewhere"))
    call(session, elsewhere, "stop")
    assert (call(session, elsewhere, "unfinished")["unfinished"], session.complete("runs", "", elsewhere)) == ([], [])
    assert error(session, elsewhere, "resume", old).startswith(f"no run '{old}' in {tmp_path / 'elsewhere'}: ")


def test_start_expands_a_home_relative_runs_dir(session, env, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    r = call(session, with_options(env, runs_dir="~/runs"), "start", "blog")
    assert Path(r["open"]["path"]).parent.parent == tmp_path / "home" / "runs"


@pytest.mark.parametrize("args", [[], ["a", "b"]])
def test_start_takes_one_name(session, env, args):
    assert error(session, env, "start", *args) == ":WorkflowStart takes one workflow name"


def test_unknown_command(session, env):
    assert error(session, env, "frobnicate") == "unknown command 'frobnicate': try :Workflow <Tab>"


# -- history: revert, log, show ------------------------------------------------


def write_step(response: dict[str, Any], text: str) -> Path:
    path = Path(response["open"]["path"])
    path.write_text(text, encoding="utf-8")
    return path


def test_revert_goes_back_to_a_done_step_and_says_where_the_text_went(session, env, git):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    write_step(call(session, env, "next"), "1. Fur\n")
    write_step(call(session, env, "next"), "half a draft\n")
    run = session.run
    assert run is not None
    r = call(session, env, "revert", "topic")
    saved = git(run.dir, "rev-parse", "HEAD^")
    assert r["removed"] == [str(run.dir / "02-outline.md"), str(run.dir / "03-draft.txt")]
    outline = git(run.dir, "log", "-1", "--format=%h", "HEAD^", "--", "02-outline.md")
    assert r["info"] == [
        f"back at step 1, 2-3 pending again; kept: :WorkflowLog, <CR> on {outline} (02-outline.md), "
        f"{saved[:7]} (03-draft.txt)"
    ]
    assert (r["open"]["id"], r["state"]["step"]) == ("topic", 1)
    assert [s["done"] for s in r["state"]["steps"]] == [True, False, False]
    assert git(run.dir, "show", f"{saved}:03-draft.txt") == "half a draft"
    assert not (run.dir / "02-outline.md").exists()
    # step 2 is opened afresh from its template
    r = call(session, env, "next")
    assert Path(r["open"]["path"]).read_text(encoding="utf-8") == "Outline for: Cats\n"


def test_revert_errors(session, env):
    call(session, env, "start", "blog")
    assert error(session, env, "revert", "topic") == (
        "step 'topic' is not done yet: there is nothing after it to revert"
    )
    assert error(session, env, "revert") == ":WorkflowRevert takes one step id or number"
    assert error(session, env, "revert", "nope").startswith("blog has no step 'nope'")


def test_log_lists_the_runs_commits_newest_first(session, env, git):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "next")
    write_step(call(session, env, "goto", "topic"), "Dogs\n")
    call(session, env, "next")
    run = session.run
    assert run is not None
    r = call(session, env, "log")
    log = r["log"]
    assert (log["run"], log["title"], log["dir"]) == (run.id, "Write a blog post", str(run.dir))
    hashes = git(run.dir, "log", "--format=%H").split()
    assert [e["hash"] for e in log["entries"]] == hashes
    assert [(e["kind"], e["id"], e["index"], e["revised"]) for e in log["entries"]] == [
        ("step", "topic", 1, True),
        ("step", "topic", 1, False),
    ]
    first = log["entries"][0]
    assert first["short"] == hashes[0][:7]
    assert first["total"] == 3
    # The lines a front shows, written here once (the command line's log shows the same).
    assert log["header"] == f"Write a blog post, run {run.id}: 2 commits"
    dates = [e.date[:16].replace("T", " ") for e in reversed(run.entries)]
    assert [e["line"] for e in log["entries"]] == [
        f"{hashes[0][:7]}  {dates[0]}  1/3 Pick a topic (revised)",
        f"{hashes[1][:7]}  {dates[1]}  1/3 Pick a topic",
    ]
    assert "empty" not in log
    assert log["steps"]["topic"] == {
        "title": "Pick a topic",
        "file": str(run.dir / "01-topic.md"),
        "filetype": "markdown",
    }


def test_the_log_of_a_run_without_commits_says_how_to_make_one(session, env):
    run_id = call(session, env, "start", "blog")["open"]["run"]
    log = call(session, env, "log")["log"]
    assert (log["header"], log["entries"]) == (f"Write a blog post, run {run_id}: 0 commits", [])
    assert log["empty"] == "no step completed yet: :WorkflowNext commits the current step"


def test_show_gives_a_steps_text_at_a_commit_or_the_commits_diff(session, env, git):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "next")
    write_step(call(session, env, "goto", "topic"), "Dogs\n")
    call(session, env, "next")
    run = session.run
    assert run is not None
    old, new = git(run.dir, "rev-parse", "HEAD^", "HEAD").split()
    path = str(run.dir / "01-topic.md")
    assert call(session, env, "show", old, path)["text"] == "Cats\n"
    assert call(session, env, "show", new, path)["text"] == "Dogs\n"
    diff = call(session, env, "show", new, path, "diff")["text"]
    assert diff.startswith(f"commit {new}\n")
    assert "-Cats\n+Dogs" in diff
    assert error(session, env, "show", old) == "show takes a commit and a file"
    assert error(session, env, "show", old, str(run.dir / "02-outline.md")).startswith(
        f"cannot show 02-outline.md at {old[:12]}: "
    )


def test_the_diff_of_a_first_completion_is_from_the_text_the_step_started_with(session, env, git):
    path = write_step(call(session, env, "start", "blog"), "Cats\n")
    run = session.run
    assert run is not None
    start = run.dir / ".start" / "01-topic.md"
    template = start.read_text(encoding="utf-8")
    outline = call(session, env, "next")
    commit = git(run.dir, "rev-parse", "HEAD")
    diff = call(session, env, "show", commit, str(path), "diff")["text"]
    assert diff.startswith(f"commit {commit}\n")
    assert "--- a/.start/01-topic.md\n+++ b/01-topic.md\n" in diff
    assert [line for line in diff.splitlines() if line[:1] in ("-", "+") and line[:3] not in ("---", "+++")] == [
        *[f"-{line}" for line in template.splitlines()],
        "+Cats",
    ]
    # A run made before start files were kept: the whole file, as git shows it.
    write_step(outline, "1. Fur\n")
    (run.dir / ".start" / "02-outline.md").unlink()
    call(session, env, "next")
    commit = git(run.dir, "rev-parse", "HEAD")
    diff = call(session, env, "show", commit, str(run.dir / "02-outline.md"), "diff")["text"]
    assert "new file mode" in diff and "+1. Fur" in diff


# -- runs, resume, a restarted host --------------------------------------------


def test_runs_lists_the_unfinished_runs_newest_first(session, env, git, blog_yaml, tmp_path):
    call(session, env, "start", "notes")
    call(session, env, "next")  # notes has one step: finished, so not listed
    runs = Path(env["options"]["runs_dir"])
    blog = load_workflow(tmp_path / "project" / "blog.yaml")
    now = dt.datetime(2024, 3, 5, 14, 7, 9)
    started = [Run.start(blog, runs, now) for _ in range(3)]
    started[0].enter(blog.steps[0])
    started[0].complete(blog.steps[0])
    first, second, third = (r.id for r in started)
    # started in the same second: the 2nd and 3rd ids sort before the 1st, yet they are newer
    assert (first, second, third) == ("20240305-140709-blog", "20240305-140709-2-blog", "20240305-140709-3-blog")
    (runs / "not-a-run").mkdir()
    lost = runs / "20240101-000000-blog"  # a run directory whose history is gone
    lost.mkdir()
    (lost / "workflow.yaml").write_text(blog_yaml, encoding="utf-8")
    r = call(session, env, "unfinished")
    assert [(x["run"], x["done"], x["total"], x["next"]) for x in r["unfinished"]] == [
        (third, 0, 3, "Pick a topic"),
        (second, 0, 3, "Pick a topic"),
        (first, 1, 3, "Outline"),
    ]
    assert r["unfinished"][0]["last"] == ""
    assert r["unfinished"][2]["last"] == git(runs / first, "log", "-1", "--format=%aI")
    assert (r["unfinished"][2]["workflow"], r["unfinished"][2]["title"]) == ("blog", "Write a blog post")
    assert r["unfinished"][2]["dir"] == str(runs / first)
    assert r["problems"] == [f"20240101-000000-blog: {lost} is not in a git repository: is it a run directory?"]
    assert r["warning"] == f"1 run directory could not be read ({r['problems'][0]})"
    assert "info" not in r


def test_unfinished_says_where_it_looked_when_there_is_none(session, env):
    r = call(session, env, "unfinished")
    assert (r["unfinished"], r["info"]) == ([], [f"no unfinished runs in {env['options']['runs_dir']}"])
    assert "warning" not in r


def test_unfinished_and_completion_leave_out_the_run_already_open(session, env):
    call(session, env, "start", "blog")
    older = session.run.id if session.run else ""
    call(session, env, "stop")
    call(session, env, "start", "notes")
    here = session.run.id if session.run else ""
    r = call(session, env, "unfinished")
    assert [x["run"] for x in r["unfinished"]] == [older]
    assert session.complete("runs", "", env) == [older]
    call(session, env, "resume", older)
    r = call(session, env, "unfinished")
    assert [x["run"] for x in r["unfinished"]] == [here]
    call(session, env, "stop")
    call(session, env, "resume", here)
    call(session, env, "next")  # notes has one step: finished
    call(session, env, "resume", older)
    r = call(session, env, "unfinished")
    assert (r["unfinished"], r["info"]) == ([], ["no unfinished run but the one open"])


def test_resume_reopens_a_run_at_its_first_step_not_done(session, env):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "next")
    run_id = session.run.id if session.run else ""
    call(session, env, "stop")
    fresh = Session()
    r = call(fresh, env, "resume", run_id)
    assert r["info"] == [f"resumed run {run_id}: 1/3 done"]
    assert (r["open"]["id"], r["open"]["readonly"]) == ("outline", False)
    assert r["open"]["instructions"] == ["Outline the post about Cats."]
    assert r["state"]["run"] == run_id
    # by absolute path too
    assert call(fresh, env, "resume", str(Path(env["options"]["runs_dir"]) / run_id))["state"]["run"] == run_id
    assert error(fresh, env, "resume", "20990101-000000-blog") == (
        f"no run '20990101-000000-blog' in {env['options']['runs_dir']}: :WorkflowResume without an argument lists them"
    )


def test_a_restarted_host_continues_the_run_named_by_run_dir(session, env, git):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    run = session.run
    assert run is not None
    # the Python host crashed: a new Session, but Neovim still sends the run's directory
    fresh = Session()
    r = call(fresh, env, "next", run_dir=str(run.dir), buffer_step={"run": run.id, "id": "topic"})
    assert r["open"]["id"] == "outline"
    assert fresh.run is not None and fresh.run.id == run.id
    assert git(run.dir, "log", "-1", "--format=%s") == "blog: 1/3 Pick a topic"


def test_a_run_open_in_another_nvim_is_read_only_here(session, env, fake_nvim, git):
    write_step(call(session, env, "start", "blog", editor_pid=fake_nvim.pid), "Cats\n")
    run = session.run
    assert run is not None
    other = Session()
    r = call(other, env, "resume", run.id, editor_pid=os.getpid())
    assert r["info"] == [f"resumed run {run.id}: 0/3 done; read-only here: Neovim pid {fake_nvim.pid} has it open"]
    assert r["open"]["readonly"] is True
    assert r["state"]["readonly"] is True
    assert error(other, env, "next", editor_pid=os.getpid()) == (
        f"run {run.id} is read-only here: Neovim pid {fake_nvim.pid} has it open; "
        "finish there, or quit that Neovim and :WorkflowResume here"
    )
    assert git(run.dir, "rev-list", "--all") == ""
    # the Neovim that has it is unaffected, and once it stops, the run is free
    assert call(session, env, "status", editor_pid=fake_nvim.pid)["state"]["readonly"] is False
    call(session, env, "stop", editor_pid=fake_nvim.pid)
    call(other, env, "stop", editor_pid=os.getpid())
    r = call(other, env, "resume", run.id, editor_pid=os.getpid())
    assert r["open"]["readonly"] is False


# -- commits in the background -------------------------------------------------


def test_with_notify_next_answers_at_once_and_commits_in_the_background(env, git):
    notes: list[dict[str, Any]] = []
    session = Session(notify=notes.append)
    write_step(call(session, env, "start", "blog"), "Cats\n")
    r = call(session, env, "next")
    assert r["info"] == ["step 1 'Pick a topic' done"]
    assert r["open"]["id"] == "outline"
    run = session.run
    assert run is not None
    step_file = str(run.dir / "01-topic.md")
    assert r["committing"] == step_file  # the editor must not write it until git has it
    call(session, env, "wait")
    assert git(run.dir, "log", "--format=%s") == "blog: 1/3 Pick a topic"
    head = git(run.dir, "rev-parse", "HEAD")
    assert notes == [
        {
            "committed": step_file,
            "events": [
                {
                    "name": "WorkflowStepCompleted",
                    "data": {
                        "workflow": "blog",
                        "run": run.id,
                        "dir": str(run.dir),
                        "step": 1,
                        "id": "topic",
                        "title": "Pick a topic",
                        "file": step_file,
                        "commit": head,
                    },
                }
            ],
        }
    ]


def test_a_background_commit_that_git_refuses_is_notified_and_the_step_is_not_done(env, git):
    notes: list[dict[str, Any]] = []
    session = Session(notify=notes.append)
    path = write_step(call(session, env, "start", "blog"), "Cats\n")
    run = session.run
    assert run is not None
    call(session, env, "wait")  # the run's repository is made in the background
    hook = run.dir / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no cats allowed' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    call(session, env, "next")
    r = call(session, env, "wait")
    assert len(notes) == 1
    assert notes[0]["committed"] == str(path)
    # One line that fits 80 columns with the "[workflow] " before it; git's words are in the log.
    assert notes[0]["error"] == "git refused the commit of step 1 'Pick a topic': no cats allowed"
    assert [s["done"] for s in r["state"]["steps"]] == [False, False, False]
    assert path.read_text(encoding="utf-8") == "Cats\n"
    assert git(run.dir, "rev-list", "--all") == ""
    # the next step cannot be completed before the one that failed
    assert error(session, env, "next") == (
        "step 1 'Pick a topic' is not done yet: :WorkflowGoto topic and complete it first"
    )


def test_next_from_outside_the_run_opens_the_current_step_and_completes_nothing(session, env):
    call(session, env, "start", "blog")
    r = call(session, env, "next", buffer_step=None)
    assert r["open"]["id"] == "topic"
    assert r["info"] == ["opened step 1 'Pick a topic': :WorkflowNext in it completes it"]
    assert session.run is not None and session.run.completed == set()


def test_a_template_that_would_fill_in_too_large_is_refused_and_the_run_goes_on(session, env, write, tmp_path, git):
    # 188 KB: step b's template is ${a} 47,000 times; 4 KB in step a would make b's file 180 MB.
    write("repeater.yaml", hostile.repeater(), tmp_path / "project")
    opened = call(session, env, "start", "repeater")["open"]
    step_a = Path(opened["path"])
    step_a.write_text("x" * 4000 + "\n", encoding="utf-8")
    assert error(session, env, "next") == "template of 'b' would be 179.1 MiB, over 1 MiB: shorten step 'a'"
    run = session.run
    assert run is not None
    assert sorted(p.name for p in run.dir.iterdir()) == [".git", ".start", "01-a.md", "workflow.yaml"]
    assert git(run.dir, "log", "--format=%s") == "repeater: 1/2 A"  # step a is done; only b did not open
    # The person shortens step a and tries again: b opens, no larger than the limit.
    step_a.write_text("x\n", encoding="utf-8")
    r = call(session, env, "next", buffer_step={"run": run.id, "id": "a"})
    assert r["open"]["id"] == "b"
    assert Path(r["open"]["path"]).read_text(encoding="utf-8") == "x" * hostile.repeater().count("${a}") + "\n"


def test_instructions_that_would_fill_in_too_large_are_refused(session, env, write, tmp_path):
    text = hostile.repeater().replace("instructions: Read it back.\n    template: |", "instructions: |")
    write("loud.yaml", text, tmp_path / "project")
    opened = call(session, env, "start", "loud")["open"]
    Path(opened["path"]).write_text("x" * 4000 + "\n", encoding="utf-8")
    assert error(session, env, "next") == "instructions of 'b' would be 179.1 MiB, over 1 MiB: shorten step 'a'"


# -- commits cut short ----------------------------------------------------------

COMPLETE_STEP_1 = """
import sys
from pathlib import Path
from workflow_nvim.run import Run

run = Run.open(Path(sys.argv[1]))
run.complete(run.workflow.steps[0])
"""


def hook_that_waits(repo: Path, marker: Path) -> Path:
    """A pre-commit hook that writes its process id to ``marker``, then waits for a minute."""
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho $$ > '{marker}.tmp' && mv '{marker}.tmp' '{marker}'\nexec sleep 60\n")
    hook.chmod(0o755)
    return hook


def wait_for_file(path: Path) -> str:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return path.read_text().strip()


def test_a_commit_cut_short_is_made_at_resume_and_said_in_one_line(session, env, git, tmp_path):
    write_step(call(session, env, "start", "blog"), "Cats\n")
    run = session.run
    assert run is not None
    run.repo.prepare()
    call(session, env, "stop")
    marker = tmp_path / "hook-pid"
    hook = hook_that_waits(run.dir, marker)
    code = str(Path(workflow_nvim.__file__).resolve().parents[1])  # the code under test, for the child
    child = subprocess.Popen(
        [sys.executable, "-c", COMPLETE_STEP_1, str(run.dir)],
        env={**os.environ, "PYTHONPATH": code},
        start_new_session=True,
    )
    wait_for_file(marker)
    os.killpg(child.pid, signal.SIGKILL)  # the editor, its Python and git, gone at once
    child.wait()
    hook.unlink()

    r = call(Session(), env, "resume", run.id)

    commit = git(run.dir, "rev-parse", "--short=7", "HEAD")
    assert r["info"] == [
        f"resumed run {run.id}: 1/3 done",
        f"step 1 'Pick a topic' was not committed when Neovim quit: committed now ({commit})",
    ]
    assert r["open"]["id"] == "outline"
    assert git(run.dir, "log", "--format=%s") == "blog: 1/3 Pick a topic"
    assert git(run.dir, "status", "--porcelain", "--untracked-files=all") == (
        "?? .start/02-outline.copies.json\n?? .start/02-outline.md\n?? 02-outline.md"
    )


def test_wait_takes_a_shorter_timeout_for_quitting(env, git, tmp_path):
    notes: list[dict[str, Any]] = []
    session = Session(notify=notes.append)
    write_step(call(session, env, "start", "blog"), "Cats\n")
    call(session, env, "wait")
    run = session.run
    assert run is not None
    marker = tmp_path / "hook-pid"
    hook_that_waits(run.dir, marker)
    call(session, env, "next")
    hook = int(wait_for_file(marker))
    assert error(session, env, "wait", timeout=0) == (
        "git is still making the last step commit (a slow hook, or signing waiting for a passphrase?): "
        "try again in a moment"
    )
    os.kill(hook, signal.SIGKILL)  # the hook fails: git refuses the commit
    assert call(session, env, "wait")["idle"] is True
    assert "git refused the commit of step 1" in notes[-1]["error"]
    assert (
        git(run.dir, "status", "--porcelain", "--untracked-files=all")
        == "?? .start/01-topic.md\n?? .start/02-outline.copies.json\n?? .start/02-outline.md\n?? .start/run.json\n"
        "?? 01-topic.md\n"
        "?? 02-outline.md\n?? workflow.yaml"
    )


def test_a_run_whose_editor_quit_before_its_git_init_gets_its_repository_at_resume(env, git):
    # With an editor, `git init` of a new standalone run runs in the background; quitting at once
    # can cut it off. Listing runs must not make repositories; resuming the run does.
    notes: list[dict[str, Any]] = []
    session = Session(notify=notes.append)
    runs = Path(env["options"]["runs_dir"])
    workflow = load_workflow(Path(env["dirs"][0][1]) / "blog.yaml")
    run = Run.start(workflow, runs, lazy=True)  # as the editor starts it, before the background job
    (run.dir / "01-topic.md").write_text("Cats\n", encoding="utf-8")
    assert not (run.dir / ".git").exists()

    listed = call(session, env, "unfinished")
    assert (listed["unfinished"], len(listed["problems"])) == ([], 1)
    assert not (run.dir / ".git").exists()

    r = call(session, env, "resume", run.id)
    assert r["open"]["id"] == "topic"
    assert Path(r["open"]["path"]).read_text(encoding="utf-8") == "Cats\n"
    call(session, env, "next")
    call(session, env, "wait")
    assert git(run.dir, "log", "--format=%s") == "blog: 1/3 Pick a topic"


def test_list_shows_a_few_problems_of_a_file_that_has_thousands(session, env, write, tmp_path):
    bomb = write("bomb.yaml", hostile.alias_bomb(), tmp_path / "project")
    info = call(session, env, "list")["info"]
    at = info.index(f"bomb             INVALID  (project: {bomb})")
    alias = "alias '*s': workflows do not allow YAML aliases, write the value out"
    uses = hostile.alias_bomb().count("*s")
    assert info[at + 1 : at + 7] == [
        *([f"  {bomb}:{line}:5: {alias}", "error"] for line in range(4, 9)),
        [f"  and {uses - 5} more problems", "error"],
    ]


def test_a_step_whose_copy_of_an_earlier_step_is_out_of_date_says_so_until_refreshed(session, env, git):
    r = call(session, env, "start", "blog")
    write_step(r, "# Topic\ntrains\n")
    r = call(session, env, "next")
    outline = write_step(r, "Outline for: # Topic\ntrains\n- stations\n")
    assert "stale" not in r["open"]  # a fresh copy says nothing
    call(session, env, "next")
    r = call(session, env, "goto", "topic")
    write_step(r, "# Topic\nnight trains\n")
    r = call(session, env, "next")  # revised; on to the step not done
    assert r["open"]["id"] == "draft" and "stale" not in r["open"]  # it copies nothing

    r = call(session, env, "goto", "outline")
    assert r["open"]["stale"] == "'Pick a topic' changed after this step copied it: :WorkflowRefresh updates the copy"
    session.run.close()
    again = Session()  # a restart (or the other editor) reads it from the run's files
    r = call(again, env, "resume", session.run.id)
    r = call(again, env, "goto", "outline")
    assert "changed after this step copied it" in r["open"]["stale"]

    r = call(again, env, "refresh")
    assert r["refreshed"] == {"path": str(outline), "first": 1, "last": 2, "lines": ["night trains"]}
    assert r["info"] == ["updated the copy of 'Pick a topic' (u undoes)"]
    assert "stale" not in r["open"]
    assert outline.read_text(encoding="utf-8") == "Outline for: # Topic\ntrains\n- stations\n"  # the editor writes it
    r = call(again, env, "refresh")
    assert r["info"] == ["step 2 'Outline': its copies of earlier steps are current, nothing to refresh"]
    call(again, env, "goto", "topic")
    r = call(again, env, "refresh")
    assert r["info"] == ["step 1 'Pick a topic': it copied no earlier step, nothing to refresh"]


def test_refresh_leaves_an_edited_copy_alone_and_shows_the_new_text_to_compare(session, env, git):
    r = call(session, env, "start", "blog")
    write_step(r, "# Topic\ntrains\n")
    r = call(session, env, "next")
    outline = write_step(r, "Outline for: # Topic\nsteam trains, mostly\n")
    r = call(session, env, "goto", "topic")
    write_step(r, "# Topic\nnight trains\n")
    call(session, env, "next")
    call(session, env, "goto", "outline")
    assert error(session, env, "refresh", buffer_step={}) == (
        "not in a step buffer: :WorkflowRefresh updates the step it is given in"
    )
    r = call(session, env, "refresh")
    assert "refreshed" not in r
    assert r["compare"] == {"title": "1 Pick a topic (now)", "lines": ["# Topic", "night trains"]}
    assert r["info"] == ["your copy of 'Pick a topic' was edited: compare, and take what you need from it"]
    assert "stale" not in r["open"]  # shown: said no more
    assert outline.read_text(encoding="utf-8") == "Outline for: # Topic\nsteam trains, mostly\n"


def test_the_copies_a_step_made_are_committed_with_it_and_go_with_a_revert(session, env, git):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    run = session.run
    shown = git(run.dir, "show", "--name-only", "--format=", "HEAD").split()
    assert shown == [".start/02-outline.copies.json", ".start/02-outline.md", "02-outline.md"]
    call(session, env, "revert", "topic")
    assert not (run.dir / ".start" / "02-outline.copies.json").exists()


def test_a_run_in_a_project_finishes_and_reopens_there_leaving_what_is_staged(session, env, git, project):
    env = {**env, "options": {"runs_dir": str(project / "runs")}}
    (project / "mine.txt").write_text("staged by me\n", encoding="utf-8")
    git(project, "add", "mine.txt")
    run = finish_blog(session, env)
    assert not run.repo.standalone
    ref = f"refs/workflow/finished/{run.id}"
    assert git(project, "cat-file", "-t", ref) == "tag"
    assert git(project, "tag", "--list") == ""  # git describe and push --follow-tags see nothing
    call(session, env, "reopen")
    assert git(project, "log", "-1", "--format=%s") == "blog: reopened"
    # The reopening changes no file: the log, which reads the run's directory, still shows it.
    assert [e["kind"] for e in call(session, env, "log")["log"]["entries"]][:2] == ["reopened", "finished"]
    assert git(project, "show", "--name-only", "--format=", "HEAD") == ""  # a commit of no file
    assert git(project, "diff", "--cached", "--name-only") == "mine.txt"  # still staged, and only that
    assert call(session, env, "goto", "draft")["open"]["readonly"] is False
