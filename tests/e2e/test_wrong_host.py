"""A wrong ollama_host: nothing there, or a server that is not Ollama. Each place that talks to the
server (:WorkflowAnnotate, :WorkflowModels, :checkhealth) says the same one line, in the person's
terms, with no server text and no Press-ENTER prompt, on an 80x24 screen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ..ollama_server import free_port
from ..web_server import WebServer
from .conftest import Editor, wait_for

INSTALL = "start Ollama (`ollama serve`), or install it from https://ollama.com/download"


@contextmanager
def wrong_host(kind: str) -> Iterator[str]:
    if kind == "refused":
        yield f"http://127.0.0.1:{free_port()}"
        return
    with WebServer(kind) as server:
        yield server.url


def expected(kind: str, url: str, path: str) -> str:
    return {
        "refused": f"nothing is listening at {url}: {INSTALL}",
        "html": f"{url} is not an Ollama server (it answered HTTP 200 with an HTML page): check ollama_host",
        "404": f"{url} is not an Ollama server ({path} was not found): check ollama_host",
        "close": f"{url} closed the connection without answering: is it Ollama? check ollama_host",
    }[kind]


def not_blocked(nvim: Editor) -> None:
    assert nvim.api.get_mode() == {"mode": "n", "blocking": False}, "Neovim waits at a prompt"


def last_message(nvim: Editor) -> str:
    return nvim.messages().splitlines()[-1]


KINDS = ["html", "404", "close", "refused"]


@pytest.mark.parametrize("kind", KINDS)
def test_annotate_says_one_line_and_never_waits(nvim: Editor, kind: str) -> None:
    nvim.api.ui_attach(80, 24, {"ext_linegrid": True})
    with wrong_host(kind) as url:
        nvim.exec_lua("vim.g.workflow = {ollama_host = ..., model = 'tiny'}", url)
        nvim.cmd("enew")
        nvim.current.buffer[:] = ["Some text.", "More text."]
        nvim.clear_messages()
        nvim.cmd("WorkflowAnnotate")

        def settled() -> Any:
            mode = nvim.api.get_mode()  # answered even at a prompt
            return mode if mode["blocking"] else nvim.eval("get(b:, 'workflow_annotation', {})")

        result = wait_for(settled, timeout=30)
    assert result and "blocking" not in result, f"Neovim waits at a prompt: {result}"
    assert result["error"] == expected(kind, url, "/api/chat")
    not_blocked(nvim)
    line = last_message(nvim)
    assert line.startswith("[workflow] ") and "<" not in line
    assert expected(kind, url, "/api/chat").startswith(line.removeprefix("[workflow] ").removesuffix("…"))
    assert int(nvim.call("strdisplaywidth", line)) < 80


@pytest.mark.parametrize("kind", KINDS)
def test_models_and_checkhealth_say_the_same_line(nvim: Editor, kind: str) -> None:
    with wrong_host(kind) as url:
        nvim.exec_lua("vim.g.workflow = {ollama_host = ...}", url)
        assert nvim.error("WorkflowModels") == "[workflow] " + expected(kind, url, "/api/tags")
        nvim.cmd("checkhealth workflow")
        report = "\n".join(nvim.lines())
    assert f"WARNING {expected(kind, url, '/api/version')}" in report
    assert "<urlopen" not in report and "Errno" not in report and "<html" not in report.lower()
