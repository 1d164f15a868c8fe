"""A step's checks (checks.py), the YAML keys of issue 15 (check, run, autorun, optional), and the gate
in :WorkflowNext, :WorkflowNext!, :WorkflowCheck in a step buffer and :WorkflowSkip, with real git."""

from __future__ import annotations

import subprocess
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import checks
from workflow_nvim.checks import run_checks
from workflow_nvim.errors import WorkflowError
from workflow_nvim.session import Session
from workflow_nvim.spec import CheckSpec, env_name, load_workflow
from workflow_nvim.yamlcheck import check as check_file

TEMPLATE = "# Summary\nReplace this line with two sentences.\n\n# Risks\n"


def failures(spec: CheckSpec, text: str, template: str = TEMPLATE) -> list[tuple[int, int, str]]:
    outcome = run_checks(spec, text, template)
    assert outcome.total == spec.total()
    return [(f.line, f.col, f.message) for f in outcome.failures]


# -- each check ----------------------------------------------------------------


def test_changed_fails_on_the_placeholder_line_while_the_text_is_the_templates() -> None:
    spec = CheckSpec(changed=True)
    assert failures(spec, TEMPLATE) == [(2, 1, "the text is still what the template gave: write the step's text")]
    assert failures(spec, TEMPLATE.replace("Replace this line with two sentences.", "Done.")) == []


def test_headings_fail_on_the_empty_heading_and_on_line_1_for_a_missing_one() -> None:
    spec = CheckSpec(headings=("Summary", "Risks", "Plan"))
    text = "# Summary\nIt ships.\n\n## Risks\n\n"
    assert failures(spec, text) == [
        (4, 1, "nothing under the heading 'Risks': write it"),
        (1, 1, "the heading 'Plan' is missing: add '# Plan'"),
    ]
    assert failures(spec, "# Summary\nok\n# Risks\nnone\n# Plan\n```\n# not a heading\n```\n") == []
    assert failures(CheckSpec(headings=("Plan",)), "```\n# Plan\n```\n") == [
        (1, 1, "the heading 'Plan' is missing: add '# Plan'")
    ]


def test_min_words_counts_words_but_not_headings() -> None:
    spec = CheckSpec(min_words=4)
    assert failures(spec, "# A long heading here\nthree small words\n") == [(1, 1, "3 words, at least 4 needed")]
    assert failures(spec, "# A\nfour small words now\n") == []


def test_match_fails_on_line_1_when_nothing_matches() -> None:
    spec = CheckSpec(match=r"\d+\.\d+\.\d+")
    assert failures(spec, "version one\n") == [(1, 1, "nothing matches '\\d+\\.\\d+\\.\\d+' (the check's 'match')")]
    assert failures(spec, "version 1.2.3\n") == []
    assert failures(CheckSpec(match=r"^Done$"), "x\nDone\n") == []  # ^ and $ at each line's ends


def test_no_match_marks_each_match_where_it_is_and_names_a_placeholder() -> None:
    spec = CheckSpec(no_match="TODO|Replace this line")
    text = "# Summary\nReplace this line with two sentences.\n\n# Risks\nsome TODO here\n"
    assert failures(spec, text) == [
        (2, 1, "the placeholder is still there: replace it"),
        (5, 6, "'TODO' is still here (the check's 'no_match'): replace it"),
    ]
    outcome = run_checks(spec, text, TEMPLATE)
    assert outcome.failed == 1 and outcome.diagnostics()[1]["end_col"] == 10
    assert failures(spec, "# Summary\nAll done.\n") == []


def test_a_catastrophic_pattern_fails_its_check_after_the_timeout_instead_of_hanging() -> None:
    hostile = "a" * 5000 + "!"
    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(run_checks(CheckSpec(match="(a+)+$"), hostile, "")))
    worker.start()
    worker.join(60)  # a generous deadline: without the timeout this takes minutes
    assert done, "matching (a+)+$ did not stop"
    [outcome] = done
    assert outcome.failed == 1
    assert "took over 0.2 s on this text" in outcome.failures[0].message
    nomatch = run_checks(CheckSpec(no_match="(a+)+$"), hostile, "")
    assert "took over 0.2 s" in nomatch.failures[0].message


def test_the_summary_says_how_many_failed_the_first_and_the_bang() -> None:
    spec = CheckSpec(changed=True, no_match="Replace this line", min_words=30)
    outcome = run_checks(spec, TEMPLATE, TEMPLATE)
    assert outcome.summary() == (
        "step not done: 3 of 3 checks failed: line 2: the text is still what the template gave: "
        "write the step's text (:WorkflowNext! completes it anyway)"
    )
    assert run_checks(spec, "# Summary\n" + "word " * 30, TEMPLATE).summary() == "all 3 checks pass"


def test_env_name_upper_cases_and_turns_dashes_into_underscores() -> None:
    assert env_name("release-notes") == "WORKFLOW_STEP_RELEASE_NOTES"


# -- validation ----------------------------------------------------------------

HEAD = "title: T\nsteps:\n  - id: a\n    title: A\n    instructions: Write.\n"


def test_every_check_key_is_read(write) -> None:
    text = HEAD + textwrap.indent(
        textwrap.dedent(
            """\
            check:
              changed: true
              headings: [Summary, '# Risks']
              min_words: 30
              match: '\\d+'
              no_match: 'TODO'
              command: ./check "$WORKFLOW_STEP_FILE"
            run: make test
            autorun: true
            optional: true
            """
        ),
        "    ",
    )
    [step] = load_workflow(write("wf.yaml", text)).steps
    assert step.check == CheckSpec(True, ("Summary", "Risks"), 30, "\\d+", "TODO", './check "$WORKFLOW_STEP_FILE"')
    assert (step.run, step.autorun, step.optional) == ("make test", True, True)


def test_the_workflows_check_applies_to_steps_without_one_and_false_switches_it_off(write) -> None:
    text = (
        "title: T\ncheck:\n  changed: true\nsteps:\n"
        "  - id: a\n    title: A\n    instructions: Write.\n"
        "  - id: b\n    title: B\n    instructions: Write.\n    check: false\n"
        "  - id: c\n    title: C\n    instructions: Write.\n    check:\n      min_words: 3\n"
    )
    workflow = load_workflow(write("wf.yaml", text))
    assert workflow.check == CheckSpec(changed=True)
    assert [s.check for s in workflow.steps] == [CheckSpec(changed=True), None, CheckSpec(min_words=3)]


def test_a_cached_workflow_keeps_its_checks(write, tmp_path: Path) -> None:
    path = write("wf.yaml", HEAD + "    check:\n      headings: [A]\n    optional: true\n")
    first = load_workflow(path, cache=tmp_path / "cache")
    again = load_workflow(path, cache=tmp_path / "cache")
    assert again.steps == first.steps and again.steps[0].check == CheckSpec(headings=("A",))


def test_each_bad_value_is_located_and_says_what_to_do(problems) -> None:
    text = HEAD + textwrap.indent(
        textwrap.dedent(
            """\
            check:
              chnged: true
              match: '(unclosed'
              min_words: lots
              headings: Summary
              command: ./x ${a}
            run: cat ${a}
            optional: maybe
            """
        ),
        "    ",
    )
    assert problems(text) == [
        (12, 14, "'run' of step 'a' uses '${a}': commands get earlier steps as files: "
         'use "$WORKFLOW_STEP_A"'),
        (7, 7, "unknown key 'chnged', did you mean 'changed'? (keys of 'check' of step 'a': "
         "changed, headings, min_words, match, no_match, command)"),
        (10, 17, "'headings' of 'check' of step 'a' must be a list of headings, such as [Summary, Risks]"),
        (9, 18, "'min_words' of 'check' of step 'a' must be a whole number of words, got 'lots'"),
        (8, 14, "'match' of 'check' of step 'a' is not a valid regular expression: missing ) at character 10"),
        (11, 20, "'command' of 'check' of step 'a' uses '${a}': commands get earlier steps as files: "
         'use "$WORKFLOW_STEP_A"'),
        (13, 15, "'optional' of step 'a' must be true or false, got 'maybe'"),
    ]  # fmt: skip


def test_autorun_without_run_ids_with_one_variable_and_an_empty_check_are_errors(problems) -> None:
    text = (
        "title: T\nsteps:\n"
        "  - id: a-b\n    title: A\n    instructions: Write.\n    autorun: true\n"
        "  - id: a_b\n    title: B\n    instructions: Write.\n    check: {}\n"
    )
    assert problems(text) == [
        (6, 14, "'autorun' of step 'a-b' needs a command to run: give the step 'run:'"),
        (10, 12, "'check' of step 'a_b' checks nothing: give it a check such as 'changed: true', "
         "or write 'check: false'"),
        (7, 9, "step ids 'a-b' and 'a_b' both give commands WORKFLOW_STEP_A_B: rename one"),
    ]  # fmt: skip


def test_using_an_optional_step_is_a_warning(write) -> None:
    path = write(
        "wf.yaml",
        "title: T\nsteps:\n  - id: a\n    title: A\n    instructions: Write.\n    optional: true\n"
        "  - id: b\n    title: B\n    instructions: Write.\n    template: 'From a: ${a}'\n",
    )
    workflow, found = check_file(path, path.read_bytes(), path.read_text())
    assert workflow is not None
    assert [(p.line, p.col, p.message) for p in found] == [
        (10, 24, "step 'a' is optional: when it is skipped, '${a}' is empty; "
         "say so around it, or make the step not optional"),
    ]  # fmt: skip


def test_a_bad_pattern_is_a_bad_pattern_even_without_the_timeout() -> None:
    with pytest.raises(checks.BadPattern):
        checks.compile_pattern("[z-a]")


# -- the gate, with real git ------------------------------------------------------

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


@pytest.fixture
def gated(write, tmp_path: Path) -> tuple[Session, dict[str, Any]]:
    project = tmp_path / "project"
    write("gated.yaml", GATED, project)
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}}
    session = Session()
    session.handle("start", {**env, "args": ["gated"]})
    return session, env


def call(session: Session, env: dict[str, Any], command: str, **extra: Any) -> dict[str, Any]:
    assert session.run is not None
    here = {"buffer_step": {"run": session.run.id, "id": session.run.current.id}, "buf": 7, "tick": 12}
    return session.handle(command, {**env, "args": [], **here, **extra})


def git_log(session: Session) -> list[str]:
    assert session.run is not None
    out = subprocess.run(
        ["git", "log", "--format=%s%n%(trailers:only,unfold)%x00"],
        cwd=session.run.dir,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [c.strip() for c in out.split("\0") if c.strip()]


def test_next_with_failing_checks_commits_nothing_and_answers_located_diagnostics(gated) -> None:
    session, env = gated
    answer = call(session, env, "next")
    assert answer["warning"] == (
        "step not done: 3 of 4 checks failed: line 2: the text is still what the template gave: "
        "write the step's text (:WorkflowNext! completes it anyway)"
    )
    d = answer["diagnostics"]
    assert (d["buf"], d["tick"], d["path"]) == (7, 12, str(session.run.dir / "01-notes.md"))
    assert [(i["line"], i["message"]) for i in d["items"]] == [
        (2, "the text is still what the template gave: write the step's text"),
        (3, "nothing under the heading 'Risks': write it"),
        (2, "the placeholder is still there: replace it"),
    ]
    assert "open" not in answer and git_log(session) == []
    assert session.run.completed == set()


def test_next_passes_once_the_text_is_written_and_clears_the_marks(gated) -> None:
    session, env = gated
    (session.run.dir / "01-notes.md").write_text("# Summary\nIt ships.\n# Risks\nNone.\n")
    answer = call(session, env, "next")
    assert answer["open"]["id"] == "extra"
    assert answer["diagnostics"]["items"] == [] and answer["diagnostics"]["buf"] == 7
    [commit] = git_log(session)
    assert "Workflow-Check" not in commit


def test_next_bang_completes_over_failures_with_the_trailer(gated) -> None:
    session, env = gated
    answer = call(session, env, "next", bang=True)
    assert answer["open"]["id"] == "extra"
    [commit] = git_log(session)
    assert commit.splitlines()[0] == "gated: 1/3 Notes"
    assert "Workflow-Check: skipped, 3 of 4 failed" in commit


def test_check_in_a_step_buffer_runs_the_steps_checks_on_the_buffers_text(gated) -> None:
    session, env = gated
    answer = call(session, env, "check", lines=["# Summary", "TODO", "# Risks"])
    assert answer["warning"].startswith("1 of 4 checks fails: line 3: nothing under")  # not a refusal
    assert [i["line"] for i in answer["diagnostics"]["items"]] == [3]
    answer = call(session, env, "check", lines=["# Summary", "Ok.", "# Risks", "None."])
    assert answer["info"] == ["all 4 checks pass"] and answer["diagnostics"]["items"] == []
    assert git_log(session) == []


def test_skip_refuses_a_step_that_is_not_optional(gated) -> None:
    session, env = gated
    with pytest.raises(WorkflowError) as info:
        call(session, env, "skip")
    assert str(info.value) == (
        "step 1 'Notes' is not optional: complete it with :WorkflowNext "
        "(only steps with 'optional: true' can be skipped)"
    )


def test_skip_commits_an_optional_step_empty_and_status_and_log_say_so(gated) -> None:
    session, env = gated
    call(session, env, "next", bang=True)
    answer = call(session, env, "skip")
    path = session.run.dir / "02-extra.md"
    assert answer["open"]["id"] == "last" and answer["removed"] == [str(path)]
    assert path.read_text() == ""
    commit = git_log(session)[0]
    assert commit.splitlines()[0] == "gated: 2/3 Extra (skipped)"
    assert "Workflow-Skipped: true" in commit
    status = call(session, env, "status")["info"]
    assert any("Extra [extra] (skipped)" in line for line in status)
    log = call(session, env, "log")["log"]["entries"]
    assert log[0]["skipped"] is True and log[0]["line"].endswith("2/3 Extra (skipped)")
    # Read again from git by a new session: the history says it.
    again = Session()
    again.handle("resume", {**env, "args": [session.run.id]})
    assert again.run is not None and again.run.skipped == {"extra"}


COMMANDED = """\
title: Commanded
steps:
  - id: notes
    title: Notes
    instructions: Write the notes.
    template: |
      draft
    check:
      command: grep -q shipped "$WORKFLOW_STEP_FILE" || { echo "no 'shipped' in it"; exit 3; }
  - id: last
    title: Last
    instructions: Write the end.
"""


class Pushes:
    """What the session pushes, with a wait for its check command's end."""

    def __init__(self) -> None:
        self.all: list[dict[str, Any]] = []
        self._came = threading.Condition()

    def __call__(self, push: dict[str, Any]) -> None:
        with self._came:
            self.all.append(push)
            self._came.notify_all()

    def checked(self, timeout: float = 30) -> dict[str, Any]:
        """The next {"checked": ...} push's content (and forget it)."""
        with self._came:
            assert self._came.wait_for(lambda: any("checked" in p for p in self.all), timeout)
            push = next(p for p in self.all if "checked" in p)
            self.all.remove(push)
            return push["checked"]


@pytest.fixture
def commanded(write, tmp_path: Path) -> tuple[Session, dict[str, Any], Pushes]:
    project = tmp_path / "project"
    write("commanded.yaml", COMMANDED, project)
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}, "cwd": str(project)}
    pushes = Pushes()
    session = Session(notify=pushes)
    session.handle("start", {**env, "args": ["commanded"]})
    return session, env, pushes


def test_a_check_command_asks_for_trust_first_then_runs_in_the_background(commanded) -> None:
    from workflow_nvim import trust

    session, env, pushes = commanded
    assert session.run is not None
    # Not trusted: nothing runs, nothing is committed, the front is asked to ask.
    question = call(session, env, "next")["trust"]
    assert question["commands"] == [COMMANDED.split("command: ")[1].split("\n")[0]]
    assert git_log(session) == [] and session.run.completed == set()
    trust.remember(question["sha256"], question["path"], "allow")
    # Trusted: answered at once; the command runs apart, and its failure comes as a push.
    answer = call(session, env, "next")
    assert answer["info"] == ["checking step 1: its check command runs (:WorkflowCancel stops it)"]
    assert "open" not in answer and "warning" not in answer
    checked = pushes.checked()
    assert {k: checked[k] for k in ("buf", "tick", "id", "passed", "completes")} == {
        "buf": 7,
        "tick": 12,
        "id": "notes",
        "passed": False,
        "completes": True,
    }
    assert checked["response"]["warning"] == (
        "step not done: 1 of 1 check failed: line 1: the check command failed (exit 3): no 'shipped' in it "
        "(:WorkflowNext! completes it anyway)"
    )
    assert checked["response"]["diagnostics"]["items"][0]["line"] == 1
    assert git_log(session) == [] and session.run.completed == set()
    # It passes: remembered for this exact text, so :WorkflowNext again completes without running it.
    (session.run.dir / "01-notes.md").write_text("it shipped\n")
    assert call(session, env, "check")["info"][0].startswith("checking step 1")
    checked = pushes.checked()
    assert checked["passed"] is True and checked["completes"] is False
    assert checked["response"]["info"] == ["the 1 check passes"]
    assert call(session, env, "check")["info"] == ["the 1 check passes"]  # remembered: nothing runs
    assert call(session, env, "next")["open"]["id"] == "last"
    assert pushes.all == [] or all("checked" not in p for p in pushes.all)
    session.handle("wait", {})
    assert len(git_log(session)) == 1


def test_a_changed_text_is_checked_again(commanded) -> None:
    from workflow_nvim import trust

    session, env, pushes = commanded
    assert session.run is not None
    trust.remember(trust.digest(session.run.workflow.source), "x", "allow")
    (session.run.dir / "01-notes.md").write_text("it shipped\n")
    call(session, env, "next")
    checked = pushes.checked()
    assert checked["passed"] and checked["response"]["info"] == ["step 1's checks pass: :WorkflowNext completes it"]
    (session.run.dir / "01-notes.md").write_text("not yet\n")  # typed while it ran, then saved
    assert call(session, env, "next")["info"][0].startswith("checking step 1")
    assert pushes.checked()["passed"] is False
    assert git_log(session) == [] and session.run.completed == set()


def test_a_running_check_refuses_other_commands_and_cancel_stops_it(write, tmp_path: Path) -> None:
    from workflow_nvim import trust

    marker = tmp_path / "slept"
    project = tmp_path / "project"
    write("slow.yaml", COMMANDED.replace("grep -q", f"sleep 30; touch {marker}; grep -q"), project)
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}, "cwd": str(project)}
    pushes = Pushes()
    session = Session(notify=pushes)
    session.handle("start", {**env, "args": ["slow"]})
    assert session.run is not None
    trust.remember(trust.digest(session.run.workflow.source), "x", "allow")
    call(session, env, "next")
    with pytest.raises(WorkflowError, match="step 1's check command is still running: wait, or :WorkflowCancel"):
        call(session, env, "next")
    assert call(session, env, "cancel")["info"] == [
        "check command cancelled: its process group is killed, the step is not done"
    ]
    checked = pushes.checked()
    assert checked["passed"] is False
    assert checked["response"]["diagnostics"]["items"][0]["message"] == (
        "the check command was cancelled (:WorkflowCancel)"
    )
    assert session.processes == {} and not marker.exists()
    assert git_log(session) == []


def test_a_check_command_that_runs_too_long_is_killed_and_fails(write, tmp_path: Path, monkeypatch) -> None:
    from workflow_nvim import trust

    monkeypatch.setattr(checks, "COMMAND_TIMEOUT", 0.5)
    project = tmp_path / "project"
    write("slow.yaml", COMMANDED.replace("grep -q", "sleep 30; grep -q"), project)
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}, "cwd": str(project)}
    pushes = Pushes()
    session = Session(notify=pushes)
    session.handle("start", {**env, "args": ["slow"]})
    assert session.run is not None
    trust.remember(trust.digest(session.run.workflow.source), "x", "allow")
    call(session, env, "next")
    checked = pushes.checked()
    assert checked["passed"] is False
    assert checked["response"]["diagnostics"]["items"][0]["message"] == (
        "the check command was killed after 0.5 s (its limit)"
    )
    assert session.processes == {} and git_log(session) == []


def test_next_bang_never_runs_the_check_command_nor_asks(commanded, tmp_path: Path) -> None:
    from workflow_nvim import trust

    session, env, pushes = commanded
    assert session.run is not None
    trust.remember(trust.digest(session.run.workflow.source), "x", "deny")
    with pytest.raises(WorkflowError, match="you denied the commands"):
        call(session, env, "next")
    answer = call(session, env, "next", bang=True)
    assert answer["open"]["id"] == "last"
    session.handle("wait", {})
    [commit] = git_log(session)
    assert "Workflow-Check: skipped, 0 of 0 failed, the command not run" in commit
    assert pushes.all == [] or all("checked" not in p for p in pushes.all)


def test_the_tutorials_first_step_stops_on_its_placeholder_and_explains_the_bang(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "workflows"
    env = {"dirs": [["bundled", str(bundled)]], "options": {"runs_dir": str(tmp_path / "runs")}}
    session = Session()
    first = session.handle("start", {**env, "args": ["tutorial"]})
    assert any(":WorkflowNext! (with !)" in line for line in first["open"]["instructions"])
    answer = call(session, env, "next")
    assert [(i["line"], i["message"]) for i in answer["diagnostics"]["items"]] == [
        (3, "the placeholder is still there: replace it")
    ]
    assert session.run is not None and session.run.completed == set()
    (session.run.dir / "01-step-buffer.md").write_text("# A task I repeat\n\nReviewing a pull request.\n")
    assert call(session, env, "next")["open"]["id"] == "saving"


def test_a_check_of_unknown_keys_only_is_not_also_said_to_check_nothing(problems) -> None:
    text = "title: T\nsteps:\n  - id: a\n    title: A\n    instructions: Write.\n    check:\n      chnged: true\n"
    assert [message for _, _, message in problems(text)] == [
        "unknown key 'chnged', did you mean 'changed'? (keys of 'check' of step 'a': "
        "changed, headings, min_words, match, no_match, command)"
    ]
