""":WorkflowNew's skeleton and the command behind it (the editors' side: tests/e2e/test_workflow_new.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import newworkflow
from workflow_nvim.errors import WorkflowError
from workflow_nvim.session import Session
from workflow_nvim.spec import load_workflow


def test_the_skeleton_itself_validates_and_teaches_the_keys(tmp_path: Path) -> None:
    text = newworkflow.SKELETON.read_text(encoding="utf-8")
    workflow = load_workflow(newworkflow.SKELETON)
    assert workflow.name == "skeleton" and len(workflow.steps) == 2
    for key in ("name:", "title:", "description:", "steps:", "id:", "instructions:", "template:", "${notes}"):
        assert key in text
    assert len(text.splitlines()) <= 30  # short


@pytest.mark.parametrize("name", ["code-review", "a", "x_2"])
def test_the_skeleton_for_a_name_validates_under_that_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(newworkflow.skeleton(name), encoding="utf-8")
    workflow = load_workflow(path)
    assert workflow.name == name
    assert f":WorkflowStart {name}." in path.read_text(encoding="utf-8")
    assert newworkflow.title_of("code-review") == "Code review"


def params(cwd: Path, **extra: Any) -> dict[str, Any]:
    return {"cwd": str(cwd), "args": ["essay"], "options": {"runs_dir": str(cwd / "runs")}, **extra}


def test_new_writes_into_the_projects_workflows_and_says_how_to_start_it(tmp_path: Path) -> None:
    (tmp_path / ".workflows").mkdir()
    session = Session()
    r = session.handle("new", params(tmp_path))
    path = tmp_path / ".workflows" / "essay.yaml"
    assert r["edit"] == str(path)
    assert r["info"] == ["created essay.yaml: fill it in, then :WorkflowStart essay"]
    assert load_workflow(path).name == "essay"
    r = session.handle("start", params(tmp_path))
    assert r["open"]["progress"] == "Step 1/2: Gather notes"


def test_new_without_a_project_asks_where_then_writes_there(tmp_path: Path) -> None:
    session = Session()
    r = session.handle("new", params(tmp_path))
    assert r["choose"]["prompt"] == "No .workflows/ here: where should essay.yaml go?"
    assert [c["key"] for c in r["choose"]["choices"]] == ["user", "project"]
    assert "edit" not in r and not (tmp_path / ".workflows").exists()
    r = session.handle("new", params(tmp_path, where="user"))
    own = Path(r["edit"])
    assert own.parent == newworkflow.places.plugin().workflows and own.name == "essay.yaml"
    r = session.handle("new", params(tmp_path, where="project", args=["other"]))
    assert r["edit"] == str(tmp_path / ".workflows" / "other.yaml")


def test_new_never_writes_over_a_file_and_checks_the_name(tmp_path: Path) -> None:
    (tmp_path / ".workflows").mkdir()
    mine = tmp_path / ".workflows" / "essay.yml"
    mine.write_text("mine", encoding="utf-8")
    session = Session()
    with pytest.raises(WorkflowError, match=r"^\.workflows/essay\.yml exists: edit it, or choose another name$"):
        session.handle("new", params(tmp_path))
    assert mine.read_text(encoding="utf-8") == "mine"
    with pytest.raises(WorkflowError, match=r"^'Essay' is not a workflow name: use lowercase letters"):
        session.handle("new", params(tmp_path, args=["Essay"]))
    with pytest.raises(WorkflowError, match=r"^:WorkflowNew takes one workflow name$"):
        session.handle("new", params(tmp_path, args=[]))
