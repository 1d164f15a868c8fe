"""Local AI annotations against a real HTTP server speaking Ollama's API, on a real Neovim."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..ollama_server import FakeOllama, Script, answer, flood, free_port, split
from .conftest import Editor, Home, wait_for
from .test_steps import ESSAY

TEXT = ["# My post", "", "Trains is fast.", "They goes everywhere.", "The end."]
NOTES = [
    {"line": 3, "severity": "error", "note": "Subject and verb disagree: 'Trains are'."},
    {"line": 4, "severity": "warning", "note": "'They go'."},
]


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=("tiny:latest",)) as server:
        yield server


def configure(nvim: Editor, url: str, **extra: Any) -> None:
    # Wide: these tests read whole lines; the message line of a narrow screen cuts them ("…").
    nvim.command("set columns=200")
    nvim.exec_lua(
        "vim.g.workflow = vim.tbl_extend('force', {ollama_host = ..., model = 'tiny:latest'}, select(2, ...))",
        url,
        extra,
    )


def diagnostics(nvim: Editor) -> list[tuple[int, str, str]]:
    got = nvim.exec_lua(
        "local ns = require('workflow.annotate').ns;"
        "return vim.tbl_map(function(d) return {d.lnum, d.severity, d.message} end,"
        " vim.diagnostic.get(0, {namespace = ns}))"
    )
    names = {1: "error", 2: "warning", 3: "info", 4: "hint"}
    return sorted((lnum + 1, names[sev], msg) for lnum, sev, msg in got)


def annotation_done(nvim: Editor) -> Any:
    return nvim.eval("get(b:, 'workflow_annotation', {})") or None


def buffer_with(nvim: Editor, lines: list[str]) -> None:
    nvim.cmd("enew")
    nvim.current.buffer[:] = lines


def test_notes_land_on_their_lines_as_diagnostics(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES, "Two grammar slips.")))
    nvim.clear_messages()

    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))

    assert diagnostics(nvim) == [(3, "error", NOTES[0]["note"]), (4, "warning", NOTES[1]["note"])]
    assert "tiny:latest: 2 notes: Two grammar slips." in nvim.messages()
    chat = ollama.chats()[0]
    assert chat["model"] == "tiny:latest"
    assert chat["format"]["required"] == ["notes", "summary"]  # structured output asked for
    prompt = chat["messages"][1]["content"]
    assert "3: Trains is fast." in prompt and "1: # My post" in prompt
    # ]d and the location list work, because they are diagnostics
    nvim.call("cursor", 1, 1)
    nvim.type("]d")
    assert nvim.eval("line('.')") == 3


def test_the_front_door_passes_the_instruction_alone_and_checks_arguments(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=[answer([])])
    nvim.cmd("Workflow annotate check the tone")
    wait_for(lambda: annotation_done(nvim))
    assert ollama.chats()[0]["messages"][1]["content"].startswith("The person asks: check the tone\n")
    assert nvim.error("Workflow models please") == "[workflow] :WorkflowModels takes no argument"


def test_notes_follow_their_lines_while_the_person_edits(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES)), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: ollama.answer_started.is_set())
    nvim.type("ggOA new first line<Esc>")  # typed while the model streams
    wait_for(lambda: annotation_done(nvim))
    assert [d[0] for d in diagnostics(nvim)] == [4, 5]
    nvim.type("ggdd")
    assert [d[0] for d in diagnostics(nvim)] == [3, 4]


def test_a_range_annotates_only_those_lines(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=[answer([{"line": 4, "severity": "info", "note": "ok"}])])
    nvim.cmd("3,4WorkflowAnnotate check the grammar")
    wait_for(lambda: annotation_done(nvim))
    prompt = ollama.chats()[0]["messages"][1]["content"]
    assert "3: Trains is fast." in prompt and "4: They goes everywhere." in prompt
    assert "1: # My post" not in prompt and "5: The end." not in prompt
    assert "The person asks: check the grammar" in prompt
    assert diagnostics(nvim) == [(4, "info", "ok")]


def test_prose_instead_of_json_is_shown_as_a_summary(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split("This text is mostly fine, but watch your verbs."))
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    done = wait_for(lambda: annotation_done(nvim))
    assert done["incomplete"] is True
    assert diagnostics(nvim) == []
    assert done["summary"] == "(not the JSON asked for) This text is mostly fine, but watch your verbs."
    # The message line shows as much of it as fits on one line (see the test of a long summary).
    assert nvim.messages().startswith("[workflow] tiny:latest: 0 notes (incomplete): (not the JSON asked for)")


def test_a_long_summary_fits_the_message_line_and_never_waits_at_a_more_prompt(
    nvim: Editor, ollama: FakeOllama
) -> None:
    """A small model may answer in pages of prose (the real-model tier met one): echoed whole, it
    filled the screen and Neovim waited at "-- More --" for a key, holding every request behind it."""
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    prose = " ".join(f"Sentence {i} of a model that will not stop talking about the text." for i in range(60))
    ollama.script = Script(chunks=split(prose))
    nvim.cmd("WorkflowAnnotate")

    def settled() -> Any:
        mode = nvim.api.get_mode()  # answered even at a prompt, unlike every other request
        return mode if mode["blocking"] else annotation_done(nvim)

    result = wait_for(settled, timeout=30)
    assert result and "blocking" not in result, f"Neovim waits at a prompt: {result}"
    assert result["summary"].startswith("(not the JSON asked for) Sentence 0 of a model")  # kept whole here
    assert len(result["summary"]) > 2 * int(nvim.eval("&columns"))
    last = nvim.messages().splitlines()[-1]
    assert last.startswith("[workflow] ") and "tiny:latest: 0 notes" in last
    assert int(nvim.call("strdisplaywidth", last)) < int(nvim.eval("&columns"))
    assert last.endswith("…")


def test_broken_json_keeps_the_notes_that_parsed(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    broken = answer(NOTES)[:-8]  # cut off in the middle of the summary
    ollama.script = Script(chunks=split(broken))
    nvim.cmd("WorkflowAnnotate")
    done = wait_for(lambda: annotation_done(nvim))
    assert done["incomplete"] is True
    assert [d[0] for d in diagnostics(nvim)] == [3, 4]


def test_an_error_in_the_middle_of_the_stream_keeps_notes_marked_incomplete(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    text = answer(NOTES)
    cut = text.index("}") + 1  # after the first note
    ollama.script = Script(chunks=[text[:cut], text[cut : cut + 5]], fault="error", fault_after=2)
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    done = wait_for(lambda: annotation_done(nvim))
    assert done["incomplete"] is True
    assert [d[0] for d in diagnostics(nvim)] == [3]
    assert "the model stopped with an error after 2 chunks (out of memory): notes so far are kept" in nvim.messages()


def test_ollama_not_running_says_so_within_two_seconds(nvim: Editor) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    configure(nvim, url)
    buffer_with(nvim, TEXT)
    nvim.clear_messages()
    started = time.monotonic()
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: "nothing is listening" in nvim.messages())
    assert time.monotonic() - started < 2
    assert (
        f"nothing is listening at {url}: start Ollama (`ollama serve`), or install it from https://ollama.com/download"
        in nvim.messages()
    )


def test_a_missing_model_names_the_ones_there_and_the_pull_command(nvim: Editor, ollama: FakeOllama) -> None:
    ollama.models = ["tiny:latest", "other:7b"]
    configure(nvim, ollama.url, model="llama3.2")
    buffer_with(nvim, TEXT)
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    message = wait_for(lambda: "not on the Ollama server" in nvim.messages() and nvim.messages())
    assert (
        "model 'llama3.2' is not on the Ollama server (the server has: tiny:latest, other:7b): "
        "run `ollama pull llama3.2`" in message
    )


def test_a_stalled_server_times_out_and_the_connection_is_closed(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url, annotate_timeout=0.5)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=["{"], fault="stall", fault_after=0)
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    message = wait_for(lambda: "sent nothing" in nvim.messages() and nvim.messages())
    assert "the model sent nothing for 0.5 s: cancelled" in message
    assert ollama.client_closed.wait(5)


def test_a_dropped_connection_is_one_line(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES)), fault="disconnect", fault_after=3)
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    message = wait_for(lambda: "broke off" in nvim.messages() and nvim.messages())
    assert f"the connection to Ollama at {ollama.url} broke off: try again" in message


def test_cancel_closes_the_stream_and_the_server_sees_it(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: len(ollama.sent) >= 2)
    nvim.cmd("WorkflowAnnotateCancel")
    assert ollama.client_closed.wait(5)
    assert "annotation cancelled" in nvim.messages()
    assert not nvim.exec_lua("return require('workflow.annotate').running(0)")


def test_a_server_that_dies_mid_stream_ends_the_annotation_at_once(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES) * 40), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: diagnostics(nvim))  # some notes are shown, more are coming
    shown = diagnostics(nvim)
    pid = nvim.exec_lua("return require('workflow.host').running().pid")
    os.kill(pid, signal.SIGKILL)
    # Without a command: the progress goes, the notes shown stay, and one line says why.
    wait_for(lambda: not nvim.exec_lua("return require('workflow.annotate').running(0)"))
    progress = nvim.exec_lua(
        "return #vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_get_namespaces().workflow_annotate_progress, 0, -1, {})"
    )
    assert progress == 0
    assert diagnostics(nvim) == shown
    assert "[workflow] the Python server stopped (killed by signal 9): annotation ended; run it again" in (
        nvim.messages()
    )
    # A new server takes over at the next command, and annotates again.
    ollama.script = Script(chunks=[answer([NOTES[1]])])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))
    assert diagnostics(nvim) == [(4, "warning", NOTES[1]["note"])]


def test_wiping_the_buffer_cancels_quietly(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: len(ollama.sent) >= 2)
    nvim.clear_messages()
    nvim.cmd("bwipeout!")
    assert ollama.client_closed.wait(5)
    time.sleep(0.2)
    assert "[workflow]" not in nvim.messages()


def test_a_second_annotation_cancels_the_first(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: len(ollama.sent) >= 2)
    ollama.script = Script(chunks=[answer([NOTES[1]])])
    nvim.cmd("WorkflowAnnotate")
    assert ollama.client_closed.wait(5)
    wait_for(lambda: annotation_done(nvim))
    assert diagnostics(nvim) == [(4, "warning", NOTES[1]["note"])]


def test_the_ui_stays_responsive_during_a_slow_stream(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=split(answer(NOTES), 2), delay=0.01)  # ~100 chunks/s
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: ollama.answer_started.is_set())
    trips = []
    while not annotation_done(nvim):
        t = time.perf_counter()
        nvim.api.get_mode()
        trips.append(time.perf_counter() - t)
    trips.sort()
    assert len(trips) > 20
    # A generous bound: this guards against blocking (seconds), not speed (see make bench).
    assert trips[int(len(trips) * 0.99)] < 0.25


def test_clear_removes_the_notes(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=[answer(NOTES)])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))
    nvim.cmd("WorkflowAnnotateClear")
    assert diagnostics(nvim) == []


def test_in_a_step_the_prompt_has_its_context_and_notes_are_committed(
    nvim: Editor, ollama: FakeOllama, home: Home
) -> None:
    home.write_workflow(
        "essay",
        ESSAY.replace(
            "    filetype: text\n",
            "    filetype: text\n    annotate: |\n      Check that every point serves the topic.\n",
        ),
    )
    configure(nvim, ollama.url)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    ollama.script = Script(chunks=[answer([{"line": 2, "severity": "hint", "note": "Name a second point."}])])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))
    prompt = ollama.chats()[0]["messages"][1]["content"]
    assert "Workflow: Write an essay" in prompt
    assert "Step: Outline" in prompt
    assert "Check that every point serves the topic." in prompt
    assert "Earlier step 'Pick a topic':\nTopic: trains" in prompt
    run_dir = Path(nvim.state()["dir"])
    notes = json.loads((run_dir / "02-outline.notes.json").read_text())
    assert notes["notes"] == [{"line": 2, "severity": "hint", "note": "Name a second point."}]
    assert notes["model"] == "tiny:latest"
    nvim.cmd("WorkflowNext")
    nvim.settle()
    from .conftest import git

    assert git(run_dir, "show", "--name-only", "--format=", "HEAD").split() == [
        ".start/02-outline.copies.json",
        ".start/02-outline.txt",
        "02-outline.notes.json",
        "02-outline.txt",
    ]


def test_models_lists_the_server_and_switches(nvim: Editor, ollama: FakeOllama) -> None:
    ollama.models = ["tiny:latest", "other:7b"]
    configure(nvim, ollama.url)
    nvim.exec_lua("vim.ui.select = function(items, opts, cb) _G.offered = items; cb(items[2]) end")
    nvim.cmd("WorkflowModels")
    assert nvim.exec_lua("return _G.offered") == ["tiny:latest", "other:7b"]
    assert nvim.exec_lua("return vim.g.workflow.model") == "other:7b"


def test_annotated_event(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    nvim.exec_lua(
        "_G.annotated = nil; vim.api.nvim_create_autocmd('User', {pattern = 'WorkflowAnnotated',"
        " callback = function(ev) _G.annotated = ev.data end})"
    )
    ollama.script = Script(chunks=[answer(NOTES, "Two slips.")])
    nvim.cmd("WorkflowAnnotate")
    data = wait_for(lambda: nvim.exec_lua("return _G.annotated"))
    assert (data["notes"], data["summary"], data["model"]) == (2, "Two slips.", "tiny:latest")
    assert data["buf"] == nvim.current.buffer.number


def test_a_failed_request_leaves_the_notes_shown(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=[answer(NOTES)])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))
    nvim.exec_lua("vim.b.workflow_annotation = nil")
    configure(nvim, f"http://127.0.0.1:{free_port()}")
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: "nothing is listening" in nvim.messages())
    assert [d[0] for d in diagnostics(nvim)] == [3, 4]


def test_completing_a_step_waits_for_its_annotation(nvim: Editor, ollama: FakeOllama, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    configure(nvim, ollama.url)
    nvim.cmd("WorkflowStart essay")
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    nvim.cmd("WorkflowAnnotate")
    message = nvim.error("WorkflowNext")
    assert "the model is still annotating 01-topic.md: wait for it, or :WorkflowAnnotateCancel there" in message
    nvim.cmd("WorkflowAnnotateCancel")
    nvim.cmd("WorkflowNext")
    assert nvim.state()["steps"][0]["done"] is True


def test_notes_show_their_text_at_the_end_of_the_line(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    ollama.script = Script(chunks=[answer(NOTES)])
    nvim.cmd("WorkflowAnnotate")
    wait_for(lambda: annotation_done(nvim))
    shown = nvim.exec_lua(
        "local texts = {};"
        "for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, -1, 0, -1, {details = true})) do"
        " for _, chunk in ipairs(m[4].virt_text or {}) do table.insert(texts, chunk[1]) end end;"
        "return table.concat(texts, '|')"
    )
    assert "Subject and verb disagree" in shown


def test_a_flood_of_notes_shows_the_limit_and_says_how_many_were_dropped(nvim: Editor, ollama: FakeOllama) -> None:
    configure(nvim, ollama.url)
    buffer_with(nvim, TEXT)
    # What the plugin hands vim.diagnostic.set, batch by batch: the editor's work, not its time.
    nvim.exec_lua(
        "local ns, set = require('workflow.annotate').ns, vim.diagnostic.set; _G.published = {};"
        "vim.diagnostic.set = function(n, b, d, o)"
        " if n == ns then table.insert(_G.published, #d) end; return set(n, b, d, o) end"
    )
    ollama.script = Script(chunks=flood(3_000), delay=0.001)  # a trickle: many batches
    nvim.clear_messages()
    nvim.cmd("WorkflowAnnotate")
    trips = 0
    while not annotation_done(nvim):  # the editor answers while the notes pour in
        nvim.api.get_mode()
        trips += 1
    assert trips > 1
    assert len(diagnostics(nvim)) == 200
    assert "tiny:latest: 200 notes (2800 more notes dropped): Many notes." in nvim.messages()
    assert annotation_done(nvim)["dropped"] == 2800
    published = nvim.exec_lua("return _G.published")
    assert len(published) > 1 and max(published) == 200  # no batch republishes more than the limit
