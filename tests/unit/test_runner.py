"""Command steps and trust: real shells, real files, real process groups."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from pathlib import Path

import pytest
from workflow_nvim import runner, trust
from workflow_nvim.errors import WorkflowError
from workflow_nvim.run import Run
from workflow_nvim.spec import WorkflowInvalid, env_name, load_workflow

NOW = dt.datetime(2024, 3, 5, 14, 7, 9)

BUILD = """\
name: build
title: Build it
steps:
  - id: release-notes
    title: Notes
    instructions: Write them.
  - id: tests
    title: Tests
    instructions: Run them.
    run: make test
  - id: ship
    title: Ship
    instructions: Ship it.
    run: |
      cat "$WORKFLOW_STEP_RELEASE_NOTES"
      echo "$WORKFLOW_STEP_FILE"
"""


def check(run: Run, step, command: str, timeout: float) -> tuple[int, str]:
    """check.command as the session runs it (in the background), waited for: (exit, output)."""
    ended: list[runner.Result] = []
    process = runner.check_process(run, step, command, timeout, None, ended.append)
    assert process.what == "check"
    process.start()
    result = process.wait()
    assert ended == [result]
    return result.exit, "\n".join(result.lines)


@pytest.fixture
def build(write) -> Path:
    return write("proj/.workflows/build.yaml", BUILD)


@pytest.fixture
def run(build: Path, tmp_path: Path) -> Run:
    return Run.start(load_workflow(build), tmp_path / "runs", NOW, project=build.parent.parent)


def test_env_name_upper_cases_and_turns_dashes_into_underscores():
    assert env_name("release-notes") == "WORKFLOW_STEP_RELEASE_NOTES"
    assert env_name("a_b") == "WORKFLOW_STEP_A_B"


def test_environment_names_the_run_this_step_and_only_earlier_steps(run, monkeypatch):
    monkeypatch.setenv("FROM_THE_EDITOR", "kept")
    env = runner.environment(run, run.workflow.step("tests"))
    assert env["FROM_THE_EDITOR"] == "kept"
    assert env["WORKFLOW_RUN_DIR"] == str(run.dir)
    assert env["WORKFLOW_STEP_FILE"] == str(run.dir / "02-tests.md")
    assert env["WORKFLOW_STEP_RELEASE_NOTES"] == str(run.dir / "01-release-notes.md")
    assert "WORKFLOW_STEP_TESTS" not in env and "WORKFLOW_STEP_SHIP" not in env


def test_the_project_directory_is_pinned_in_the_run_and_read_on_resume(run, build):
    assert run.project == build.parent.parent
    assert Run.open(run.dir).project == build.parent.parent
    assert runner.project_dir(Run.open(run.dir)) == build.parent.parent


def test_a_run_made_before_the_pin_runs_commands_in_the_editors_directory(build, tmp_path):
    old = Run.start(load_workflow(build), tmp_path / "runs", NOW)
    assert old.project is None
    assert runner.project_dir(old, tmp_path) == tmp_path


def test_nothing_runs_until_the_workflows_bytes_are_trusted(run, tmp_path):
    marker = tmp_path / "touched"
    with pytest.raises(runner.NeedsTrust) as e:
        check(run, run.workflow.step("tests"), f"touch {marker}", 5)
    assert e.value.commands == ["make test", 'cat "$WORKFLOW_STEP_RELEASE_NOTES"\necho "$WORKFLOW_STEP_FILE"\n']
    assert e.value.sha256 == trust.digest(run.workflow.source)
    assert not marker.exists()
    trust.remember(e.value.sha256, e.value.path, "deny")
    with pytest.raises(WorkflowError, match="you denied the commands"):
        check(run, run.workflow.step("tests"), f"touch {marker}", 5)
    assert not marker.exists()
    trust.remember(e.value.sha256, e.value.path, "allow")
    assert check(run, run.workflow.step("tests"), f"touch {marker}", 5) == (0, "")
    assert marker.exists()


def test_a_changed_file_is_asked_about_again(build, tmp_path):
    trust.remember(trust.digest(build.read_bytes()), str(build), "allow")
    assert trust.answer(trust.digest(build.read_bytes())) == "allow"
    build.write_text(BUILD.replace("make test", "make test && rm -rf ~"))
    assert trust.answer(trust.digest(build.read_bytes())) is None
    assert trust.forget(trust.digest(BUILD.encode()))
    assert trust.answer(trust.digest(BUILD.encode())) is None


def test_the_bundled_workflows_are_trusted():
    from workflow_nvim.catalog import BUNDLED_DIR

    for path in BUNDLED_DIR.glob("*.yaml"):
        assert trust.answer(trust.digest(path.read_bytes())) == "allow", path


def test_step_text_reaches_a_command_only_as_file_content(run, tmp_path):
    hostile = "$(touch PWNED) `touch PWNED2` 'quote\" \\\nsecond line\n"
    run.path(run.workflow.steps[0]).write_text(hostile)
    trust.remember(trust.digest(run.workflow.source), "x", "allow")
    ship = run.workflow.step("ship")
    status, output = check(run, ship, ship.run, 5)
    assert status == 0
    assert output == hostile.rstrip("\n") + "\n" + str(run.dir / "03-ship.md")
    assert not list(tmp_path.rglob("PWNED*"))


def test_a_command_runs_in_the_project_directory_and_says_its_exit(run, build):
    trust.remember(trust.digest(run.workflow.source), "x", "allow")
    assert check(run, run.workflow.steps[0], "pwd; exit 3", 5) == (3, str(build.parent.parent))


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie waiting for its parent does not)."""
    ps = subprocess.run(["ps", "-e", "-o", "pgid=,stat="], capture_output=True, text=True, check=True).stdout
    return any(int(g) == pgid and not s.startswith("Z") for g, s in (line.split() for line in ps.splitlines()))


def test_a_command_past_its_timeout_is_killed_with_all_it_started(tmp_path):
    pids = tmp_path / "pids"
    process = runner.Process(f"sleep 300 & echo $! > {pids}; echo started; sleep 300", tmp_path, dict(os.environ), 1)
    process.start()
    result = process.wait()
    assert result.timed_out and result.lines == ["started"]
    assert result.status_lines(1) == ["[killed after 1 s: the run_timeout option]"]
    assert process._proc is not None and not _group_alive(process._proc.pid)
    assert int(pids.read_text()) != process._proc.pid  # the background sleep was in the group


def test_a_cancelled_command_keeps_what_it_printed(tmp_path):
    seen: list[str] = []
    process = runner.Process(
        "echo one; echo two; sleep 300", tmp_path, dict(os.environ), 60, lambda lines, _: seen.extend(lines)
    )
    process.start()
    while len(seen) < 2:
        process._thread.join(0.05)  # type: ignore[union-attr]
    process.cancel()
    result = process.wait()
    assert result.cancelled and not result.timed_out
    assert result.lines == ["one", "two"] == seen
    assert result.exit == -signal.SIGKILL
    assert result.status_lines(60)[0].startswith("[cancelled after ")


def test_output_past_the_cap_is_counted_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "MAX_LINES", 10)
    process = runner.Process("seq 1 25", tmp_path, dict(os.environ), 60)
    process.start()
    result = process.wait()
    assert result.lines == [str(i) for i in range(1, 11)] and result.total == 25 and result.exit == 0
    assert result.status_lines(60)[0] == "[output cut: 25 lines, the first 10 kept]"


def test_run_and_autorun_are_validated(write):
    bad = write(
        "bad.yaml",
        """\
        title: Bad
        steps:
          - id: a
            title: A
            instructions: x
          - id: b
            title: B
            instructions: x
            run: cat ${a}
          - id: c
            title: C
            instructions: x
            autorun: true
        """,
    )
    with pytest.raises(WorkflowInvalid) as e:
        load_workflow(bad)
    text = "\n".join(str(p) for p in e.value.problems)
    assert 'commands get earlier steps as files: use "$WORKFLOW_STEP_A"' in text
    assert "'autorun' of step 'c' needs a command to run" in text


def test_sh_is_what_runs_commands():
    assert subprocess.run(["sh", "-c", "exit 0"]).returncode == 0
