"""The options in effect: what the person set, else the one default, read with care."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_nvim import places
from workflow_nvim.options import DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_MODEL, Options


def test_nothing_set_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    got = Options.of({"options": []})  # Lua sends an empty table as a list
    assert got == Options(runs_dir=tmp_path / "workflow.nvim" / "runs")
    assert (got.model, got.ollama_host, got.allow_remote) == (DEFAULT_MODEL, None, False)
    assert (got.paths, got.annotate_timeout) == ((), DEFAULT_FIRST_TOKEN_TIMEOUT)


def test_what_the_person_set_wins(tmp_path: Path) -> None:
    set_ = {
        "runs_dir": "runs",
        "paths": ["a", "b"],
        "model": "tiny",
        "ollama_host": "http://box:1",
        "allow_remote": True,
        "annotate_timeout": 5,
        "default_mappings": False,  # the front's own
    }
    got = Options.of({"options": set_, "cwd": str(tmp_path)})
    assert got == Options(tmp_path / "runs", ("a", "b"), "tiny", "http://box:1", True, 5.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"model": 3, "allow_remote": "yes", "annotate_timeout": -1, "paths": "dir", "ollama_host": 1},
        {"model": "", "allow_remote": 1, "annotate_timeout": True, "paths": {"a": 1}},
    ],
)
def test_a_value_of_the_wrong_kind_counts_as_unset(bad: dict[str, object]) -> None:
    assert Options.of({"options": bad}) == Options(runs_dir=places.plugin().runs)
