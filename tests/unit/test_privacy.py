"""Text goes only where the person said it may: the session and the annotation against a real loopback server.

To the plugin, a host is another machine unless it is literally loopback; the test server is
reached as another machine through ``FakeOllama.url_by_name()``, a name the resolver takes to
127.0.0.1. Each refusal is proved by what the server got: no chat, and for most, no request at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim.annotate import Annotation, Progress, Request
from workflow_nvim.errors import WorkflowError
from workflow_nvim.options import NAMES as OPTION_NAMES
from workflow_nvim.session import Session

from tests.ollama_server import FakeOllama, Script, answer

WAIT = 30.0  # seconds: an upper bound for a busy machine, never a measure of speed
TEXT = ["Trains is fast."]
NOTE = {"line": 1, "severity": "error", "note": "'Trains are'."}
ALLOW = "(set g:workflow.allow_remote)"


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(
        models=("tiny:latest", "other:7b", "gpt-oss:120b-cloud", "reviewer:latest"),
        remote={"gpt-oss:120b-cloud": "gpt-oss:120b", "reviewer:latest": "gpt-oss:120b"},
    ) as server:
        server.script = Script(chunks=[answer([NOTE])])
        yield server


@pytest.fixture
def messages() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def session(messages) -> Iterator[Session]:
    session = Session(notify=messages.append)
    yield session
    for annotation in list(session.annotations.values()):
        annotation.cancel()
        annotation.wait(WAIT)


@pytest.fixture(autouse=True)
def forget_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's server is new, though its port may be an earlier one's: forget what was said of models."""
    from workflow_nvim import annotate

    monkeypatch.setattr(annotate, "_MODELS", {})


@pytest.fixture(autouse=True)
def no_ollama_host_or_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def ask(session: Session, **params: Any) -> dict[str, Any]:
    """:WorkflowAnnotate as the editor asks; the options among ``params`` (ollama_host, ...) go in ``options``."""
    options = {"model": "tiny:latest"} | {k: params.pop(k) for k in list(params) if k in OPTION_NAMES}
    return session.handle("annotate", {"buf": 3, "request": 1, "lines": TEXT, **params, "options": options})


def done(messages: list[dict[str, Any]], request: int = 1) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        found = [m["annotation"] for m in messages if m["annotation"]["request"] == request and m["annotation"]["done"]]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"annotation {request} did not end"
        time.sleep(0.01)


def notes(messages: list[dict[str, Any]], request: int = 1) -> list[dict[str, Any]]:
    """Every note of ``request``, once it is done."""
    done(messages, request)
    return [n for m in messages if m["annotation"]["request"] == request for n in m["annotation"]["notes"]]


def refused(session: Session, **params: Any) -> str:
    with pytest.raises(WorkflowError) as info:
        ask(session, **params)
    return str(info.value)


# -- the host --------------------------------------------------------------------


def test_another_machine_in_the_option_is_refused_before_anything_is_sent(session, ollama):
    remote = ollama.url_by_name()
    assert refused(session, ollama_host=remote) == f"not sent: 2130706433 is remote {ALLOW}"
    assert ollama.requests == []


def test_allow_remote_lets_text_go_to_another_machine_and_says_so(session, ollama, messages):
    r = ask(session, ollama_host=ollama.url_by_name(), allow_remote=True)
    assert r["info"] == ["sending to 2130706433 (remote; allowed by g:workflow.allow_remote)"]
    assert notes(messages) == [NOTE]
    assert len(ollama.chats()) == 1


def test_ollama_host_in_the_environment_is_consent_to_that_host(session, ollama, messages, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama.url_by_name())
    r = ask(session)
    assert r["info"] == ["sending to 2130706433 (remote; allowed by $OLLAMA_HOST)"]
    assert notes(messages) == [NOTE]
    # ... and to no other host
    with FakeOllama() as other:
        assert refused(session, ollama_host=other.url_by_name(), request=2) == f"not sent: 2130706433 is remote {ALLOW}"
        assert other.requests == []


def test_a_unix_socket_is_no_ollama_host(session, ollama):
    assert refused(session, ollama_host="unix:///run/ollama.sock", allow_remote=True) == (
        "g:workflow.ollama_host must be an http:// or https:// URL (Ollama listens on TCP), not unix:///run/ollama.sock"
    )


def test_a_proxy_in_the_environment_never_gets_text_meant_for_this_machine(session, ollama, messages, monkeypatch):
    with FakeOllama() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        ask(session, ollama_host=ollama.url)
        assert notes(messages) == [NOTE]
        assert proxy.requests == []
    assert len(ollama.chats()) == 1


# -- the model -------------------------------------------------------------------


def test_a_cloud_model_by_its_name_is_refused_before_anything_is_sent(session, ollama):
    assert refused(session, ollama_host=ollama.url, model="gpt-oss:120b-cloud") == (
        f"not sent: gpt-oss:120b-cloud runs on ollama.com {ALLOW}"
    )
    assert ollama.requests == []


def test_a_model_the_server_says_runs_elsewhere_is_refused_before_the_chat(session, ollama, messages):
    ask(session, ollama_host=ollama.url, model="reviewer:latest")
    assert done(messages)["error"] == f"not sent: reviewer:latest runs on ollama.com {ALLOW}"
    assert [kind for kind, _ in ollama.requests] == ["show"]
    # asked once: the second time, the answer is remembered
    ask(session, ollama_host=ollama.url, model="reviewer:latest", request=2)
    assert done(messages, 2)["error"] == f"not sent: reviewer:latest runs on ollama.com {ALLOW}"
    assert [kind for kind, _ in ollama.requests] == ["show"]


def test_allow_remote_lets_a_cloud_model_have_the_text(session, ollama, messages):
    r = ask(session, ollama_host=ollama.url, model="gpt-oss:120b-cloud", allow_remote=True)
    assert r["info"] == ["gpt-oss:120b-cloud runs on ollama.com (allowed by g:workflow.allow_remote)"]
    assert notes(messages) == [NOTE]
    ask(session, ollama_host=ollama.url, model="reviewer:latest", allow_remote=True, request=2)
    assert notes(messages, 2) == [NOTE]
    assert [c["model"] for c in ollama.chats()] == ["gpt-oss:120b-cloud", "reviewer:latest"]


def test_the_annotation_itself_checks_the_model_before_its_chat(ollama):
    reports: list[Progress] = []
    annotation = Annotation(Request(lines=TEXT), "reviewer:latest", ollama.url, reports.append)
    annotation.start()
    annotation.wait(WAIT)
    assert [(p.done, p.error) for p in reports] == [(True, f"not sent: reviewer:latest runs on ollama.com {ALLOW}")]
    assert ollama.chats() == []


def test_models_says_which_run_elsewhere(session, ollama):
    r = session.handle("models", {"options": {"ollama_host": ollama.url}})
    assert r["models"] == ["tiny:latest", "other:7b", "gpt-oss:120b-cloud", "reviewer:latest"]
    assert r["remote"] == {"gpt-oss:120b-cloud": "ollama.com", "reviewer:latest": "ollama.com"}


# -- what a workflow file may do -------------------------------------------------

CLOUDY = """\
title: Cloudy
model: {model}
steps:
  - id: a
    title: A
    instructions: x
"""


def start(session: Session, write, tmp_path: Path, model: str) -> dict[str, Any]:
    project = tmp_path / "project"
    write("cloudy.yaml", CLOUDY.format(model=model), project)
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}}
    run = session.handle("start", {**env, "args": ["cloudy"]})["open"]["run"]
    return {"run": run, "id": "a"}


def test_a_workflows_model_is_named_before_the_text_is_sent(session, ollama, messages, write, tmp_path):
    here = start(session, write, tmp_path, "other:7b")
    r = ask(session, ollama_host=ollama.url, buffer_step=here)
    assert r["info"] == ["this workflow asks for model other:7b (yours: tiny:latest)"]
    done(messages)
    assert [c["model"] for c in ollama.chats()] == ["other:7b"]


@pytest.mark.parametrize("model", ["gpt-oss:120b-cloud", "reviewer:latest"])
def test_a_workflows_model_never_grants_consent(session, ollama, messages, write, tmp_path, model):
    here = start(session, write, tmp_path, model)
    try:
        ask(session, ollama_host=ollama.url, buffer_step=here)
    except WorkflowError as e:
        error = str(e)
    else:
        error = done(messages)["error"]
    assert error == f"not sent: {model} runs on ollama.com {ALLOW}"
    assert ollama.chats() == []


# -- a project's workflow in place of the person's own -----------------------------


def test_a_project_workflow_that_shadows_the_persons_own_says_so_at_start(session, write, tmp_path):
    project, user, bundled = tmp_path / "project", tmp_path / "user", tmp_path / "bundled"
    for where in (project, user, bundled):
        write("cloudy.yaml", CLOUDY.format(model="tiny"), where)
    write("mine.yaml", CLOUDY.format(model="tiny"), user)
    write("theirs.yaml", CLOUDY.format(model="tiny"), bundled)
    write("theirs.yaml", CLOUDY.format(model="tiny"), project)
    dirs = [["project", str(project)], ["user", str(user)], ["bundled", str(bundled)]]
    env = {"dirs": dirs, "options": {"runs_dir": str(tmp_path / "runs")}}
    r = session.handle("start", {**env, "args": ["cloudy"]})
    assert r["info"][1] == [
        f"this project's project/cloudy.yaml replaces your {user / 'cloudy.yaml'}",
        "warning",
    ]
    assert len(session.handle("start", {**env, "args": ["mine"]})["info"]) == 1  # the person's own
    assert len(session.handle("start", {**env, "args": ["theirs"]})["info"]) == 1  # a bundled one


@pytest.mark.parametrize(
    "model",
    [
        '"tiny:latest (yours: tiny:latest)"',  # would make the line that names it say something else
        '"tiny\\n[workflow] all on this machine"',
        "tiny latest",
    ],
)
@pytest.mark.parametrize("where", ["workflow", "step"])
def test_a_workflows_model_is_only_ever_a_model_name(problems, model, where):
    text = CLOUDY.format(model="tiny") if where == "step" else CLOUDY.format(model=model)
    if where == "step":
        text += f"    model: {model}\n"
    [(line, _, message)] = problems(text)
    assert line == (7 if where == "step" else 2)
    assert message.startswith("'model' must be an Ollama model name, such as qwen2.5:7b, not '")
    assert "\n" not in message


@pytest.mark.parametrize(
    "model", ["llama3.2", "qwen2.5:7b", "gpt-oss:120b-cloud", "hf.co/org/repo:Q4_K_M", "x@sha256:0a"]
)
def test_model_names_as_ollama_writes_them(write, tmp_path, model):
    from workflow_nvim.spec import load_workflow

    assert load_workflow(write("cloudy.yaml", CLOUDY.format(model=model))).model == model
