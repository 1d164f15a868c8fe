"""Shared helpers for the unit tests of the Python core: real files in tmp_path, nothing mocked."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from workflow_nvim.spec import Problem, WorkflowInvalid, load_workflow

# A valid three-step workflow; step 2 uses the text of step 1.
BLOG = """\
name: blog
title: Write a blog post
description: |
  From an idea to a draft.
steps:
  - id: topic
    title: Pick a topic
    instructions: |
      Write the topic in one line.
    template: |
      # Topic
  - id: outline
    title: Outline
    instructions: |
      Outline the post about ${topic}.
    template: |
      Outline for: ${topic}
  - id: draft
    title: Draft
    instructions: Write the post.
    filetype: text
"""

Writer = Callable[..., Path]
Git = Callable[..., str]

# Variables with which the environment could point git elsewhere or give it an identity.
_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git sees an empty global config and no system config: this machine's git setup never matters."""
    config = tmp_path_factory.mktemp("gitconfig") / "global"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in _GIT_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def isolated_places(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plugin's places (places.py) and Neovim's older ones are under a fresh directory: no test
    reads or writes the runs, workflows, caches or log of the person running the tests. Returns it."""
    root = tmp_path_factory.mktemp("xdg")
    for kind in ("data", "config", "cache", "state"):
        monkeypatch.setenv(f"XDG_{kind.upper()}_HOME", str(root / kind))
    monkeypatch.delenv("NVIM_APPNAME", raising=False)
    return root


def run_git(cwd: Path, *args: str) -> str:
    """The stdout of ``git -C cwd args`` (stripped); fail the test if git fails."""
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture
def git() -> Git:
    """git(cwd, *args) -> stdout of a git command that must succeed."""
    return run_git


@pytest.fixture
def project(tmp_path: Path, git: Git) -> Path:
    """A project repository with an identity and one commit (README.md)."""
    top = tmp_path / "project-repo"
    top.mkdir()
    git(top, "init", "--quiet", "--initial-branch=main")
    git(top, "config", "user.name", "Pat Person")
    git(top, "config", "user.email", "pat@example.org")
    (top / "README.md").write_text("# Project\n", encoding="utf-8")
    git(top, "add", "README.md")
    git(top, "commit", "--quiet", "-m", "Initial commit")
    return top


def _write(directory: Path, filename: str, text: str | bytes) -> Path:
    path = directory / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(textwrap.dedent(text).encode("utf-8"))
    return path


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """write(filename, text, directory=tmp_path) -> Path; str text is dedented and saved as UTF-8."""

    def write(filename: str, text: str | bytes, directory: Path | None = None) -> Path:
        return _write(directory or tmp_path, filename, text)

    return write


@pytest.fixture
def problems(write: Writer) -> Callable[..., list[tuple[int, int, str]]]:
    """problems(text, filename='wf.yaml') -> [(line, col, message)] of a file that must not load."""

    def problems(text: str | bytes, filename: str = "wf.yaml") -> list[tuple[int, int, str]]:
        path = write(filename, text)
        with pytest.raises(WorkflowInvalid) as info:
            load_workflow(path)
        found: list[Problem] = info.value.problems
        assert found, "WorkflowInvalid without problems"
        for p in found:
            assert p.path == str(path)
            assert "\n" not in p.message, f"problem message is not one line: {p.message!r}"
        return [(p.line, p.col, p.message) for p in found]

    return problems


@pytest.fixture
def blog_yaml() -> str:
    """The text of a valid three-step workflow called 'blog'."""
    return BLOG


@pytest.fixture
def fake_nvim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose name (/proc/PID/comm) is 'nvim': a copy of sleep, killed afterwards."""
    program = tmp_path_factory.mktemp("bin") / "nvim"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    proc = subprocess.Popen([str(program), "30"])
    try:
        # the kernel renames the process a moment after Popen returns
        comm = Path(f"/proc/{proc.pid}/comm")
        deadline = time.monotonic() + 5
        while comm.read_text(encoding="utf-8").strip() != "nvim":
            assert time.monotonic() < deadline, f"process {proc.pid} is not called nvim"
            time.sleep(0.001)
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def _fresh_model_facts() -> Iterator[None]:
    """Each test asks the server about its models afresh: a loopback port (and so a host URL) is
    reused by later tests' servers, which may serve a model of the same name with another context."""
    from workflow_nvim import annotate

    annotate._MODELS.clear()
    yield
    annotate._MODELS.clear()
