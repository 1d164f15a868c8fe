"""Reproducible notes (:help workflow-reproducible), in Neovim and in Vim, against the loopback test
Ollama: what the notes file records, the trailers of the step commit that carries it, and
`python -m workflow_nvim reannotate` sending the recorded request again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vim import Vim, needs_vim

from ..ollama_server import FakeOllama, Script, answer
from .conftest import Editor, Home, git, wait_for
from .test_annotate import annotation_done, configure
from .test_steps import ESSAY

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tiny:latest"
NOTES = [{"line": 2, "severity": "hint", "note": "Name a second point."}]


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=(MODEL,)) as server:
        yield server


def reannotate(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "rplugin" / "python3")}
    env.pop("OLLAMA_HOST", None)
    return subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "reannotate", str(run_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def trailers(run_dir: Path, rev: str = "HEAD") -> dict[str, str]:
    text = git(run_dir, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def check_recorded(run_dir: Path, ollama: FakeOllama, options: dict[str, Any]) -> dict[str, Any]:
    """The notes file records exactly what was sent, and the step commit's trailers name it."""
    chat = ollama.chats()[-1]
    assert chat["options"] == options
    notes = json.loads((run_dir / "02-outline.notes.json").read_text())
    request = notes["request"]
    digest = "sha256:" + ollama.digests[MODEL]
    prompt = chat["messages"][1]["content"]
    assert request == {
        "model": MODEL,
        "digest": digest,
        "prompt": prompt,
        "system": chat["messages"][0]["content"],
        "options": options,
        "sha256": hashlib.sha256(prompt.encode()).hexdigest(),
    }
    assert notes["notes"] == NOTES  # the notes are kept as before
    found = trailers(run_dir)
    assert found["Workflow-Step"] == "2/3 outline"
    assert found["Workflow-Model"] == f"{MODEL}@{digest[:19]}"
    assert found["Workflow-Prompt"] == f"sha256:{request['sha256']}"
    assert "Workflow-Model" not in trailers(run_dir, "HEAD~1")  # step 1 carries no notes
    return request


def annotate_outline(nvim: Editor, ollama: FakeOllama, home: Home) -> None:
    """Start the essay, complete step 1, and annotate step 2 (the outline) with NOTES."""
    home.write_workflow("essay", ESSAY)
    configure(nvim, ollama.url)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    ollama.script = Script(chunks=[answer(NOTES, "One gap.")])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))


def test_an_annotation_records_its_request_and_the_step_commit_names_model_and_prompt(
    nvim: Editor, ollama: FakeOllama, home: Home
) -> None:
    annotate_outline(nvim, ollama, home)
    nvim.cmd("WorkflowNext")
    nvim.settle()
    run_dir = Path(nvim.state()["dir"])
    # Deterministic by default: temperature 0 and a fixed seed.
    check_recorded(run_dir, ollama, {"num_ctx": 4096, "temperature": 0.0, "seed": 42})

    # The same answer again: "same", exit 0, and the notes file is left as it was.
    before = (run_dir / "02-outline.notes.json").read_bytes()
    sent = len(ollama.chats())
    same = reannotate(run_dir, "2", "--host", ollama.url)
    assert (same.returncode, same.stderr) == (0, "")
    assert (
        same.stdout
        == f"same: step 2 'Outline', 1 note and the summary from {MODEL}@sha256:{ollama.digests[MODEL]}, as recorded\n"
    )
    resent = ollama.chats()[sent]
    assert resent["messages"] == ollama.chats()[sent - 1]["messages"]
    assert resent["options"] == {"num_ctx": 4096, "temperature": 0.0, "seed": 42}
    assert (run_dir / "02-outline.notes.json").read_bytes() == before

    # Another answer: exit 1, and the lines say which note changed.
    ollama.script = Script(
        chunks=[answer([{"line": 2, "severity": "hint", "note": "Name a third point."}], "One gap.")]
    )
    other = reannotate(run_dir, "outline", "--host", ollama.url)
    assert other.returncode == 1, other.stderr
    assert other.stdout.startswith(f"different: step 2 'Outline', {MODEL}@sha256:")
    assert '-note: {"line": 2, "note": "Name a second point.", "severity": "hint"}' in other.stdout
    assert '+note: {"line": 2, "note": "Name a third point.", "severity": "hint"}' in other.stdout


def test_reannotate_refuses_in_one_line_when_the_model_digest_changed(
    nvim: Editor, ollama: FakeOllama, home: Home
) -> None:
    annotate_outline(nvim, ollama, home)
    run_dir = Path(nvim.state()["dir"])
    old = ollama.digests[MODEL]
    ollama.digests[MODEL] = new = hashlib.sha256(b"another pull").hexdigest()
    sent = len(ollama.chats())

    refused = reannotate(run_dir, "2", "--host", ollama.url)

    assert (refused.returncode, refused.stdout) == (4, "")
    assert refused.stderr == (
        f"python -m workflow_nvim reannotate: not sent: {ollama.url} has {MODEL}@sha256:{new}, "
        f"the notes were written by {MODEL}@sha256:{old} (--force)\n"
    )
    assert len(ollama.chats()) == sent  # nothing was sent
    forced = reannotate(run_dir, "2", "--host", ollama.url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == (
        f"same: step 2 'Outline', 1 note and the summary from {MODEL}@sha256:{new}, "
        f"as recorded by {MODEL}@sha256:{old} (another digest)\n"
    )
    assert len(ollama.chats()) == sent + 1
    ollama.script = Script(chunks=[answer([], "Nothing to say.")])
    other = reannotate(run_dir, "2", "--host", ollama.url, "--force")
    assert other.returncode == 1, other.stderr
    assert other.stdout.splitlines()[0] == (
        f"different: step 2 'Outline', {MODEL}@sha256:{new} did not give the notes recorded "
        f"by {MODEL}@sha256:{old} (another digest):"
    )


def test_reannotate_says_what_it_cannot_compare(nvim: Editor, ollama: FakeOllama, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    configure(nvim, ollama.url)
    nvim.cmd("WorkflowStart essay")
    run_dir = Path(nvim.state()["dir"])
    none = reannotate(run_dir, "1", "--host", ollama.url)
    assert (none.returncode, none.stderr) == (
        4,
        "python -m workflow_nvim reannotate: step 1 'Pick a topic' has no notes (01-topic.notes.json): "
        "annotate it first\n",
    )
    (run_dir / "01-topic.notes.json").write_text(json.dumps({"model": MODEL, "notes": [], "summary": ""}))
    old = reannotate(run_dir, "1", "--host", ollama.url)
    assert (old.returncode, old.stderr.count("\n")) == (4, 1)
    assert "01-topic.notes.json records no request" in old.stderr
    assert ollama.chats() == []


@needs_vim
def test_in_vim_the_notes_record_the_request_and_the_options_set(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    home.write_workflow("essay", ESSAY)
    ollama.script = Script(chunks=[answer(NOTES, "One gap.")])
    opts = {
        "runs_dir": str(home.root / "runs"),
        "ollama_host": ollama.url,
        "model": MODEL,
        "annotate_temperature": 0.5,
        "annotate_seed": 7,
    }
    result = Vim(tmp_path, opts).run(
        """
        WorkflowStart essay
        normal! A trains
        WorkflowNext
        WorkflowAnnotate
        g:WaitFor(() => !empty(get(b:, 'workflow_annotation', {})))
        g:Keep('dir', g:WorkflowState().dir)
        WorkflowNext
        g:Settle()
        """
    )
    run_dir = Path(result["dir"])
    check_recorded(run_dir, ollama, {"num_ctx": 4096, "temperature": 0.5, "seed": 7})
    ollama.digests[MODEL] = hashlib.sha256(b"another pull").hexdigest()
    refused = reannotate(run_dir, "2", "--host", ollama.url)
    assert (refused.returncode, refused.stderr.count("\n")) == (4, 1)
    assert "not sent:" in refused.stderr and "the notes were written by" in refused.stderr
