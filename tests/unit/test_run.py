"""A run directory: a snapshot of the workflow and one plain file per step."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_nvim import scratch
from workflow_nvim.errors import WorkflowError
from workflow_nvim.run import SNAPSHOT_NAME, Run, new_run_id, workflow_name
from workflow_nvim.scratch import write_atomic
from workflow_nvim.spec import Workflow, load_workflow

NOW = dt.datetime(2024, 3, 5, 14, 7, 9)


@pytest.fixture
def blog(write, blog_yaml) -> Workflow:
    return load_workflow(write("blog.yaml", blog_yaml))


@pytest.fixture
def run(blog: Workflow, tmp_path: Path) -> Run:
    return Run.start(blog, tmp_path / "runs", NOW)


def test_run_id_sorts_by_start_time_and_names_the_workflow():
    assert new_run_id("blog", NOW) == "20240305-140709-blog"
    assert new_run_id("blog", NOW) < new_run_id("blog", NOW + dt.timedelta(seconds=1))


def test_start_creates_the_run_dir_with_a_snapshot_of_the_workflow(blog, tmp_path, git):
    runs = tmp_path / "deep" / "runs"
    run = Run.start(blog, runs, NOW)
    assert run.id == "20240305-140709-blog"
    assert run.dir == runs / run.id
    assert sorted(p.name for p in run.dir.iterdir()) == [".git", SNAPSHOT_NAME]
    assert run.repo.standalone
    assert git(run.dir, "rev-parse", "--show-toplevel") == str(run.dir)
    # git has no identity here (an empty global config): the run repository brings its own
    assert git(run.dir, "config", "--local", "user.name") == "workflow.nvim"
    assert git(run.dir, "config", "--local", "user.email") == "workflow.nvim@localhost"
    assert (run.dir / SNAPSHOT_NAME).read_bytes() == blog.path.read_bytes()
    assert run.current is blog.steps[0]
    assert run.completed == set()
    assert not run.finished


def test_snapshot_keeps_the_workflow_as_it_was_at_start(blog, tmp_path):
    original = blog.path.read_bytes()
    run = Run.start(blog, tmp_path / "runs", NOW)
    blog.path.write_text("title: changed later\n")
    assert (run.dir / SNAPSHOT_NAME).read_bytes() == original


def test_runs_started_in_the_same_second_get_different_ids(blog, tmp_path):
    runs = [Run.start(blog, tmp_path / "runs", NOW) for _ in range(3)]
    assert [r.id for r in runs] == ["20240305-140709-blog", "20240305-140709-2-blog", "20240305-140709-3-blog"]
    assert len({r.dir for r in runs}) == 3
    assert all((r.dir / SNAPSHOT_NAME).is_file() for r in runs)
    # the workflow name can be read back from every id, whatever the name looks like
    assert [workflow_name(r.id) for r in runs] == ["blog", "blog", "blog"]
    assert new_run_id("post-2", NOW, 3) == "20240305-140709-3-post-2"
    assert workflow_name("20240305-140709-3-post-2") == "post-2"
    assert workflow_name("20240305-140709-post-2") == "post-2"
    assert workflow_name("notes") is None
    assert workflow_name("20240305-140709-2") is None


def test_start_without_a_time_uses_now(blog, tmp_path):
    before = dt.datetime.now().replace(microsecond=0)
    run = Run.start(blog, tmp_path / "runs")
    after = dt.datetime.now()
    started = dt.datetime.strptime(run.id[: len("20240305-140709")], "%Y%m%d-%H%M%S")
    assert before <= started <= after


def test_start_in_an_unusable_runs_dir_is_a_one_line_error(blog, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(WorkflowError) as info:
        Run.start(blog, not_a_dir, NOW)
    message = str(info.value)
    assert message.startswith(f"cannot create a run in {not_a_dir}: ")
    assert message.endswith("; set g:workflow.runs_dir to a writable directory")
    assert "\n" not in message


def test_enter_creates_the_step_file_from_the_template(run):
    topic = run.workflow.steps[0]
    path = run.enter(topic)
    assert path == run.dir / "01-topic.md"
    assert path.read_text(encoding="utf-8") == "# Topic\n"
    assert run.current is topic


def test_enter_a_step_without_template_creates_an_empty_file(run):
    wf = run.workflow
    for step in wf.steps[:2]:
        run.enter(step)
        run.complete(step)
    path = run.enter(wf.steps[2])
    assert path.name == "03-draft.txt"
    assert path.read_text(encoding="utf-8") == ""


def test_enter_never_overwrites_existing_text(run):
    topic, outline, _ = run.workflow.steps
    path = run.enter(topic)
    path.write_text("Cats\n", encoding="utf-8")
    run.complete(topic)
    run.enter(outline)
    assert run.enter(topic) == path
    assert path.read_text(encoding="utf-8") == "Cats\n"
    # even an emptied file is the person's text, not a reason to re-create it
    path.write_text("", encoding="utf-8")
    run.enter(topic)
    assert path.read_text(encoding="utf-8") == ""


def test_later_template_is_filled_with_the_earlier_steps_text(run):
    topic, outline, _ = run.workflow.steps
    run.enter(topic).write_text("# Topic\nCats\n\n", encoding="utf-8")
    run.complete(topic)
    path = run.enter(outline)
    assert path.read_text(encoding="utf-8") == "Outline for: # Topic\nCats\n"
    assert run.instructions(outline) == "Outline the post about # Topic\nCats."


def test_template_is_rendered_on_first_visit_only(run):
    topic, outline, _ = run.workflow.steps
    first = run.enter(topic)
    first.write_text("Cats", encoding="utf-8")
    run.complete(topic)
    second = run.enter(outline)
    first.write_text("Dogs", encoding="utf-8")
    run.enter(outline)
    assert second.read_text(encoding="utf-8") == "Outline for: Cats\n"
    # the instructions, though, always show the current text
    assert run.instructions(outline) == "Outline the post about Dogs."


def test_enter_refuses_to_go_beyond_the_frontier(run):
    topic, outline, draft = run.workflow.steps
    run.enter(topic)
    for step in (outline, draft):
        with pytest.raises(WorkflowError) as info:
            run.enter(step)
        assert str(info.value) == f"step '{step.id}' is not reached yet: complete 'topic' first (:WorkflowNext)"
        assert not run.path(step).exists()
    assert run.current is topic
    run.complete(topic)
    run.enter(outline)
    with pytest.raises(WorkflowError, match="step 'draft' is not reached yet: complete 'outline' first"):
        run.enter(draft)


def test_complete_returns_the_next_step_and_none_after_the_last(run, git):
    steps = run.workflow.steps
    assert run.frontier is steps[0]
    for i, step in enumerate(steps):
        run.enter(step)
        following, note = run.complete(step)
        assert following is (steps[i + 1] if i + 1 < len(steps) else None)
        head = git(run.dir, "rev-parse", "HEAD")
        assert note == f"step {step.index} '{step.title}' done (commit {head[:7]})"
    assert run.finished
    assert run.frontier is steps[-1]


def test_complete_a_step_whose_file_was_deleted(run):
    topic = run.workflow.steps[0]
    run.enter(topic).unlink()
    with pytest.raises(WorkflowError) as info:
        run.complete(topic)
    assert str(info.value) == f"{run.dir / '01-topic.md'} is missing: was it deleted? :WorkflowGoto topic recreates it"
    assert run.completed == set()
    run.enter(topic)
    assert run.path(topic).read_text(encoding="utf-8") == "# Topic\n"


def test_step_file_that_is_not_utf8_is_a_one_line_error(run):
    topic, outline, _ = run.workflow.steps
    run.enter(topic).write_bytes(b"caf\xe9\n")
    run.complete(topic)
    with pytest.raises(WorkflowError) as info:
        run.enter(outline)
    assert str(info.value) == f"{run.dir / '01-topic.md'} is not UTF-8 text: save it as UTF-8"


def test_state_describes_the_run(run):
    topic, outline, _ = run.workflow.steps
    run.enter(topic)
    run.complete(topic)
    run.enter(outline)
    assert run.progress(outline) == "Step 2/3: Outline"
    assert run.state() == {
        "workflow": "blog",
        "title": "Write a blog post",
        "run": run.id,
        "dir": str(run.dir),
        "step": 2,
        "total": 3,
        "finished": False,
        "readonly": False,
        "steps": [
            {"id": "topic", "title": "Pick a topic", "done": True, "file": str(run.dir / "01-topic.md")},
            {"id": "outline", "title": "Outline", "done": False, "file": str(run.dir / "02-outline.md")},
            {"id": "draft", "title": "Draft", "done": False, "file": str(run.dir / "03-draft.txt")},
        ],
    }


def test_write_atomic_writes_replaces_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "01-a.md"
    write_atomic(path, "one\r\ntwo\n")
    assert path.read_bytes() == b"one\r\ntwo\n"  # written as given, no newline translation
    write_atomic(path, "é\n")
    assert path.read_bytes() == "é\n".encode()
    assert os.listdir(tmp_path) == ["01-a.md"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "01-a.md"
    write_atomic(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "bad \udc80 surrogate")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["01-a.md"]


def test_write_atomic_into_a_missing_dir_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "a.md", "x")
    assert os.listdir(tmp_path) == []


# Child processes run the code under test, wherever it was imported from.
CODE = str(Path(write_atomic.__code__.co_filename).resolve().parents[1])

KILL_BEFORE_RENAME = """
import os, signal, sys
from pathlib import Path
from workflow_nvim.run import write_atomic

real_fsync = os.fsync
def fsync(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)  # the new text is written, not yet renamed into place
os.fsync = fsync
write_atomic(Path(sys.argv[1]), "text that never arrives\\n")
"""


def killed_while_writing(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": CODE}
    done = subprocess.run([sys.executable, "-c", KILL_BEFORE_RENAME, str(path)], env=env)
    assert done.returncode == -signal.SIGKILL


def test_a_write_killed_before_its_rename_leaves_nothing_in_git_status(blog, project, git):
    run = Run.start(blog, project / "runs", NOW)
    path = run.enter(blog.steps[0])
    path.write_text("Cats\n", encoding="utf-8")
    run.complete(blog.steps[0])
    run.close()
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""

    killed_while_writing(path)

    assert path.read_text(encoding="utf-8") == "Cats\n"
    # nothing a `git add -A` could sweep into the person's next commit
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""
    left = list((project / ".git" / "workflow-tmp").iterdir())
    assert len(left) == 1 and left[0].read_text(encoding="utf-8") == "text that never arrives\n"
    again = Run.open(run.dir)
    again.recover()  # what the Neovim that resumes the run does
    assert list((project / ".git" / "workflow-tmp").iterdir()) == []
    again.close()


def test_a_write_outside_any_repository_is_cleaned_up_at_the_next_open(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    killed_while_writing(plain / "a.md")
    left = [p.name for p in plain.iterdir()]
    assert len(left) == 1 and left[0].startswith(".a.md.") and left[0].endswith(".workflow-tmp")
    mine = plain / f".b.md.{os.getpid()}.abcdefgh.workflow-tmp"  # a write of this process, under way
    mine.write_text("x", encoding="utf-8")
    scratch.clean(plain)
    assert [p.name for p in plain.iterdir()] == [mine.name]


def test_a_step_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer(run: Run) -> None:
    import threading

    topic = run.workflow.steps[0]
    run.path(topic).unlink(missing_ok=True)
    os.mkfifo(run.path(topic))  # reading it would wait for a writer forever: the server would hang
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(run.text(topic))
        except WorkflowError as e:
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert outcome, "run.text() is waiting on the FIFO"
    assert isinstance(outcome[0], WorkflowError)
    assert str(outcome[0]) == f"{run.path(topic)} is a FIFO, not a regular file: replace it with a text file"


def test_a_step_file_that_links_to_dev_zero_is_refused_unread(run: Run) -> None:
    topic = run.workflow.steps[0]
    run.path(topic).unlink(missing_ok=True)
    run.path(topic).symlink_to("/dev/zero")  # it never ends, and says its size is 0
    with pytest.raises(WorkflowError, match="is a device, not a regular file"):
        run.text(topic)
