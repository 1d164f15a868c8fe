"""The commands behind :Workflow*, as the Lua side calls them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from workflow_nvim.errors import WorkflowError
from workflow_nvim.session import Session

BROKEN = "title: Broken\nsteps:\n  - id: a\n    title: A\n    intructions: x\n"


@pytest.fixture
def env(write, tmp_path: Path, blog_yaml) -> dict[str, Any]:
    """Parameters every command gets: a project dir with 'blog' and a bundled dir."""
    project, bundled = tmp_path / "project", tmp_path / "bundled"
    write("blog.yaml", blog_yaml, project)
    write("notes.yaml", "title: Notes\nsteps:\n  - id: note\n    title: Note\n    instructions: Write.\n", bundled)
    return {
        "dirs": [["project", str(project)], ["bundled", str(bundled)]],
        "runs_dir": str(tmp_path / "runs"),
    }


@pytest.fixture
def session() -> Session:
    return Session()


def call(session: Session, env: dict[str, Any], command: str, *args: str, **extra: Any) -> dict[str, Any]:
    return session.handle(command, {**env, "args": list(args), **extra})


def error(session: Session, env: dict[str, Any], command: str, *args: str, **extra: Any) -> str:
    with pytest.raises(WorkflowError) as info:
        call(session, env, command, *args, **extra)
    message = str(info.value)
    assert "\n" not in message, f"error message is not one line: {message!r}"
    return message


def test_commands(session):
    assert session.commands == ["start", "next", "prev", "goto", "status", "list", "stop"]


def test_start_opens_the_first_step(session, env):
    r = call(session, env, "start", "blog")
    run = session.run
    assert run is not None
    path = Path(r["open"]["path"])
    assert path == run.dir / "01-topic.md"
    assert path.read_text(encoding="utf-8") == "# Topic\n"
    assert path.parent.parent == Path(env["runs_dir"])
    assert r["open"] == {
        "path": str(path),
        "run": run.id,
        "id": "topic",
        "index": 1,
        "total": 3,
        "title": "Pick a topic",
        "filetype": "markdown",
        "workflow": "Write a blog post",
        "progress": "Step 1/3: Pick a topic",
        "instructions": ["Write the topic in one line."],
    }
    assert r["info"] == [f"Write a blog post: 3 steps, run {run.id}"]
    assert r["state"] == run.state()
    assert r["state"]["step"] == 1


def test_next_completes_the_step_and_opens_the_following_one(session, env):
    first = call(session, env, "start", "blog")
    Path(first["open"]["path"]).write_text("Cats\n", encoding="utf-8")
    r = call(session, env, "next")
    assert r["info"] == ["step 1 'Pick a topic' done"]
    assert (r["open"]["id"], r["open"]["index"], r["open"]["progress"]) == ("outline", 2, "Step 2/3: Outline")
    assert r["open"]["instructions"] == ["Outline the post about Cats."]
    assert Path(r["open"]["path"]).read_text(encoding="utf-8") == "Outline for: Cats\n"
    assert [s["done"] for s in r["state"]["steps"]] == [True, False, False]
    assert r["state"]["step"] == 2


def test_next_after_the_last_step_finishes_the_run(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    r = call(session, env, "next")
    run = session.run
    assert run is not None
    assert r["finished"] is True
    assert "open" not in r
    assert r["info"] == [f"blog finished: all 3 steps done; the text is in {run.dir}"]
    assert r["state"]["finished"] is True
    assert r["state"]["step"] == 3
    assert sorted(p.name for p in run.dir.iterdir()) == [
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
    assert error(session, env, "goto") == ":WorkflowGoto takes one step id or number"
    assert error(session, env, "goto", "a", "b") == ":WorkflowGoto takes one step id or number"
    assert session.run is not None and session.run.current.id == "topic"


def test_the_step_buffer_the_person_is_in_decides_what_next_completes(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    call(session, env, "next")
    run = session.run
    assert run is not None and run.current.id == "draft"
    # in the buffer of step 1 of this run: next opens step 2
    r = call(session, env, "next", buffer_step={"run": run.id, "id": "topic"})
    assert r["open"]["id"] == "outline"
    # a buffer of another run, or of a step that does not exist, is ignored
    r = call(session, env, "prev", buffer_step={"run": "other", "id": "draft"})
    assert r["open"]["id"] == "topic"
    r = call(session, env, "next", buffer_step={"run": run.id, "id": "nope"})
    assert r["open"]["id"] == "outline"


def test_status_lists_the_steps_with_done_and_current_marks(session, env):
    call(session, env, "start", "blog")
    call(session, env, "next")
    run = session.run
    assert run is not None
    r = call(session, env, "status")
    assert r["info"] == [
        f"Write a blog post (blog), run {run.id}",
        f"  {run.dir}",
        " ✓  1. Pick a topic [topic]",
        "▶   2. Outline [outline]",
        "    3. Draft [draft]",
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
            "(keys of step 1: id, title, instructions, template, filetype, annotate)",
            "ErrorMsg",
        ],
        [f"  {broken}:3:5: step 1 is missing the required key 'instructions'", "ErrorMsg"],
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
        f"Notes: 1 step, run {session.run.id}; run {previous.id} stopped, its files stay in {previous.dir}"
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


@pytest.mark.parametrize(
    ("runs_dir", "shown"),
    [("relative/runs", "relative/runs"), ("", "."), (None, ".")],
)
def test_start_needs_an_absolute_runs_dir(session, env, runs_dir, shown):
    message = error(session, {**env, "runs_dir": runs_dir}, "start", "blog")
    assert message == f"vim.g.workflow.runs_dir must be an absolute path, got '{shown}'"
    assert session.run is None


def test_start_expands_a_home_relative_runs_dir(session, env, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    r = call(session, {**env, "runs_dir": "~/runs"}, "start", "blog")
    assert Path(r["open"]["path"]).parent.parent == tmp_path / "home" / "runs"


@pytest.mark.parametrize("args", [[], ["a", "b"]])
def test_start_takes_one_name(session, env, args):
    assert error(session, env, "start", *args) == ":WorkflowStart takes one workflow name"


def test_unknown_command(session, env):
    assert error(session, env, "frobnicate") == "unknown command 'frobnicate': try :Workflow <Tab>"
