"""What the session sends is what protocol.py declares: no field goes over the wire undeclared.

The Lua side's types (lua/workflow/protocol.lua) mirror these declarations, so a field the session
sends but protocol.py lacks would be missing from both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import protocol
from workflow_nvim.annotate import Note, Progress
from workflow_nvim.session import Session, _progress_dict


@pytest.fixture
def env(write: Any, tmp_path: Path, blog_yaml: str) -> dict[str, Any]:
    write("blog.yaml", blog_yaml, tmp_path / "project")
    return {"dirs": [["project", str(tmp_path / "project")]], "options": {"runs_dir": str(tmp_path / "runs")}}


def call(session: Session, env: dict[str, Any], command: str, *args: str) -> dict[str, Any]:
    """A command as the editor sends it, from the buffer of the step last opened."""
    here = {"buffer_step": {"run": session.run.id, "id": session.run.current.id}} if session.run else {}
    return session.handle(command, {**env, "args": list(args), **here})


def write_step(response: dict[str, Any], text: str) -> None:
    Path(response["open"]["path"]).write_text(text, encoding="utf-8")


def undeclared(message: dict[str, Any], typed: type) -> list[str]:
    return sorted(set(message) - set(typed.__annotations__))


def test_every_response_and_push_of_a_whole_run_is_declared(env: dict[str, Any]) -> None:
    pushed: list[dict[str, Any]] = []
    session = Session(notify=pushed.append)
    responses = [call(session, env, "start", "blog")]
    write_step(responses[-1], "Cats\n")
    responses.append(call(session, env, "next"))
    write_step(responses[-1], "1. Fur\n")
    responses.append(call(session, env, "next"))
    responses.append(call(session, env, "wait"))
    responses.append(call(session, env, "revert", "topic"))
    responses.append(call(session, env, "wait"))
    responses.append(log := call(session, env, "log"))
    responses.append(call(session, env, "show", log["log"]["entries"][0]["hash"], "", "diff"))
    responses.append(call(session, env, "goto", "outline"))
    responses += [call(session, env, name) for name in ("prev", "status", "list", "stop")]
    responses.append(call(session, env, "runs"))
    responses.append(call(session, env, "unfinished"))
    listed = responses[-2]["runs"]
    assert [undeclared(i, protocol.RunItem) for i in listed["items"] if undeclared(i, protocol.RunItem)] == []
    assert undeclared(listed, protocol.RunsList) == []

    assert {"open", "committing", "removed", "text", "log", "stopped", "runs", "unfinished", "idle"} <= set().union(
        *responses
    )
    assert [undeclared(r, protocol.Response) for r in responses if undeclared(r, protocol.Response)] == []
    opened = [r["open"] for r in responses if "open" in r]
    assert [undeclared(o, protocol.StepOpen) for o in opened if undeclared(o, protocol.StepOpen)] == []
    assert pushed and all("committed" in p for p in pushed)
    assert [undeclared(p, protocol.Push) for p in pushed if undeclared(p, protocol.Push)] == []


def test_annotation_progress_is_declared() -> None:
    every_field = Progress(
        notes=[Note(line=1, severity="info", note="n")],
        tokens=3,
        done=True,
        summary="s",
        error="e",
        warning="w",
        incomplete=True,
        covered=(1, 2),
        cancelled=True,
        dropped=1,
    )
    progress = {"buf": 1, "request": 1, **_progress_dict(every_field)}
    assert undeclared(progress, protocol.AnnotationProgress) == []


def test_the_models_answer_is_declared() -> None:
    """What :WorkflowModels answers, from a real (loopback) Ollama server: its fields are in Response."""
    from tests.ollama_server import FakeOllama

    with FakeOllama(models=("tiny:latest",)) as server:
        response = Session().handle("models", {"options": {"ollama_host": server.url}})
    assert response["models"] == ["tiny:latest"]
    assert undeclared(response, protocol.Response) == []


def test_the_responses_and_pushes_of_a_command_step_are_declared(write: Any, tmp_path: Path) -> None:
    import time

    build = "title: B\nsteps:\n  - id: a\n    title: A\n    instructions: x\n    run: echo hi\n"
    write("build.yaml", build, tmp_path / "p")
    env = {"dirs": [["project", str(tmp_path / "p")]], "options": {"runs_dir": str(tmp_path / "runs")}}
    pushed: list[dict[str, Any]] = []
    session = Session(notify=pushed.append)
    responses = [call(session, env, "start", "build")]
    here = {"buffer_step": {"run": session.run.id, "id": "a"}, "buf": 3}  # type: ignore[union-attr]
    asked = session.handle("run", {**env, **here})
    question = asked["trust"]
    responses += [asked, session.handle("trust", {**env, "answer": "allow", "sha256": question["sha256"], "path": "b"})]
    responses.append(session.handle("run", {**env, **here}))
    deadline = time.monotonic() + 30
    while not (pushed and pushed[-1]["output"].get("done")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert [undeclared(r, protocol.Response) for r in responses if undeclared(r, protocol.Response)] == []
    assert undeclared(question, protocol.TrustQuestion) == []
    assert [undeclared(p, protocol.Push) for p in pushed if undeclared(p, protocol.Push)] == []
    outputs = [p["output"] for p in pushed]
    assert [undeclared(o, protocol.CommandOutput) for o in outputs if undeclared(o, protocol.CommandOutput)] == []
    assert outputs[-1]["exit"] == 0 and outputs[-1]["reload"] is True
    assert responses[-1]["running"]["lines"] == ["$ echo hi"]
