"""Shared helpers for the unit tests of the Python core: real files in tmp_path, nothing mocked."""

from __future__ import annotations

import textwrap
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
