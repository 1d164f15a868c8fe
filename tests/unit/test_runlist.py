"""Every run, finished or not (runlist.py): :WorkflowRuns' lines and their summary cache, against real git."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import runlist
from workflow_nvim.errors import WorkflowError
from workflow_nvim.history import FINISHED_REFS, finished_ref
from workflow_nvim.run import Run
from workflow_nvim.session import Session
from workflow_nvim.spec import load_workflow


def finish_by_hand(git_top: Path, run_id: str, message: str = "blog: finished Write a blog post\n") -> None:
    """The finish ref as finish writes it: an annotated tag object of HEAD, under refs/workflow/finished/."""
    head = subprocess.run(["git", "-C", str(git_top), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    tag = f"object {head.strip()}\ntype commit\ntag finished-{run_id}\ntagger A <a@b.c> 1700000000 +0000\n\n{message}"
    made = subprocess.run(["git", "-C", str(git_top), "mktag"], input=tag, capture_output=True, text=True, check=True)
    subprocess.run(["git", "-C", str(git_top), "update-ref", finished_ref(run_id), made.stdout.strip()], check=True)


@pytest.fixture
def blog(write: Any, tmp_path: Path, blog_yaml: str) -> Any:
    return load_workflow(write("blog.yaml", blog_yaml, tmp_path / "project"))


def complete(run: Run, *texts: str) -> None:
    for text in texts:
        step = run.frontier
        run.enter(step).write_text(text, encoding="utf-8")
        run.complete(step)


def rows(runs_dir: Path, cache: Path) -> list[str]:
    return runlist.render(runlist.summaries([runs_dir], cache), runs_dir)["lines"][1:]


def test_every_run_newest_first_with_its_progress_and_last_change(tmp_path: Path, blog: Any, git: Any) -> None:
    runs, cache = tmp_path / "runs", tmp_path / "cache" / "runs.json"
    older = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    newer = Run.start(blog, runs, dt.datetime(2024, 3, 6, 9, 0, 0))
    complete(older, "Cats\n", "1. Fur\n", "Cats have fur.\n")
    complete(newer, "Dogs\n")
    finish_by_hand(older.dir, older.id)
    (runs / "not-a-run").mkdir()

    listed = runlist.render(runlist.summaries([runs], cache), runs)
    # The last change: its date when it is of another year than the start (these runs started in 2024).
    last = {r.id: git(r.dir, "log", "-1", "--format=%aI")[:10] for r in (older, newer)}
    assert listed["lines"] == [
        "2 runs, 1 finished (<CR> open, e export, l log and id, q close)",
        f"2024-03-06 09:00  Write a blog post  1/3       {last[newer.id]}",
        f"2024-03-05 14:07  Write a blog post  finished  {last[older.id]}",
    ]
    assert listed["items"] == [
        {"run": newer.id, "dir": str(newer.dir), "line": 2},
        {"run": older.id, "dir": str(older.dir), "line": 3},
    ]


def test_a_row_fits_80_columns_and_a_run_with_no_commit_shows_no_last_change(
    tmp_path: Path, write: Any, blog_yaml: str, git: Any
) -> None:
    runs, cache = tmp_path / "runs", tmp_path / "cache" / "runs.json"
    long = load_workflow(
        write("blog.yaml", blog_yaml.replace("Write a blog post", "Write a blog post about a long subject"), tmp_path)
    )
    now = dt.datetime.now().replace(microsecond=0)
    done = Run.start(long, runs, now)
    complete(done, "Cats\n")
    fresh = Run.start(long, runs, now + dt.timedelta(seconds=1))
    lines = runlist.render(runlist.summaries([runs], cache), runs)["lines"]
    last = git(done.dir, "log", "-1", "--format=%aI")[5:16].replace("T", " ")  # the year it started: MM-DD HH:MM
    assert lines[1:] == [
        f"{now:%Y-%m-%d %H:%M}  Write a blog post about a long…   0/3",
        f"{now:%Y-%m-%d %H:%M}  Write a blog post about a long…   1/3       {last}",
    ]
    assert max(len(line) for line in lines) <= 80, lines
    assert fresh.id not in lines[1]  # the log's first line names it (l)


def test_the_cache_is_read_while_git_says_nothing_new_and_rebuilt_when_it_does(
    tmp_path: Path, blog: Any, git: Any
) -> None:
    runs, cache = tmp_path / "runs", tmp_path / "cache" / "runs.json"
    run = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    complete(run, "Cats\n")
    assert "1/3" in rows(runs, cache)[0]
    saved = json.loads(cache.read_text(encoding="utf-8"))
    assert saved["runs"][str(run.dir)]["summary"]["done"] == 1

    # Nothing changed in git: the summary is the cache's (a title written into it shows).
    saved["runs"][str(run.dir)]["summary"]["title"] = "From the cache"
    cache.write_text(json.dumps(saved), encoding="utf-8")
    assert "From the cache" in rows(runs, cache)[0]

    # A new commit: read from git again.
    complete(run, "1. Fur\n")
    assert "Write a blog post  2/3" in rows(runs, cache)[0]
    # Finishing (the finish ref): read again.
    finish_by_hand(run.dir, run.id)
    assert "finished" in rows(runs, cache)[0]
    # Packing the refs moves them into packed-refs: still right.
    git(run.dir, "pack-refs", "--all")
    assert "finished" in rows(runs, cache)[0]
    # A cache that is not JSON, or of another version, is rebuilt from git.
    for text in ("{not json", json.dumps({"version": 0, "runs": {}})):
        cache.write_text(text, encoding="utf-8")
        assert "Write a blog post  finished" in rows(runs, cache)[0]
        assert json.loads(cache.read_text(encoding="utf-8"))["version"] == runlist.CACHE_VERSION


def test_a_finish_ref_that_names_no_commit_of_the_run_does_not_finish_it(tmp_path: Path, blog: Any, git: Any) -> None:
    runs, cache = tmp_path / "runs", tmp_path / "cache" / "runs.json"
    run = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    complete(run, "Cats\n")
    finish_by_hand(run.dir, run.id)
    other = Run.start(blog, runs, dt.datetime(2024, 3, 6, 14, 7, 9))
    complete(other, "Dogs\n")
    # The other run's finish ref names a commit of the first run's repository: not one of its own.
    tag = git(run.dir, "rev-parse", finished_ref(run.id))
    git(other.dir, "fetch", str(run.dir), finished_ref(run.id))
    git(other.dir, "update-ref", finished_ref(other.id), tag)
    assert [r.split()[6] for r in rows(runs, cache)] == ["1/3", "finished"]  # started, title, progress


def test_runs_in_a_project_repository_and_runs_that_cannot_be_read(
    tmp_path: Path, blog: Any, project: Path, git: Any
) -> None:
    runs, cache = project / "runs", tmp_path / "cache" / "runs.json"
    run = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    complete(run, "Cats\n", "1. Fur\n")
    assert "2/3" in rows(runs, cache)[0]
    finish_by_hand(project, run.id)
    assert "finished" in rows(runs, cache)[0]
    lost = Path(tmp_path / "elsewhere" / "20240101-000000-blog")
    lost.mkdir(parents=True)
    (lost / "workflow.yaml").write_text("title: x\n", encoding="utf-8")
    [row] = rows(lost.parent, cache)
    assert row.startswith("2024-01-01 00:00  20240101-000000-blog: ") and "\n" not in row


def test_no_runs_says_where_it_looked(tmp_path: Path) -> None:
    assert runlist.render(runlist.summaries([tmp_path / "none"], None), tmp_path / "none") == {
        "lines": [f"no runs in {tmp_path / 'none'}: :WorkflowStart {{name}} starts one"],
        "items": [],
    }


def test_the_runs_command_and_the_log_of_a_run_not_open_here(tmp_path: Path, blog: Any, write: Any) -> None:
    env = {"dirs": [["project", str(tmp_path / "project")]], "options": {"runs_dir": str(tmp_path / "runs")}}
    session = Session()
    listed = session.handle("runs", {**env, "args": []})["runs"]
    assert listed["items"] == []
    other = Run.start(blog, tmp_path / "runs", dt.datetime(2024, 3, 5, 14, 7, 9))
    complete(other, "Cats\n")
    session.handle("start", {**env, "args": ["blog"]})
    listed = session.handle("runs", {**env, "args": []})["runs"]
    assert [i["run"] for i in listed["items"]] == [session.run.id if session.run else "", other.id]

    log = session.handle("log", {**env, "args": [], "run_dir": str(other.dir)})["log"]
    assert (log["run"], [e["id"] for e in log["entries"]]) == (other.id, ["topic"])
    with pytest.raises(WorkflowError, match="is not a file of run"):  # without run_dir: the run open here
        session.handle("show", {**env, "args": [log["entries"][0]["hash"], log["steps"]["topic"]["file"]]})
    shown = session.handle(
        "show", {**env, "args": [log["entries"][0]["hash"], log["steps"]["topic"]["file"]], "run_dir": str(other.dir)}
    )
    assert shown["text"] == "Cats\n"
    assert session.run is not None and session.run.id != other.id  # reading it did not switch runs


def test_the_cache_key_reads_the_finish_ref_where_history_writes_it() -> None:
    assert runlist.FINISHED_PREFIX == FINISHED_REFS  # runlist does not import history for a warm listing
