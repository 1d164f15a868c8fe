"""Git as the run's memory: real repositories in tmp_path, driven through the git command."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from workflow_nvim import history
from workflow_nvim.errors import WorkflowError
from workflow_nvim.history import (
    TRAILER_REVERT,
    TRAILER_SAVED,
    TRAILER_STEP,
    Entry,
    GitRefused,
    RunRepository,
    commit_message,
    completed_steps,
    parse_log,
    read_log,
)
from workflow_nvim.run import Run
from workflow_nvim.spec import Workflow, load_workflow

RUN = "20240305-140709-blog"
NOW = dt.datetime(2024, 3, 5, 14, 7, 9)
NO_IDENTITY = "git has no user.name/user.email for"


def message(index: int, step_id: str, key: str = TRAILER_STEP, run_id: str = RUN, subject: str = "") -> list[str]:
    return commit_message(subject or f"blog: {index}/3 {step_id}", "Body.", "blog", run_id, key, index, 3, step_id)


def count_commits(git, cwd: Path) -> int:
    return int(git(cwd, "rev-list", "--count", "HEAD"))


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[RunRepository]:
    """The repository of a run directory outside any project: created for it."""
    run_dir = tmp_path / "runs" / RUN
    run_dir.mkdir(parents=True)
    repo = RunRepository.open(run_dir, create=True)
    assert not (run_dir / ".git").exists()  # described only: git init happens on first use
    repo.prepare()
    yield repo
    repo.close()


def test_a_git_dir_without_head_is_a_repository_still_to_make(tmp_path: Path, git) -> None:
    """What a server killed before (or during) ``git init`` leaves: a .git of the run's lock only.
    It is no broken repository: the next first use makes it."""
    run_dir = tmp_path / "runs" / RUN
    (run_dir / ".git" / "workflow-locks").mkdir(parents=True)
    (run_dir / ".git" / "workflow-locks" / f"{RUN}.lock").write_text("4242\n", encoding="utf-8")
    repo = RunRepository.open(run_dir, create=True)
    repo.prepare()
    assert git(run_dir, "rev-parse", "--absolute-git-dir") == str((run_dir / ".git").resolve())
    assert git(run_dir, "config", "user.name")
    repo.close()
    (run_dir / ".git" / "HEAD").write_text("garbage\n", encoding="utf-8")  # now broken: said so
    with pytest.raises(WorkflowError, match=r"git cannot read its \.git \(broken\?\)"):
        RunRepository.open(run_dir, create=True)


@pytest.fixture
def in_project(project: Path) -> Iterator[RunRepository]:
    """The repository of a run directory inside a project: the project's."""
    run_dir = project / "runs" / RUN
    run_dir.mkdir(parents=True)
    repo = RunRepository.open(run_dir, create=True)
    yield repo
    repo.close()


@pytest.fixture
def blog(write, blog_yaml) -> Workflow:
    return load_workflow(write("blog.yaml", blog_yaml))


def write_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- opening -------------------------------------------------------------------


def test_a_run_dir_outside_any_repository_gets_its_own(standalone, git):
    run_dir = standalone.run_dir
    assert standalone.standalone
    assert (run_dir / ".git").is_dir()
    assert git(run_dir, "rev-parse", "--show-toplevel") == str(run_dir)
    assert standalone.rel(run_dir / "01-topic.md") == "01-topic.md"
    # no identity anywhere (empty global config): the run repository has its own
    assert git(run_dir, "config", "--local", "user.name") == "workflow.nvim"
    assert git(run_dir, "config", "--local", "user.email") == "workflow.nvim@localhost"
    assert standalone.identity_problem() is None


def test_a_new_run_repository_uses_the_persons_identity_when_git_has_one(tmp_path, git, monkeypatch):
    config = tmp_path / "person.gitconfig"
    config.write_text("[user]\n\tname = Pat Person\n\temail = pat@example.org\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    run_dir = tmp_path / RUN
    run_dir.mkdir()
    repo = RunRepository.open(run_dir, create=True)
    write_file(run_dir / "01-topic.md", "Cats\n")
    repo.commit([run_dir / "01-topic.md"], message(1, "topic"), "step 1")
    repo.close()
    local = subprocess.run(
        ["git", "-C", str(run_dir), "config", "--local", "--get-regexp", "^user\\."], capture_output=True
    )
    assert local.returncode == 1  # no identity of its own: the person's applies
    assert git(run_dir, "log", "-1", "--format=%an <%ae>") == "Pat Person <pat@example.org>"


def test_a_run_dir_inside_a_project_uses_the_project_repository(in_project, project, git):
    assert not in_project.standalone
    assert not (in_project.run_dir / ".git").exists()
    assert in_project.top == project
    assert in_project.rel(in_project.run_dir / "01-topic.md") == f"runs/{RUN}/01-topic.md"
    # the project's own identity is left alone
    assert git(project, "config", "--local", "user.name") == "Pat Person"


def test_open_without_create_outside_a_repository_is_an_error(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorkflowError) as info:
        RunRepository.open(plain, create=False)
    assert str(info.value) == f"{plain} is not in a git repository: is it a run directory?"
    assert not (plain / ".git").exists()
    with pytest.raises(WorkflowError, match="does not exist"):
        RunRepository.open(tmp_path / "missing", create=False)


# -- reading the log -----------------------------------------------------------


def test_log_on_a_repository_without_commits_is_empty(standalone, git):
    assert git(standalone.run_dir, "rev-list", "--all") == ""
    assert standalone.log(RUN) == []


def test_log_reads_the_runs_steps_and_reverts_from_the_trailers(standalone, git):
    d = standalone.run_dir
    hashes = []
    for index, step_id, key, text in [
        (1, "topic", TRAILER_STEP, "Cats\n"),
        (2, "outline", TRAILER_STEP, "1. Fur\n"),
        (3, "draft", TRAILER_SAVED, "Half\n"),
    ]:
        path = write_file(d / f"0{index}-{step_id}.md", text)
        hashes.append(standalone.commit([path], message(index, step_id, key), step_id))
    later = [d / "02-outline.md", d / "03-draft.md"]
    hashes.append(standalone.commit(later, message(1, "topic", TRAILER_REVERT), "revert", delete=later))
    assert not any(p.exists() for p in later)

    entries = standalone.log(RUN)
    assert [(e.kind, e.index, e.total, e.step_id) for e in entries] == [
        ("step", 1, 3, "topic"),
        ("step", 2, 3, "outline"),
        ("saved", 3, 3, "draft"),
        ("revert", 1, 3, "topic"),
    ]
    assert [e.hash for e in entries] == hashes
    assert git(d, "rev-list", "--reverse", "HEAD").split() == hashes
    first = entries[0]
    assert first.short == git(d, "rev-parse", "--short", hashes[0])
    assert first.subject == "blog: 1/3 topic"
    assert first.date == git(d, "log", "-1", "--format=%aI", hashes[0])
    assert not any(e.revised for e in entries)
    assert completed_steps(entries) == {"topic": 1}


def test_log_ignores_commits_of_other_runs_and_commits_without_trailers(standalone, git):
    d = standalone.run_dir
    write_file(d / "notes.txt", "mine\n")
    git(d, "add", "notes.txt")
    git(d, "commit", "--quiet", "-m", "A commit of my own")
    other_run = "20240101-000000-blog"
    theirs = standalone.commit([write_file(d / "a.md", "a\n")], message(1, "topic", run_id=other_run), "other")
    mine = standalone.commit([write_file(d / "01-topic.md", "Cats\n")], message(1, "topic"), "step 1")
    assert count_commits(git, d) == 3
    assert [e.hash for e in standalone.log(RUN)] == [mine]
    assert [e.hash for e in standalone.log(other_run)] == [theirs]
    assert standalone.log("20990101-000000-nothing") == []


def test_log_in_a_project_sees_only_this_run_directory(in_project, project, git):
    other_dir = project / "runs" / "20240101-000000-blog"
    other_dir.mkdir()
    other = RunRepository.open(other_dir, create=False)
    # the other run reuses this run's id in its trailers: still not ours, it is in another directory
    other.commit([write_file(other_dir / "01-topic.md", "Dogs\n")], message(1, "topic"), "other")
    other.close()
    assert in_project.log(RUN) == []
    mine = in_project.commit([write_file(in_project.run_dir / "01-topic.md", "Cats\n")], message(1, "topic"), "1")
    assert [e.hash for e in in_project.log(RUN)] == [mine]


def test_a_step_committed_again_is_marked_revised(standalone):
    d = standalone.run_dir
    path = d / "01-topic.md"
    write_file(path, "Cats\n")
    standalone.commit([path], message(1, "topic"), "step 1")
    write_file(path, "Dogs\n")
    standalone.commit([path], message(1, "topic", subject="blog: 1/3 topic (revised)"), "step 1")
    standalone.commit([write_file(d / "02-outline.md", "x\n")], message(2, "outline"), "step 2")
    entries = standalone.log(RUN)
    assert [(e.step_id, e.revised) for e in entries] == [("topic", False), ("topic", True), ("outline", False)]


def record(full: str, subject: str, trailers: str) -> str:
    return f"{full}\x1f{full[:7]}\x1f2024-03-05T14:07:09+01:00\x1f{subject}\x1f{trailers}\x1e\n"


def test_parse_log_takes_only_well_formed_trailers_of_the_run():
    # git log prints newest first
    output = "".join(
        [
            record("e" * 40, "ok: Workflow-Step: 9/9 x", f"Workflow-Run: {RUN}\nWorkflow-Step: 3/3 draft\n"),
            record("d" * 40, "wrong value", f"Workflow-Run: {RUN}\nWorkflow-Step: draft\n"),
            record("c" * 40, "", f"Workflow-Run: {RUN}\nWorkflow-Step: 2/3 outline\n"),
            record("b" * 40, "no trailers at all", ""),
            record("a" * 40, "Workflow-Run: x", f"Workflow: blog\nWorkflow-Run: {RUN}\nWorkflow-Step: 1/3 topic\n"),
            record("9" * 40, "another run", "Workflow-Run: 20240101-000000-blog\nWorkflow-Step: 1/3 topic\n"),
            "garbage without fields\x1e\n",
        ]
    )
    entries = parse_log(output, RUN)
    assert [(e.hash[0], e.subject, e.index, e.step_id) for e in entries] == [
        ("a", "Workflow-Run: x", 1, "topic"),
        ("c", "", 2, "outline"),
        ("e", "ok: Workflow-Step: 9/9 x", 3, "draft"),
    ]
    assert entries[0].date == "2024-03-05T14:07:09+01:00"
    assert entries[0].short == "a" * 7


def test_trailer_like_text_in_a_subject_or_body_is_not_a_trailer(standalone, git):
    d = standalone.run_dir
    write_file(d / "x.md", "x\n")
    git(d, "add", "x.md")
    # one paragraph only: git never reads the subject as trailers
    git(d, "commit", "--quiet", "-m", f"Workflow-Run: {RUN}")
    write_file(d / "y.md", "y\n")
    git(d, "add", "y.md")
    # trailers in a middle paragraph are not trailers either
    body = f"Workflow-Run: {RUN}\nWorkflow-Step: 1/3 topic"
    git(d, "commit", "--quiet", "-m", "Odd: subject", "-m", body, "-m", "Just a last paragraph.")
    assert standalone.log(RUN) == []


def test_log_is_not_confused_by_signature_output(standalone, git, tmp_path):
    """With log.showSignature, git prints signature checks into the log: they must not end up in the hashes."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen to sign commits")
    d = standalone.run_dir
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(d, "config", "gpg.format", "ssh")
    git(d, "config", "user.signingkey", f"{key}.pub")
    git(d, "config", "commit.gpgsign", "true")
    git(d, "config", "log.showSignature", "true")
    commit = standalone.commit([write_file(d / "01-topic.md", "Cats\n")], message(1, "topic"), "step 1")
    assert commit == git(d, "rev-parse", "HEAD")
    assert "gpgsig" in git(d, "cat-file", "commit", "HEAD")
    assert [e.hash for e in standalone.log(RUN)] == [commit]
    assert standalone.diff(commit, None).startswith(f"commit {commit}\n")


def entry(kind: str, index: int, step_id: str) -> Entry:
    return Entry("0" * 40, "0" * 7, "2024-03-05T14:07:09+01:00", "s", kind, index, 3, step_id)


def test_completed_steps_replays_steps_and_reverts():
    done = [entry("step", 1, "topic"), entry("step", 2, "outline"), entry("step", 3, "draft")]
    assert completed_steps([]) == {}
    assert completed_steps(done) == {"topic": 1, "outline": 2, "draft": 3}
    back = [*done, entry("saved", 3, "draft"), entry("revert", 1, "topic")]
    assert completed_steps(back) == {"topic": 1}
    assert completed_steps([*back, entry("step", 2, "outline")]) == {"topic": 1, "outline": 2}
    assert completed_steps([*done, entry("revert", 2, "outline")]) == {"topic": 1, "outline": 2}
    # a saved commit alone completes nothing
    assert completed_steps([entry("step", 1, "topic"), entry("saved", 2, "outline")]) == {"topic": 1}


# -- committing ----------------------------------------------------------------


def test_commit_in_a_project_commits_exactly_the_given_paths(in_project, project, git):
    (project / "other.txt").write_text("committed\n", encoding="utf-8")
    git(project, "add", "other.txt")
    git(project, "commit", "--quiet", "-m", "Add other")
    (project / "other.txt").write_text("staged\n", encoding="utf-8")
    git(project, "add", "other.txt")
    (project / "README.md").write_text("# Unstaged edit\n", encoding="utf-8")
    (project / "new.txt").write_text("untracked\n", encoding="utf-8")
    status_before = git(project, "status", "--porcelain", "--", ".", ":!runs")

    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    commit = in_project.commit([step], message(1, "topic"), "step 1")

    assert commit == git(project, "rev-parse", "HEAD")
    assert git(project, "show", "--name-only", "--format=", "HEAD") == f"runs/{RUN}/01-topic.md"
    assert git(project, "log", "-1", "--format=%an %s") == "Pat Person blog: 1/3 topic"
    assert git(project, "log", "-1", "--format=%(trailers:key=Workflow-Step,valueonly)") == "1/3 topic"
    # the person's work is exactly as it was: staged stays staged, unstaged stays unstaged
    assert git(project, "status", "--porcelain", "--", ".", ":!runs") == status_before
    assert git(project, "diff", "--cached", "--name-only") == "other.txt"
    assert git(project, "show", ":other.txt") == "staged"
    assert git(project, "diff", "--name-only") == "README.md"
    assert (project / "README.md").read_text(encoding="utf-8") == "# Unstaged edit\n"
    assert git(project, "ls-files", "--others", "--exclude-standard") == "new.txt"


def test_commit_of_nothing_changed_returns_none_and_makes_no_commit(standalone, git):
    d = standalone.run_dir
    path = write_file(d / "01-topic.md", "Cats\n")
    first = standalone.commit([path], message(1, "topic"), "step 1")
    assert first is not None
    assert standalone.commit([path], message(1, "topic"), "step 1") is None
    assert git(d, "rev-parse", "HEAD") == first
    assert count_commits(git, d) == 1


def test_commit_of_no_paths_never_commits_what_else_is_staged(in_project, project, git):
    (project / "README.md").write_text("# Staged\n", encoding="utf-8")
    git(project, "add", "README.md")
    head = git(project, "rev-parse", "HEAD")
    assert in_project.commit([], message(1, "topic", TRAILER_REVERT), "nothing") is None
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "diff", "--cached", "--name-only") == "README.md"


def test_a_pre_commit_hook_that_rejects_is_reported_with_its_words(in_project, project, git):
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        "#!/bin/sh\necho 'trailing whitespace in 01-topic.md'\necho 'fix it and try again' >&2\nexit 1\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    head = git(project, "rev-parse", "HEAD")
    step = write_file(in_project.run_dir / "01-topic.md", "Cats \n")
    with pytest.raises(WorkflowError) as info:
        in_project.commit([step], message(1, "topic"), "step 1 'Pick a topic'")
    text = str(info.value)
    assert not isinstance(info.value, GitRefused)
    # Too long with the title: the title goes, git's words are cut to fit 80 columns with "[workflow] ".
    assert text == "git refused the commit of step 1: trailing whitespace in 01-topic.m…"
    assert len("[workflow] " + text) <= 80
    assert info.value.detail == "trailing whitespace in 01-topic.md | fix it and try again"  # type: ignore[attr-defined]
    assert git(project, "rev-parse", "HEAD") == head
    assert step.read_text(encoding="utf-8") == "Cats \n"
    # once the hook is happy, the same commit goes through
    hook.unlink()
    assert in_project.commit([step], message(1, "topic"), "step 1") == git(project, "rev-parse", "HEAD")


# -- refusing to commit --------------------------------------------------------


def test_an_index_lock_is_a_refusal_and_is_never_deleted(in_project, project, git):
    lock = project / ".git" / "index.lock"
    lock.write_text("", encoding="utf-8")
    head = git(project, "rev-parse", "HEAD")
    assert in_project.refusal() == (
        f"the repository {project} is locked by {lock} (another git command is running, or one crashed): "
        "wait, or remove that file if no git process is running"
    )
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    with pytest.raises(GitRefused) as info:
        in_project.commit([step], message(1, "topic"), "step 1 'Pick a topic'")
    assert str(info.value).startswith(f"cannot commit step 1 'Pick a topic': the repository {project} is locked by")
    assert lock.exists()
    lock.unlink()
    assert git(project, "rev-parse", "HEAD") == head
    assert in_project.refusal() is None


def test_the_run_repository_says_so_in_a_refusal(standalone):
    lock = standalone.git_dir / "index.lock"
    lock.write_text("", encoding="utf-8")
    assert (standalone.refusal() or "").startswith(f"the run repository is locked by {lock} ")
    assert lock.exists()


def test_a_merge_in_progress_is_a_refusal(in_project, project, git):
    git(project, "switch", "--quiet", "-c", "side")
    (project / "README.md").write_text("# Side\n", encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "Side")
    git(project, "switch", "--quiet", "main")
    (project / "README.md").write_text("# Main\n", encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "Main")
    head = git(project, "rev-parse", "HEAD")
    assert in_project.refusal() is None
    merge = subprocess.run(["git", "-C", str(project), "merge", "side"], capture_output=True)
    assert merge.returncode != 0
    assert (project / ".git" / "MERGE_HEAD").exists()
    assert in_project.refusal() == f"the repository {project} is in the middle of a merge: finish or abort it first"
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    with pytest.raises(GitRefused, match="in the middle of a merge"):
        in_project.commit([step], message(1, "topic"), "step 1")
    assert git(project, "rev-parse", "HEAD") == head
    assert (project / ".git" / "MERGE_HEAD").exists()
    assert "<<<<<<<" in (project / "README.md").read_text(encoding="utf-8")
    # the run's file was not even staged into the person's merge
    assert f"runs/{RUN}" not in git(project, "diff", "--cached", "--name-only")


def test_a_rebase_in_progress_is_a_refusal(in_project, project, git):
    git(project, "switch", "--quiet", "-c", "side")
    (project / "README.md").write_text("# Side\n", encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "Side")
    git(project, "switch", "--quiet", "main")
    (project / "README.md").write_text("# Main\n", encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "Main")
    git(project, "switch", "--quiet", "side")
    rebase = subprocess.run(["git", "-C", str(project), "rebase", "main"], capture_output=True)
    assert rebase.returncode != 0
    assert (project / ".git" / "rebase-merge").is_dir()
    assert in_project.refusal() == f"the repository {project} is in the middle of a rebase: finish or abort it first"
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    with pytest.raises(GitRefused, match="in the middle of a rebase"):
        in_project.commit([step], message(1, "topic"), "step 1")
    assert (project / ".git" / "rebase-merge").is_dir()
    git(project, "rebase", "--abort")
    assert in_project.refusal() is None


def test_a_detached_head_is_a_refusal(in_project, project, git):
    head = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "--quiet", "--detach")
    assert in_project.refusal() == (
        f"the repository {project} has a detached HEAD: check out a branch first (git switch BRANCH)"
    )
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    with pytest.raises(GitRefused, match="detached HEAD"):
        in_project.commit([step], message(1, "topic"), "step 1")
    assert git(project, "rev-parse", "HEAD") == head
    assert in_project.head() == head
    git(project, "switch", "--quiet", "main")
    assert in_project.refusal() is None


def test_identity_problem_in_a_repository_without_identity(tmp_path, git):
    top = tmp_path / "anonymous"
    top.mkdir()
    git(top, "init", "--quiet")
    # git may guess an identity from the host name; this repository insists on a configured one
    git(top, "config", "user.useConfigOnly", "true")
    run_dir = top / "runs" / RUN
    run_dir.mkdir(parents=True)
    repo = RunRepository.open(run_dir, create=True)
    assert not repo.standalone
    problem = repo.identity_problem()
    assert problem is not None
    assert problem.startswith(f"{NO_IDENTITY} {top}: set them with `git config --global user.name")
    assert git(top, "config", "--local", "--list").count("user.name") == 0  # nothing set behind the person's back
    git(top, "config", "user.name", "Pat Person")
    git(top, "config", "user.email", "pat@example.org")
    assert repo.identity_problem() is None
    repo.close()


# -- head, show, diff ----------------------------------------------------------


def test_head_is_the_commit_head_points_to_also_with_packed_refs(standalone, git):
    d = standalone.run_dir
    standalone.commit([write_file(d / "01-topic.md", "Cats\n")], message(1, "topic"), "1")
    assert standalone.head() == git(d, "rev-parse", "HEAD")
    git(d, "pack-refs", "--all")
    branch = git(d, "symbolic-ref", "HEAD")
    assert not (d / ".git" / branch).exists()
    assert standalone.head() == git(d, "rev-parse", "HEAD")
    second = standalone.commit([write_file(d / "02-outline.md", "x\n")], message(2, "outline"), "2")
    assert second == git(d, "rev-parse", "HEAD")
    git(d, "pack-refs", "--all")
    assert standalone.head() == second


def test_show_gives_a_files_text_at_a_commit(in_project, git):
    path = in_project.run_dir / "01-topic.md"
    first = in_project.commit([write_file(path, "Cats\n\n")], message(1, "topic"), "1")
    second = in_project.commit([write_file(path, "Dogs\n")], message(1, "topic"), "1")
    assert first and second
    assert in_project.show(first, path) == "Cats\n\n"  # exactly, trailing newlines included
    assert in_project.show(second, Path("01-topic.md")) == "Dogs\n"
    with pytest.raises(WorkflowError) as info:
        in_project.show(first, in_project.run_dir / "02-outline.md")
    assert str(info.value).startswith(f"cannot show 02-outline.md at {first[:12]}: ")
    assert "\n" not in str(info.value)


def test_diff_shows_what_a_commit_changed(in_project, project, git):
    path = in_project.run_dir / "01-topic.md"
    in_project.commit([write_file(path, "Cats\n")], message(1, "topic"), "1")
    second = in_project.commit([write_file(path, "Dogs\n")], message(1, "topic", subject="topic again"), "1")
    assert second
    patch = in_project.diff(second, path)
    assert patch.startswith(f"commit {second}\nAuthor: Pat Person <pat@example.org>\nDate:   ")
    assert "topic again" in patch
    assert f"Workflow-Run: {RUN}" in patch
    assert "-Cats\n+Dogs" in patch
    assert in_project.diff(second, None) == patch
    with pytest.raises(WorkflowError, match=r"^cannot show commit 0000000000: "):
        in_project.diff("0000000000", None)


# -- runs ------------------------------------------------------------------------


def test_start_in_a_project_without_identity_is_refused_and_leaves_nothing(blog, tmp_path, git):
    top = tmp_path / "anonymous"
    top.mkdir()
    git(top, "init", "--quiet")
    git(top, "config", "user.useConfigOnly", "true")
    runs = top / "runs"
    with pytest.raises(WorkflowError) as info:
        Run.start(blog, runs, NOW)
    assert str(info.value).startswith(f"cannot start a run in {runs}: {NO_IDENTITY} {top}: ")
    assert list(runs.iterdir()) == []
    assert git(top, "status", "--porcelain", "--untracked-files=all") == ""


def test_start_in_a_project_in_the_middle_of_a_merge_is_refused(blog, project, git):
    (project / ".git" / "MERGE_HEAD").write_text(git(project, "rev-parse", "HEAD") + "\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as info:
        Run.start(blog, project / "runs", NOW)
    assert str(info.value) == (
        f"cannot start a run in {project / 'runs'}: the repository {project} is in the middle of a merge: "
        "finish or abort it first"
    )
    assert list((project / "runs").iterdir()) == []


def complete(run: Run, index: int, text: str | None = None) -> str:
    step = run.workflow.steps[index - 1]
    path = run.enter(step)
    if text is not None:
        path.write_text(text, encoding="utf-8")
    _, note = run.complete(step)
    return note


def test_a_run_in_a_project_commits_to_the_project_and_keeps_the_persons_changes(blog, project, git):
    (project / "README.md").write_text("# Staged\n", encoding="utf-8")
    git(project, "add", "README.md")
    run = Run.start(blog, project / "runs", NOW)
    assert not (run.dir / ".git").exists()
    complete(run, 1, "Cats\n")
    complete(run, 2)
    files = git(project, "log", "--format=", "--name-only", "-2").split()
    prefix = f"runs/{run.id}"
    assert sorted(files) == [
        f"{prefix}/.start/01-topic.md",
        f"{prefix}/.start/02-outline.copies.json",  # what its template copied from step 1
        f"{prefix}/.start/02-outline.md",
        f"{prefix}/01-topic.md",
        f"{prefix}/02-outline.md",
        f"{prefix}/workflow.yaml",
    ]
    assert git(project, "diff", "--cached", "--name-only") == "README.md"
    assert git(project, "status", "--porcelain", "--", prefix) == ""
    run.close()


def test_open_reproduces_the_completed_steps_after_reverts(blog, tmp_path, git):
    run = Run.start(blog, tmp_path / "runs", NOW)
    complete(run, 1, "Cats\n")
    complete(run, 2, "1. Fur\n")
    complete(run, 3, "Draft\n")
    run.revert(blog.steps[0])
    complete(run, 2, "1. Whiskers\n")
    assert run.completed == {"topic", "outline"}
    before = [(e.hash, e.kind, e.step_id, e.revised) for e in run.entries]
    run.close()

    again = Run.open(run.dir)
    assert again.id == run.id
    assert again.workflow.name == "blog"
    assert [s.id for s in again.workflow.steps] == ["topic", "outline", "draft"]
    assert again.completed == {"topic", "outline"}
    assert again.frontier.id == "draft"
    assert again.current.id == "draft"
    assert not again.finished
    assert [(e.hash, e.kind, e.step_id, e.revised) for e in again.entries] == before
    assert [(e.kind, e.step_id, e.revised) for e in again.entries] == [
        ("step", "topic", False),
        ("step", "outline", False),
        ("step", "draft", False),
        ("revert", "topic", False),
        ("step", "outline", False),  # its first completion since the revert undid the one before
    ]
    assert git(run.dir, "log", "-1", "--format=%s") == "blog: 2/3 Outline"
    # the snapshot is the workflow as it was when the run started
    blog.path.write_text("title: changed\nsteps: []\n", encoding="utf-8")
    assert Run.open(run.dir).workflow.title == "Write a blog post"
    again.close()


def test_open_a_directory_that_is_not_a_run(tmp_path, blog):
    plain = tmp_path / "20240305-140709-blog"
    plain.mkdir()
    with pytest.raises(WorkflowError, match="is not a run directory"):
        Run.open(plain)
    run = Run.start(blog, tmp_path / "runs", NOW)
    shutil.rmtree(run.dir / ".git")
    with pytest.raises(WorkflowError, match="is not in a git repository"):
        Run.open(run.dir)


def test_revert_keeps_unfinished_text_in_a_saved_commit_before_the_revert(blog, tmp_path, git):
    run = Run.start(blog, tmp_path / "runs", NOW)
    complete(run, 1, "Cats\n")
    complete(run, 2, "1. Fur\n")
    draft = run.enter(blog.steps[2])
    draft.write_text("half a draft\n", encoding="utf-8")
    removed, note = run.revert(blog.steps[0])

    assert removed == [run.dir / "02-outline.md", run.dir / "03-draft.txt"]
    assert not any(p.exists() for p in removed)
    saved = git(run.dir, "rev-parse", "HEAD^")
    outline = git(run.dir, "log", "-1", "--format=%h", "HEAD^", "--", "02-outline.md")
    # Each file named, with the commit that holds its text: a line of :WorkflowLog whose <CR> shows it.
    assert note == (
        f"back at step 1, 2-3 pending again; kept: :WorkflowLog, <CR> on {outline} (02-outline.md), "
        f"{saved[:7]} (03-draft.txt)"
    )
    assert git(run.dir, "log", "-1", "--format=%s", "HEAD^") == "blog: kept unfinished 3/3 Draft"
    assert git(run.dir, "show", "HEAD^:03-draft.txt") == "half a draft"
    assert git(run.dir, "show", "HEAD^:02-outline.md") == "1. Fur"
    assert git(run.dir, "log", "-1", "--format=%(trailers:key=Workflow-Saved,valueonly)", "HEAD^") == "3/3 draft"
    assert git(run.dir, "log", "-1", "--format=%(trailers:key=Workflow-Revert,valueonly)") == "1/3 topic"
    assert git(run.dir, "ls-tree", "-r", "--name-only", "HEAD") == ".start/01-topic.md\n01-topic.md\nworkflow.yaml"
    assert git(run.dir, "status", "--porcelain") == ""
    assert [e.kind for e in run.entries] == ["step", "step", "saved", "revert"]
    assert run.completed == {"topic"}
    assert run.current.id == "topic"
    # nothing was reset: every commit is still in the branch's history
    assert count_commits(git, run.dir) == 4
    run.close()


def test_revert_after_later_files_were_deleted_by_hand(blog, project, git):
    run = Run.start(blog, project / "runs", NOW)
    complete(run, 1, "Cats\n")
    complete(run, 2, "1. Fur\n")
    complete(run, 3, "Draft\n")
    (run.dir / "02-outline.md").unlink()
    (run.dir / "03-draft.txt").unlink()
    (project / "README.md").write_text("# Staged\n", encoding="utf-8")
    git(project, "add", "README.md")

    run.revert(blog.steps[0])

    # the revert commit holds the run's deletions, not the person's staged change
    prefix = f"runs/{run.id}"
    assert git(project, "show", "--name-only", "--format=", "HEAD").split() == [
        f"{prefix}/.start/02-outline.copies.json",
        f"{prefix}/.start/02-outline.md",
        f"{prefix}/.start/03-draft.txt",
        f"{prefix}/02-outline.md",
        f"{prefix}/03-draft.txt",
    ]
    assert git(project, "diff", "--cached", "--name-only") == "README.md"
    assert run.completed == {"topic"}
    run.close()
    assert Run.open(project / "runs" / run.id).completed == {"topic"}


def test_revert_with_nothing_started_after_the_target(blog, tmp_path, git):
    run = Run.start(blog, tmp_path / "runs", NOW)
    complete(run, 1, "Cats\n")
    head = git(run.dir, "rev-parse", "HEAD")
    removed, note = run.revert(blog.steps[0])
    assert removed == []
    assert note == "nothing to revert: no step after 1 'Pick a topic' was started"
    assert git(run.dir, "rev-parse", "HEAD") == head
    run.close()


def test_completing_an_unchanged_step_again_makes_no_commit(blog, tmp_path, git):
    run = Run.start(blog, tmp_path / "runs", NOW)
    complete(run, 1, "Cats\n")
    head = git(run.dir, "rev-parse", "HEAD")
    note = complete(run, 1)
    assert note == "step 1 'Pick a topic' has not changed since its last commit: nothing to commit"
    assert git(run.dir, "rev-parse", "HEAD") == head
    note = complete(run, 1, "Dogs\n")
    assert note == f"step 1 'Pick a topic' revised (commit {git(run.dir, 'rev-parse', 'HEAD')[:7]})"
    assert git(run.dir, "log", "-1", "--format=%s") == "blog: 1/3 Pick a topic (revised)"
    run.close()


def test_a_runs_dir_the_project_ignores_gets_standalone_repositories(project: Path, git) -> None:
    (project / ".gitignore").write_text(".runs/\n", encoding="utf-8")
    run_dir = project / ".runs" / RUN
    run_dir.mkdir(parents=True)
    repo = RunRepository.open(run_dir, create=True)
    try:
        assert repo.standalone
        repo.prepare()
        assert git(run_dir, "rev-parse", "--show-toplevel") == str(run_dir)
    finally:
        repo.close()


# -- nothing of the run is ever staged in the person's project -------------------

# Child processes run the code under test, wherever it was imported from.
CODE = str(Path(history.__file__).resolve().parents[1])
PERSON_STAGED = "README.md"


def persons_changes(project: Path, git) -> str:
    """A staged and an unstaged change of the person's own; returns `git status` of everything but runs/."""
    (project / "README.md").write_text("# Staged by the person\n", encoding="utf-8")
    git(project, "add", "README.md")
    (project / "notes.txt").write_text("untracked\n", encoding="utf-8")
    (project / "README.md").write_text("# Staged by the person\nand an unstaged line\n", encoding="utf-8")
    return git(project, "status", "--porcelain", "--", ".", ":!runs")


def assert_nothing_of_the_run_staged(project: Path, git, status_before: str) -> None:
    assert git(project, "diff", "--cached", "--name-only") == PERSON_STAGED
    assert git(project, "show", ":README.md") == "# Staged by the person"
    assert git(project, "status", "--porcelain", "--", ".", ":!runs") == status_before
    assert git(project, "diff", "--cached", "--name-only", "--", "runs") == ""


def test_a_refused_pre_commit_hook_leaves_nothing_staged(in_project, project, git):
    status_before = persons_changes(project, git)
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no, not now' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    head = git(project, "rev-parse", "HEAD")
    step = write_file(in_project.run_dir / "01-topic.md", "Private thoughts\n")
    with pytest.raises(WorkflowError, match="no, not now"):
        in_project.commit([step], message(1, "topic"), "step 1")
    assert git(project, "rev-parse", "HEAD") == head
    assert_nothing_of_the_run_staged(project, git, status_before)
    # the person's next ordinary commit holds only what they staged
    git(project, "commit", "--quiet", "--no-verify", "-m", "Mine")
    assert git(project, "show", "--name-only", "--format=", "HEAD") == "README.md"


def test_a_failed_signature_leaves_nothing_staged(in_project, project, git):
    status_before = persons_changes(project, git)
    git(project, "config", "commit.gpgsign", "true")
    git(project, "config", "gpg.program", "false")  # signing fails, as with a locked key
    step = write_file(in_project.run_dir / "01-topic.md", "Private thoughts\n")
    with pytest.raises(WorkflowError) as info:
        in_project.commit([step], message(1, "topic"), "step 1")
    assert "gpg failed to sign" in str(info.value)
    assert_nothing_of_the_run_staged(project, git, status_before)


def test_commits_use_an_index_of_their_own_and_remove_it(in_project, project, git):
    git_dir = project / ".git"
    # what a process killed -9 in the middle of a commit leaves behind
    (git_dir / f"workflow-index-{RUN}").write_bytes(b"garbage")
    (git_dir / f"workflow-index-{RUN}.lock").write_bytes(b"garbage")
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    assert in_project.commit([step], message(1, "topic"), "step 1")
    assert not list(git_dir.glob("workflow-index-*"))
    assert not list((git_dir / "workflow-pending").glob("*"))
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_standalone_run_repository_keeps_its_index_in_step(standalone, git):
    d = standalone.run_dir
    standalone.commit([write_file(d / "01-topic.md", "Cats\n")], message(1, "topic"), "1")
    standalone.commit([write_file(d / "01-topic.md", "Dogs\n")], message(1, "topic"), "1")
    assert git(d, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(d, "ls-files", "--stage") == git(
        d, "ls-tree", "-r", "--format=%(objectmode) %(objectname) 0\t%(path)", "HEAD"
    )


CHILD = """
import sys
from pathlib import Path
from workflow_nvim.run import Run

run = Run.open(Path(sys.argv[1]))
if sys.argv[2] == "revert":
    run.revert(run.workflow.steps[0])
else:
    run.complete(run.workflow.steps[int(sys.argv[2]) - 1])
"""


def kill_when(tmp_path: Path, run_dir: Path, what: str, marker: Path) -> None:
    """Run `what` (a step number, or "revert") on the run in a process of its own; kill -9 its whole
    process group (Python, git and the hook) once ``marker`` appears."""
    env = {**os.environ, "PYTHONPATH": CODE}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir), what], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None, "the committing process ended before the hook ran"
            assert time.monotonic() < deadline, "the hook never ran"
            time.sleep(0.01)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def slow_hook(project: Path, name: str, marker: Path) -> Path:
    hook = project / ".git" / "hooks" / name
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec sleep 60\n", encoding="utf-8")
    hook.chmod(0o755)
    return hook


def test_a_commit_killed_during_a_slow_hook_leaves_nothing_staged_and_is_made_at_the_next_open(
    blog, project, git, tmp_path
):
    run = Run.start(blog, project / "runs", NOW)
    run.enter(blog.steps[0]).write_text("Private thoughts\n", encoding="utf-8")
    run.close()
    status_before = persons_changes(project, git)
    head = git(project, "rev-parse", "HEAD")
    marker = tmp_path / "hook-ran"
    hook = slow_hook(project, "pre-commit", marker)

    kill_when(tmp_path, run.dir, "1", marker)

    assert git(project, "rev-parse", "HEAD") == head
    assert_nothing_of_the_run_staged(project, git, status_before)
    prefix = f"runs/{run.id}"
    assert (
        git(project, "status", "--porcelain", "--untracked-files=all", "--", prefix)
        == f"?? {prefix}/.start/01-topic.md\n?? {prefix}/01-topic.md\n?? {prefix}/workflow.yaml"
    )

    hook.unlink()
    again = Run.open(run.dir)
    assert again.completed == set()
    again.recover()
    commit = git(project, "rev-parse", "HEAD")
    assert again.notices == [f"step 1 'Pick a topic' was not committed when Neovim quit: committed now ({commit[:7]})"]
    assert git(project, "log", "-1", "--format=%s") == "blog: 1/3 Pick a topic"
    assert git(project, "show", "--name-only", "--format=", "HEAD").split() == [
        f"{prefix}/.start/01-topic.md",
        f"{prefix}/01-topic.md",
        f"{prefix}/workflow.yaml",
    ]
    assert again.completed == {"topic"}
    assert again.current.id == "outline"
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--", prefix) == ""
    assert_nothing_of_the_run_staged(project, git, status_before)
    # said once: opening again finds nothing to do
    again.close()
    third = Run.open(run.dir)
    third.recover()
    assert third.notices == []
    assert git(project, "rev-parse", "HEAD") == commit
    third.close()


def test_a_commit_killed_after_it_landed_brings_the_index_up_to_date_at_the_next_open(blog, project, git, tmp_path):
    run = Run.start(blog, project / "runs", NOW)
    run.enter(blog.steps[0]).write_text("Cats\n", encoding="utf-8")
    run.close()
    status_before = persons_changes(project, git)
    marker = tmp_path / "hook-ran"
    hook = slow_hook(project, "post-commit", marker)  # runs after the commit landed

    kill_when(tmp_path, run.dir, "1", marker)
    hook.unlink()

    assert git(project, "log", "-1", "--format=%s") == "blog: 1/3 Pick a topic"
    again = Run.open(run.dir)
    again.recover()
    assert again.notices == []  # nothing to make again
    assert len(git(project, "log", "--format=%h", "--", f"runs/{run.id}").split()) == 1
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--", "runs") == ""
    assert_nothing_of_the_run_staged(project, git, status_before)
    again.close()


def test_a_revert_killed_during_its_commit_is_finished_at_the_next_open(blog, project, git, tmp_path):
    run = Run.start(blog, project / "runs", NOW)
    complete(run, 1, "Cats\n")
    complete(run, 2, "1. Fur\n")
    run.enter(blog.steps[2]).write_text("half a draft\n", encoding="utf-8")
    run.close()
    status_before = persons_changes(project, git)
    marker = tmp_path / "hook-ran"
    hook = project / ".git" / "hooks" / "pre-commit"
    # the commit that keeps the unfinished draft goes through; the revert's own commit is cut short
    hook.write_text(
        "#!/bin/sh\n"
        f"if [ -e '{tmp_path}/saved' ]; then touch '{marker}'; exec sleep 60; fi\n"
        f"touch '{tmp_path}/saved'\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)

    kill_when(tmp_path, run.dir, "revert", marker)
    hook.unlink()

    assert git(project, "log", "-1", "--format=%s") == "blog: kept unfinished 3/3 Draft"
    assert_nothing_of_the_run_staged(project, git, status_before)
    again = Run.open(run.dir)
    again.recover()
    made = git(project, "rev-parse", "--short=7", "HEAD")
    assert again.notices == [f"the revert to step 1 was not committed when Neovim quit: committed now ({made})"]
    assert git(project, "log", "-1", "--format=%s") == "blog: back to 1/3 Pick a topic"
    assert again.completed == {"topic"}
    assert not (run.dir / "02-outline.md").exists() and not (run.dir / "03-draft.txt").exists()
    assert git(project, "show", "HEAD^:" + f"runs/{run.id}/03-draft.txt") == "half a draft"
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--", "runs") == ""
    assert_nothing_of_the_run_staged(project, git, status_before)
    again.close()


def test_an_index_held_by_another_git_command_is_brought_up_to_date_later(in_project, project, git, monkeypatch):
    monkeypatch.setattr(history, "INDEX_LOCK_PATIENCE", 0.2)
    status_before = persons_changes(project, git)
    hook = project / ".git" / "hooks" / "pre-commit"
    # another git command takes the person's index while the step commit runs
    hook.write_text('#!/bin/sh\ntouch "$(git rev-parse --git-dir)/index.lock"\n', encoding="utf-8")
    hook.chmod(0o755)
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    first = in_project.commit([step], message(1, "topic"), "step 1")
    assert first == git(project, "rev-parse", "HEAD")
    assert in_project.last_warning == (
        "step 1 is committed; git's index was locked, so git status lists it until the next step"
    )
    lock = project / ".git" / "index.lock"
    assert lock.exists()  # never taken from its owner
    hook.unlink()
    lock.unlink()
    second = in_project.commit([write_file(in_project.run_dir / "02-outline.md", "x\n")], message(2, "outline"), "2")
    assert second == git(project, "rev-parse", "HEAD")
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--", "runs") == ""
    assert_nothing_of_the_run_staged(project, git, status_before)


def test_what_the_person_stages_while_a_step_commit_runs_stays_staged(in_project, project, git):
    status_before = persons_changes(project, git)
    (project / "later.txt").write_text("staged during the commit\n", encoding="utf-8")
    hook = project / ".git" / "hooks" / "pre-commit"
    # the person runs `git add` in another terminal while the hook runs
    hook.write_text("#!/bin/sh\nenv -u GIT_INDEX_FILE git add later.txt\n", encoding="utf-8")
    hook.chmod(0o755)
    step = write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    assert in_project.commit([step], message(1, "topic"), "step 1") == git(project, "rev-parse", "HEAD")
    assert git(project, "show", "--name-only", "--format=", "HEAD") == f"runs/{RUN}/01-topic.md"
    assert git(project, "diff", "--cached", "--name-only").split() == ["README.md", "later.txt"]
    assert git(project, "show", ":README.md") == "# Staged by the person"
    assert git(project, "status", "--porcelain", "--", "runs") == ""
    assert status_before.splitlines()[0] in git(project, "status", "--porcelain")


KILL_AT_RENAME = """
import os, signal, sys
from pathlib import Path
from workflow_nvim.history import RunRepository, commit_message

real_replace = os.replace
def replace(src, dst):
    if str(dst).endswith("/index") and str(src).endswith("/index.lock"):
        os.kill(os.getpid(), signal.SIGKILL)  # holding git's lock, the new index not yet in place
    return real_replace(src, dst)
os.replace = replace
run_dir = Path(sys.argv[1])
repo = RunRepository.open(run_dir, create=False)
message = commit_message("blog: 1/3 topic", "Body.", "blog", run_dir.name, "Workflow-Step", 1, 3, "topic")
repo.commit([run_dir / "01-topic.md"], message, "step 1")
"""


def test_a_kill_while_the_index_is_locked_is_finished_at_the_next_open(in_project, project, git):
    status_before = persons_changes(project, git)
    write_file(in_project.run_dir / "01-topic.md", "Cats\n")
    env = {**os.environ, "PYTHONPATH": CODE}
    done = subprocess.run([sys.executable, "-c", KILL_AT_RENAME, str(in_project.run_dir)], env=env)
    assert done.returncode == -signal.SIGKILL
    assert (project / ".git" / "index.lock").exists()
    assert git(project, "log", "-1", "--format=%s") == "blog: 1/3 topic"

    # the lock is the plugin's own, left by the kill: finished, not a reason to refuse
    assert in_project.refusal() is None
    assert not (project / ".git" / "index.lock").exists()
    assert in_project.recover() is None
    assert not list((project / ".git").glob("workflow-index-*"))
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--", "runs") == ""
    assert_nothing_of_the_run_staged(project, git, status_before)


# -- a commit-msg hook that strips the trailers ----------------------------------


def test_a_commit_msg_hook_that_strips_the_trailers_does_not_lose_the_progress(blog, project, git):
    hook = project / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\nsed -i '/^Workflow/d' \"$1\"\n", encoding="utf-8")
    hook.chmod(0o755)
    run = Run.start(blog, project / "runs", NOW)
    complete(run, 1, "Cats\n")
    complete(run, 2, "1. Fur\n")
    complete(run, 1, "Dogs\n")
    run.enter(blog.steps[2]).write_text("half\n", encoding="utf-8")
    run.revert(blog.steps[1])
    assert git(project, "log", "-1", "--format=%(trailers)") == ""
    run.close()

    again = Run.open(run.dir)
    assert [(e.kind, e.step_id, e.revised) for e in again.entries] == [
        ("step", "topic", False),
        ("step", "outline", False),
        ("step", "topic", True),
        ("saved", "draft", False),
        ("revert", "outline", False),
    ]
    assert again.completed == {"topic", "outline"}
    assert again.current.id == "draft"
    assert again.notices == ["5 commits had no Workflow-* trailers (a commit-msg hook?): read from subjects"]
    again.close()


def test_commits_that_cannot_be_read_as_steps_are_said_so(blog, tmp_path, git):
    run = Run.start(blog, tmp_path / "runs", NOW)
    complete(run, 1, "Cats\n")
    hook = run.dir / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho 'JIRA-1 rewritten' > \"$1\"\n", encoding="utf-8")
    hook.chmod(0o755)
    complete(run, 2, "1. Fur\n")
    run.close()
    again = Run.open(run.dir)
    assert again.completed == {"topic"}
    assert again.notices == ["1 commit in the run's history could not be read as steps: not counted"]
    again.close()


# -- revisions and paths from outside ----------------------------------------------


def test_show_and_diff_take_only_commit_hashes_and_files_of_the_run(in_project, project, git, tmp_path):
    path = in_project.run_dir / "01-topic.md"
    commit = in_project.commit([write_file(path, "Cats\n")], message(1, "topic"), "1")
    assert commit
    evil = tmp_path / "written-by-git"
    for revision in (f"--output={evil}", "-p", "HEAD~0"):
        with pytest.raises(WorkflowError) as info:
            in_project.diff(revision, None)
        assert str(info.value) == f"'{revision[:40]}' is not a commit hash: pick one in :WorkflowLog"
        with pytest.raises(WorkflowError, match="is not a commit hash"):
            in_project.show(revision, path)
    assert not evil.exists()
    assert not list(tmp_path.glob("written-by-git*"))
    for outside in (Path("../../README.md"), project / "README.md", Path(".git/config"), in_project.run_dir):
        with pytest.raises(WorkflowError) as info:
            in_project.show(commit, outside)
        assert str(info.value) == f"{outside} is not a file of run {RUN}"
    assert in_project.show(commit[:7], Path("01-topic.md")) == "Cats\n"


def test_a_change_git_could_miss_by_its_file_status_is_committed(standalone, git):
    """An edit that keeps a file's size and time: git finds it only because the index file is as new as it."""
    d = standalone.run_dir
    git(d, "config", "core.trustctime", "false")
    path = write_file(d / "01-topic.md", "Cats\n")
    old = 1_000_000_000 * 10**9  # 2001: the time the entry in the index caches
    os.utime(path, ns=(old, old))
    assert standalone.commit([path], message(1, "topic"), "step 1")
    os.utime(d / ".git" / "index", ns=(old, old))  # the index written in that same instant
    write_file(path, "Dogs\n")
    os.utime(path, ns=(old, old))
    second = standalone.commit([path], message(1, "topic"), "step 1")
    assert second == git(d, "rev-parse", "HEAD")
    assert git(d, "show", "HEAD:01-topic.md") == "Dogs"


def test_subjects_of_older_runs_still_read_and_a_completion_after_a_revert_is_not_revised():
    # A commit-msg hook stripped the trailers; "keep unfinished" is how runs made before said "kept unfinished".
    subjects = [
        "blog: 1/3 Pick a topic",
        "blog: 2/3 Outline",
        "blog: keep unfinished 3/3",
        "blog: back to 1/3 Pick a topic",
        "blog: 2/3 Outline (revised)",  # what older runs wrote here: it was its first completion since the revert
        "blog: 1/3 Pick a topic (revised)",
        "blog: kept unfinished 3/3 Draft",
    ]
    output = "".join(record(f"{i:x}" * 40, s, "") for i, s in reversed(list(enumerate(subjects))))
    history = read_log(output, RUN, "blog", ["topic", "outline", "draft"])
    assert history.unread == 0
    assert [(e.kind, e.step_id, e.revised) for e in history.entries] == [
        ("step", "topic", False),
        ("step", "outline", False),
        ("saved", "draft", False),
        ("revert", "topic", False),
        ("step", "outline", False),
        ("step", "topic", True),
        ("saved", "draft", False),
    ]
    assert [e.line(e.step_id) for e in history.entries][-1].endswith("kept unfinished 3/3 draft")
