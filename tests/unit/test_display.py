"""display.py: one rule for how a path is written in what the person reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_nvim.display import shown, tilde


def test_home_is_written_tilde(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert tilde(tmp_path / "me" / "notes" / "a.md") == "~/notes/a.md"
    assert tilde(tmp_path / "me") == "~"
    assert tilde(tmp_path / "meow" / "a.md") == str(tmp_path / "meow" / "a.md")  # not a child of home


def test_inside_the_working_directory_it_is_relative(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    project = tmp_path / "src" / "project"
    assert shown(project / ".workflows" / "essay.yaml", project) == ".workflows/essay.yaml"
    assert shown(tmp_path / "elsewhere" / "x.yaml", project) == "~/elsewhere/x.yaml"
    assert shown(project / "a.md", None) == "~/src/project/a.md"
    assert shown(project / "a.md", "/") == "~/src/project/a.md"  # "/" makes nothing shorter
