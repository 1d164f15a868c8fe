"""Where :WorkflowAnnotate sends text, on a real Neovim against a real loopback server speaking Ollama's API.

To the plugin, a host is another machine unless it is literally loopback: the test server is
reached as another machine through ``FakeOllama.url_by_name()`` (a name the resolver takes to
127.0.0.1). Each refusal is proved by what the server got.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from workflow_nvim.display import tilde

from ..ollama_server import FakeOllama, Script, answer
from .conftest import Editor, Home, wait_for
from .test_steps import ESSAY

TEXT = ["Trains is fast."]
NOTE = {"line": 1, "severity": "error", "note": "'Trains are'."}
ALLOW = "(set g:workflow.allow_remote)"


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(
        models=("tiny:latest", "other:7b", "gpt-oss:120b-cloud", "reviewer:latest"),
        remote={"gpt-oss:120b-cloud": "gpt-oss:120b", "reviewer:latest": "gpt-oss:120b"},
    ) as server:
        server.script = Script(chunks=[answer([NOTE], "One slip.")])
        yield server


def configure(nvim: Editor, **options: Any) -> None:
    nvim.exec_lua("vim.g.workflow = vim.tbl_extend('force', {model = 'tiny:latest'}, ...)", options)


def annotate(nvim: Editor, refused: bool = False) -> str:
    """:WorkflowAnnotate on a new buffer; the one-line error when it must be ``refused``."""
    nvim.cmd("enew")
    nvim.current.buffer[:] = TEXT
    nvim.clear_messages()
    if refused:
        return nvim.error("WorkflowAnnotate")
    nvim.cmd("WorkflowAnnotate")
    return ""


def annotated(nvim: Editor) -> Any:
    return wait_for(lambda: nvim.eval("get(b:, 'workflow_annotation', {})"))


def test_another_machine_is_refused_with_one_line_and_gets_nothing(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url_by_name())
    assert annotate(nvim, refused=True) == f"[workflow] not sent: 2130706433 is remote {ALLOW}"
    assert not nvim.exec_lua("return require('workflow.annotate').running(0)")
    assert ollama.requests == []


def test_allow_remote_sends_it_and_says_where(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url_by_name(), allow_remote=True)
    annotate(nvim)
    assert annotated(nvim)["notes"] == 1
    assert "[workflow] sending to 2130706433 (remote; allowed by g:workflow.allow_remote)" in nvim.messages()
    assert len(ollama.chats()) == 1


def test_ollama_host_in_the_environment_is_consent_to_that_host(
    start_nvim: Any, home: Home, ollama: FakeOllama
) -> None:
    home.env["OLLAMA_HOST"] = ollama.url_by_name()
    nvim = start_nvim()
    configure(nvim)
    annotate(nvim)
    assert annotated(nvim)["notes"] == 1
    assert "[workflow] sending to 2130706433 (remote; allowed by $OLLAMA_HOST)" in nvim.messages()


def test_a_cloud_model_is_refused_before_anything_is_sent(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url, model="gpt-oss:120b-cloud")
    error = annotate(nvim, refused=True)
    assert error == f"[workflow] not sent: gpt-oss:120b-cloud runs on ollama.com {ALLOW}"
    assert ollama.requests == []


def test_a_model_the_server_says_runs_elsewhere_gets_no_text(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url, model="reviewer:latest")
    annotate(nvim)
    message = f"not sent: reviewer:latest runs on ollama.com {ALLOW}"
    # Said as it arrives, while the person may be typing: cut to the message line (no prompt to
    # swallow their keys), whole in b:workflow_annotation.
    assert wait_for(lambda: "[workflow] not sent: reviewer:latest runs on ollama.com" in nvim.messages())
    assert wait_for(lambda: annotated(nvim).get("error") == message)
    assert wait_for(lambda: not nvim.exec_lua("return require('workflow.annotate').running(0)"))
    assert [kind for kind, _ in ollama.requests] == ["show"]


def test_allow_remote_lets_a_cloud_model_have_the_text(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url, model="reviewer:latest", allow_remote=True)
    annotate(nvim)
    assert annotated(nvim)["notes"] == 1
    assert [c["model"] for c in ollama.chats()] == ["reviewer:latest"]


def essay_asking_for(name: str, model: str) -> str:
    text = ESSAY.replace("name: essay\n", f"name: {name}\nmodel: {model}\n")
    assert text != ESSAY
    return text


def test_a_workflows_model_is_named_and_never_grants_consent(nvim: Editor, home: Home, ollama: FakeOllama) -> None:
    home.write_workflow("essay", essay_asking_for("essay", "other:7b"))
    home.write_workflow("cloudy", essay_asking_for("cloudy", "gpt-oss:120b-cloud"))
    configure(nvim, ollama_host=ollama.url)
    nvim.cmd("WorkflowStart essay")
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    assert annotated(nvim)["model"] == "other:7b"
    assert "[workflow] this workflow asks for model other:7b (yours: tiny:latest)" in nvim.messages()
    nvim.cmd("WorkflowStart cloudy")
    error = nvim.error("WorkflowAnnotate")
    assert error == f"[workflow] not sent: gpt-oss:120b-cloud runs on ollama.com {ALLOW}"
    assert [c["model"] for c in ollama.chats()] == ["other:7b"]


def test_a_project_workflow_in_place_of_the_persons_own_says_so(nvim: Editor, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    mine = home.write_workflow("essay", ESSAY, where="user")
    nvim.cmd("set columns=200")  # the test's paths are long; a person's are ~/.config/workflow.nvim/workflows/...
    nvim.clear_messages()
    nvim.cmd("WorkflowStart essay")
    assert f"\nthis project's .workflows/essay.yaml replaces your {tilde(mine)}" in nvim.messages()


def test_models_marks_those_that_run_elsewhere(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama_host=ollama.url)
    nvim.exec_lua(
        "vim.ui.select = function(items, opts, cb) _G.shown = vim.tbl_map(opts.format_item, items); cb(items[3]) end"
    )
    nvim.clear_messages()
    nvim.cmd("WorkflowModels")
    assert nvim.exec_lua("return _G.shown") == [
        "tiny:latest",
        "other:7b",
        "gpt-oss:120b-cloud (runs on ollama.com)",
        "reviewer:latest (runs on ollama.com)",
    ]
    assert "gpt-oss:120b-cloud, which runs on ollama.com: set g:workflow.allow_remote" in nvim.messages()


def test_allow_remote_must_be_a_boolean(nvim: Editor) -> None:
    nvim.exec_lua("vim.g.workflow = {allow_remote = 'yes'}")
    assert annotate(nvim, refused=True) == '[workflow] vim.g.workflow.allow_remote must be true or false, got "yes"'


def checkhealth(nvim: Editor) -> str:
    nvim.cmd("checkhealth workflow")
    return "\n".join(nvim.lines())


def test_checkhealth_names_where_text_goes(start_nvim: Any, home: Home, ollama: FakeOllama) -> None:
    nvim = start_nvim()
    configure(nvim, ollama_host=ollama.url)
    report = checkhealth(nvim)
    assert f"OK text goes to {ollama.url}: this machine (from g:workflow.ollama_host)" in report
    assert "OK g:workflow.allow_remote is false: no cloud model, no other machine unless $OLLAMA_HOST" in report
    nvim.cmd("bwipeout")

    remote = ollama.url_by_name()
    configure(nvim, ollama_host=remote)
    report = checkhealth(nvim)
    assert f"ERROR text would go to {remote}: another machine, not allowed (host from g:workflow.ollama_host)" in (
        report
    )
    assert "set g:workflow.allow_remote to true to allow it" in report
    nvim.cmd("bwipeout")

    configure(nvim, ollama_host=remote, allow_remote=True, model="reviewer")
    report = checkhealth(nvim)
    assert f"text goes to {remote}: another machine, allowed by g:workflow.allow_remote" in report
    assert "model reviewer runs on ollama.com, not on this machine (allowed)" in report
    nvim.cmd("bwipeout")

    configure(nvim, ollama_host=ollama.url, model="gpt-oss:120b-cloud")
    report = checkhealth(nvim)
    assert "WARNING model gpt-oss:120b-cloud runs on ollama.com: :WorkflowAnnotate will not send it text" in report
    nvim.quit()

    home.env["OLLAMA_HOST"] = remote
    nvim = start_nvim()
    report = checkhealth(nvim)
    assert f"text goes to {remote}: another machine, allowed by $OLLAMA_HOST (host from $OLLAMA_HOST)" in report
