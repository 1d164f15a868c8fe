"""Notes from a local model: the stream parser, the prompt, and real HTTP against a test Ollama.

Nothing is mocked: ``FakeOllama`` is an HTTP server on loopback that speaks Ollama's API and
misbehaves on request. The machine may be busy, so waits are generous and no test asserts speed.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from workflow_nvim import annotate
from workflow_nvim.annotate import (
    DEFAULT_HOST,
    MAX_ANSWER_CHARS,
    MAX_LINE_BYTES,
    MAX_NOTE_CHARS,
    MAX_NOTES,
    SCHEMA,
    SYSTEM_PROMPT,
    Annotation,
    BadStream,
    Note,
    NoteStream,
    Progress,
    Request,
    build_messages,
    ndjson_lines,
    resolve_host,
)
from workflow_nvim.errors import WorkflowError
from workflow_nvim.options import NAMES as OPTION_NAMES
from workflow_nvim.session import Session

from tests.ollama_server import FakeOllama, Script, answer, endless_note, flood, free_port, split

WAIT = 30.0  # seconds: an upper bound for a busy machine, never a measure of speed

TEXT = ["# My post", "", "Trains is fast.", "They goes everywhere.", "The end."]
NOTES = [
    {"line": 3, "severity": "error", "note": "Subject and verb disagree: 'Trains are'."},
    {"line": 4, "severity": "warning", "note": "'They go'."},
]
EXPECTED = [Note(3, "error", NOTES[0]["note"]), Note(4, "warning", NOTES[1]["note"])]


def end_of(text: str, note: dict[str, Any]) -> int:
    """The offset just after ``note``'s object in an ``answer()`` text."""
    piece = json.dumps(note)
    return text.index(piece) + len(piece)


def fed(stream: NoteStream, chunks: list[str]) -> list[Note]:
    """Feed ``chunks`` one by one; every note they completed, in order."""
    return [note for chunk in chunks for note in stream.feed(chunk)]


# -- NoteStream ------------------------------------------------------------------


def test_each_note_comes_out_the_moment_its_object_is_complete():
    text = answer(NOTES, "Two grammar slips.")
    stream = NoteStream(1, 5)
    came_at: list[tuple[int, Note]] = []
    for i, char in enumerate(text):
        came_at += [(i + 1, note) for note in stream.feed(char)]
    assert came_at == [(end_of(text, NOTES[0]), EXPECTED[0]), (end_of(text, NOTES[1]), EXPECTED[1])]
    assert stream.finish() == (EXPECTED, "Two grammar slips.", True)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 64, 10_000])
def test_chunk_boundaries_do_not_matter(size):
    text = answer(NOTES, "Two grammar slips.")
    stream = NoteStream(1, 5)
    assert fed(stream, split(text, size)) == EXPECTED
    assert stream.finish() == (EXPECTED, "Two grammar slips.", True)


def test_random_chunk_boundaries_do_not_matter():
    text = answer([*NOTES, {"line": 5, "severity": "hint", "note": "End with a thought."}], "Three notes.")
    rng = random.Random(20260101)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 40)))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        stream = NoteStream(1, 5)
        assert [n.line for n in fed(stream, chunks)] == [3, 4, 5], chunks


def test_braces_brackets_and_escaped_quotes_inside_notes_do_not_confuse_it():
    tricky = [
        {"line": 1, "severity": "info", "note": 'Write "{x}" rather than {y}}, and ] or [ are fine'},
        {"line": 2, "severity": "hint", "note": 'A backslash \\ then a quote \\"} then a brace {'},
        {"line": 3, "severity": "warning", "note": "Plain."},
    ]
    text = answer(tricky, "Braces {everywhere} [really]")
    expected = [Note(n["line"], n["severity"], n["note"]) for n in tricky]
    for size in (1, 3, 1000):
        stream = NoteStream(1, 3)
        assert fed(stream, split(text, size)) == expected
        assert stream.finish() == (expected, "Braces {everywhere} [really]", True)


def test_a_summary_before_the_notes_and_braces_after_them_add_nothing():
    text = '{"summary": "Odd {order}", "notes": [' + json.dumps(NOTES[0]) + '], "extra": {"line": 1, "note": "no"}}'
    stream = NoteStream(1, 5)
    assert fed(stream, split(text, 1)) == [EXPECTED[0]]
    assert stream.finish() == ([EXPECTED[0]], "Odd {order}", True)


def test_no_notes_at_all():
    stream = NoteStream(1, 5)
    assert fed(stream, split(answer([], "Nothing to say {really}."), 2)) == []
    assert stream.finish() == ([], "Nothing to say {really}.", True)


def test_json_cut_off_in_the_summary_keeps_every_note():
    text = answer(NOTES, "Two grammar slips.")
    cut = text[: text.index("grammar")]
    stream = NoteStream(1, 5)
    assert fed(stream, split(cut, 4)) == EXPECTED
    notes, summary, ok = stream.finish()
    assert (notes, ok) == (EXPECTED, False)
    assert summary == " ".join(cut.split())  # shown as it came


def test_json_cut_off_in_a_note_keeps_the_notes_before_it():
    text = answer(NOTES, "Two grammar slips.")
    cut = text[: text.index("They go")]
    stream = NoteStream(1, 5)
    assert fed(stream, split(cut, 4)) == [EXPECTED[0]]
    notes, _, ok = stream.finish()
    assert (notes, ok) == ([EXPECTED[0]], False)


def test_prose_instead_of_json_becomes_the_summary():
    prose = "The text reads well.\n\n   Maybe shorten\tline 3 {a little}."
    stream = NoteStream(1, 5)
    assert fed(stream, split(prose, 3)) == []
    assert stream.finish() == ([], "The text reads well. Maybe shorten line 3 {a little}.", False)


def test_lines_outside_the_annotated_range_are_clamped_to_it():
    notes = [
        {"line": 2, "severity": "info", "note": "Before the range."},
        {"line": 11, "severity": "info", "note": "Inside."},
        {"line": 400, "severity": "info", "note": "After the range."},
        {"line": -3, "severity": "info", "note": "Negative."},
    ]
    stream = NoteStream(10, 12)
    streamed = fed(stream, split(answer(notes), 5))
    assert [n.line for n in streamed] == [10, 11, 12, 10]
    assert [n.line for n in stream.finish()[0]] == [10, 11, 12, 10]


@pytest.mark.parametrize(
    ("given", "severity"),
    [
        ("error", "error"),
        ("warning", "warning"),
        ("info", "info"),
        ("hint", "hint"),
        ("warn", "warning"),
        ("WARN", "warning"),
        ("Warning", "warning"),
        ("err", "error"),
        ("suggestion", "hint"),
        ("critical", "info"),
        (None, "info"),
    ],
)
def test_severities_are_mapped_to_the_four_the_editor_knows(given, severity):
    note: dict[str, Any] = {"line": 1, "note": "Something."}
    if given is not None:
        note["severity"] = given
    stream = NoteStream(1, 1)
    assert fed(stream, [answer([note])]) == [Note(1, severity, "Something.")]


def test_a_note_without_text_is_dropped_and_odd_fields_are_tolerated():
    notes = [
        {"line": 1, "severity": "error"},
        {"line": 2, "severity": "error", "note": "   "},
        {"line": 3, "severity": "error", "note": 42},
        {"line": "4", "severity": "hint", "message": "Called message,\n  not   note."},
        {"severity": "info", "text": "No line: the first one."},
        {"line": "four", "note": "A line that is no number."},
    ]
    expected = [
        Note(4, "hint", "Called message, not note."),
        Note(1, "info", "No line: the first one."),
        Note(1, "info", "A line that is no number."),
    ]
    stream = NoteStream(1, 5)
    assert fed(stream, split(answer(notes), 6)) == expected
    assert stream.finish() == (expected, "Fine.", True)


def test_valid_json_of_the_wrong_shape_is_no_crash():
    for text, summary in [('{"notes": 3, "summary": "x"}', "x"), ('{"notes": "none", "summary": 7}', "")]:
        stream = NoteStream(1, 5)
        assert fed(stream, [text]) == []
        assert stream.finish() == ([], summary, True)
    stream = NoteStream(1, 5)
    assert fed(stream, ["[1, 2]"]) == []
    assert stream.finish() == ([], "[1, 2]", False)


# -- a hostile or broken model ----------------------------------------------------

# "line" values a model may send, each valid JSON for Python, and where the note lands in lines 1..5.
ODD_LINES = [
    ("1e999", 5),
    ("-1e999", 1),
    ("Infinity", 5),
    ("-Infinity", 1),
    ("NaN", 1),
    ("9" * 3000, 5),  # an int far past any line
    ("-" + "9" * 3000, 1),
    ('"1e999"', 5),
    ('"12"', 5),
    ("-5", 1),
    ("2.9", 2),
    ("true", 1),
    ("null", 1),
    ("[3]", 1),
    ('{"n": 3}', 1),
]


def odd_answer() -> tuple[str, list[Note]]:
    """An answer with a good note, a note for each odd line, another good note; what it gives."""
    odd = [f'{{"line": {raw}, "severity": "info", "note": "Odd {i}."}}' for i, (raw, _) in enumerate(ODD_LINES)]
    deep = '{"line": 2, "severity": "info", "note": "Deep.", "x": ' + "[" * 1500 + "]" * 1500 + "}"
    text = '{"notes": [' + ", ".join([json.dumps(NOTES[0]), *odd, deep, json.dumps(NOTES[1])]) + '], "summary": "Odd."}'
    odd_notes = [Note(line, "info", f"Odd {i}.") for i, (_, line) in enumerate(ODD_LINES)]
    return text, [EXPECTED[0], *odd_notes, EXPECTED[1]]


@pytest.mark.parametrize("size", [1, 7, 100_000])
def test_a_line_that_is_infinity_nan_or_no_number_costs_no_other_note(size):
    text, expected = odd_answer()
    stream = NoteStream(1, 5)
    assert fed(stream, split(text, size)) == expected  # the 1,500-deep note is dropped, alone
    notes, _, ok = stream.finish()
    assert (notes, ok) == (expected, False)  # json.loads refuses the depth: the streamed notes stay


def test_infinity_and_huge_numbers_in_a_whole_answer_keep_every_note():
    text, expected = odd_answer()
    text = text.replace("[" * 1500 + "]" * 1500, "[]")
    stream = NoteStream(1, 5)
    fed(stream, [text])
    assert stream.finish() == ([*expected[:-1], Note(2, "info", "Deep."), expected[-1]], "Odd.", True)


def test_no_more_than_the_limit_of_notes_is_kept_and_the_rest_counted():
    stream = NoteStream(1, 5)
    kept = fed(stream, flood(3_000))
    assert MAX_NOTES == 200
    assert [n.note for n in kept] == [f"Note {i}." for i in range(1, 201)]
    assert stream.dropped == 2_800
    notes, summary, ok = stream.finish()
    assert (notes, summary, ok, stream.dropped) == (kept, "Many notes.", True, 2_800)


def test_a_model_looping_in_one_note_is_stopped_holding_a_bounded_text():
    stream = NoteStream(1, 5)
    tokens = itertools.islice(endless_note(NOTES), 32_000)  # 32,000 tokens, as a looping model sent
    assert fed(stream, tokens) == EXPECTED
    assert stream.stopped == f"a note passed {MAX_NOTE_CHARS:,} characters"
    assert stream.held <= len(answer(NOTES)) + MAX_NOTE_CHARS + 100  # not 320,000 characters
    assert stream.finish() == (EXPECTED, "", False)


def test_an_answer_past_its_limit_is_stopped_with_the_notes_before():
    head, item = '{"notes": [', json.dumps({"line": 1, "severity": "info", "note": "Long " * 700}) + ", "
    stream = NoteStream(1, 5)
    kept = fed(stream, split(head + item * 1000, 10))  # 3.5 million characters
    assert stream.stopped == f"the answer passed {MAX_ANSWER_CHARS:,} characters"
    assert len(f"[workflow] {stream.stopped}: stopped, notes so far are kept") <= 80  # the line shown
    assert len(kept) == (MAX_ANSWER_CHARS - len(head) + len(", ")) // len(item)  # every note that fit
    assert stream.held <= MAX_ANSWER_CHARS + MAX_NOTE_CHARS
    assert fed(stream, ["more"]) == []


def work(feed: Callable[[], object]) -> int:
    """Lines of annotate.py run by ``feed()``: a count of work, not of time."""
    count = 0

    def line(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += event == "line"
        return line

    def call(frame: Any, event: str, arg: Any) -> Any:
        return line if frame.f_code.co_filename == annotate.__file__ else None

    sys.settrace(call)
    try:
        feed()
    finally:
        sys.settrace(None)
    return count


def test_parsing_a_note_streamed_a_character_at_a_time_is_linear():
    def note_of(size: int) -> Callable[[], object]:
        text = answer([{"line": 1, "severity": "info", "note": "x" * size}])
        return lambda: fed(NoteStream(1, 5), list(text))

    once, twice = work(note_of(600)), work(note_of(1200))
    # Each character is looked at once: twice the note, about twice the work (rescanning gives 4x).
    assert twice < 2.3 * once


def test_an_ndjson_line_is_held_only_up_to_its_limit():
    read = 0

    def endless() -> Iterator[bytes]:
        nonlocal read
        yield b'{"a": 1}\n\n{"b": '
        while True:
            read += 65536
            assert read <= 4 * MAX_LINE_BYTES, "read on far past the limit of a line"
            yield b"x" * 65536

    lines = ndjson_lines(endless(), MAX_LINE_BYTES)
    assert (next(lines), next(lines)) == (b'{"a": 1}', b"")
    with pytest.raises(BadStream, match=r"^a line over 1 MiB$"):
        next(lines)
    assert read <= MAX_LINE_BYTES + 65536


def test_ndjson_lines_split_anywhere():
    stream = b'{"a": 1}\n{"b": 2}\n\n{"c": 3}'
    for size in (1, 2, 5, 100):
        pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert list(ndjson_lines(pieces, 100)) == [b'{"a": 1}', b'{"b": 2}', b"", b'{"c": 3}']
    assert list(ndjson_lines([b"12345678\n"], 8)) == [b"12345678"]
    with pytest.raises(BadStream, match=r"^a line over 8 bytes$"):
        list(ndjson_lines([b"123456789\n"], 8))


# -- build_messages ----------------------------------------------------------------


def user_message(messages: list[dict[str, str]]) -> str:
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    return messages[1]["content"]


def test_the_text_is_numbered_from_its_first_line():
    messages, last, warning = build_messages(Request(lines=["alpha", "", "gamma"], first_line=7), 4096)
    assert user_message(messages) == "The text, with line numbers:\n7: alpha\n8: \n9: gamma"
    assert (last, warning) == (9, None)


@pytest.mark.parametrize("first_line", [1, 50])
def test_a_text_too_long_for_the_context_is_cut_and_the_warning_says_where(first_line):
    lines = [f"line {i:02} " + "x" * 20 for i in range(20)]
    messages, last, warning = build_messages(Request(lines=lines, first_line=first_line), 100)
    user = user_message(messages)
    sent = user.split("The text, with line numbers:\n", 1)[1].split("\n")
    assert first_line < last < first_line + 19
    assert sent == [f"{first_line + i}: {line}" for i, line in enumerate(lines[: last - first_line + 1])]
    assert warning == (
        "the text is too long for the model's context (100 tokens): "
        f"annotated lines {first_line}-{last} of {first_line}-{first_line + 19}"
    )


def test_the_first_line_is_sent_even_when_it_alone_is_too_long():
    messages, last, warning = build_messages(Request(lines=["x" * 50_000]), 512)
    assert user_message(messages).endswith("1: " + "x" * 50_000)
    assert (last, warning) == (1, None)


def test_the_step_context_and_the_persons_instruction_are_in_the_prompt():
    req = Request(
        lines=["Outline for: Cats", "- fur"],
        instruction="  is it clear? ",
        workflow_title="Write a blog post",
        step_title="Outline",
        step_instructions="Outline the post about Cats.\n",
        step_annotate="Check that every point serves the topic.\n",
        earlier=[("Pick a topic", "Cats\n")],
    )
    messages, last, warning = build_messages(req, 4096)
    assert user_message(messages) == (
        "Workflow: Write a blog post\n\n"
        "Step: Outline\n\n"
        "What the person was asked to do in this step:\nOutline the post about Cats.\n\n"
        "What to look for:\nCheck that every point serves the topic.\n\n"
        "The person asks: is it clear?\n\n"
        "Earlier step 'Pick a topic':\nCats\n\n"
        "The text, with line numbers:\n1: Outline for: Cats\n2: - fur"
    )
    assert (last, warning) == (2, None)


def test_earlier_steps_are_included_newest_first_while_there_is_room():
    earlier = [(name, f"{name} " + "w" * 150) for name in ("One", "Two", "Three")]
    # 200 tokens leave room for the short text and two earlier steps of ~170 characters, not three.
    user = user_message(build_messages(Request(lines=["short"], earlier=earlier), 200)[0])
    assert "Earlier step 'One'" not in user
    assert "Earlier step 'Two':\nTwo www" in user
    assert "Earlier step 'Three':\nThree www" in user
    assert user.index("'Two'") < user.index("'Three'") < user.index("1: short")  # in the order of the steps
    # with a large context, all of them
    user = user_message(build_messages(Request(lines=["short"], earlier=earlier), 4096)[0])
    assert [user.index(f"Earlier step '{n}'") >= 0 for n in ("One", "Two", "Three")] == [True] * 3


def test_earlier_steps_are_dropped_when_the_text_fills_the_context():
    lines = [f"line {i:02} " + "x" * 20 for i in range(20)]
    messages, _, warning = build_messages(Request(lines=lines, earlier=[("One", "short")]), 100)
    assert "Earlier step" not in user_message(messages)
    assert warning is not None


# -- resolve_host ----------------------------------------------------------------


def test_host_the_option_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://from-env:1234")
    assert resolve_host("http://from-option:5678") == "http://from-option:5678"
    assert resolve_host(None) == "http://from-env:1234"
    assert resolve_host("") == "http://from-env:1234"


def test_host_default_without_option_or_environment(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert resolve_host(None) == DEFAULT_HOST == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "")
    assert resolve_host(None) == DEFAULT_HOST


def test_host_a_bare_host_and_port_gets_http(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434")
    assert resolve_host(None) == "http://10.0.0.5:11434"
    assert resolve_host(" gpu-box:11434 ") == "http://gpu-box:11434"
    assert resolve_host("https://ollama.example.org/") == "https://ollama.example.org"


# -- Annotation against a test Ollama --------------------------------------------


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=("tiny:latest", "other:7b")) as server:
        yield server


def until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (result := condition()):
        assert time.monotonic() < deadline, f"no {what} after {WAIT} s"
        time.sleep(0.005)
    return result


def start(
    url: str, lines: list[str] = TEXT, model: str = "tiny:latest", **options: Any
) -> tuple[Annotation, list[Progress]]:
    reports: list[Progress] = []
    annotation = Annotation(Request(lines=lines), model, url, reports.append, **options)
    annotation.start()
    return annotation, reports


def finished(annotation: Annotation, reports: list[Progress]) -> Progress:
    """The last report, once the thread has ended; it alone says done."""
    annotation.wait(WAIT)
    assert not annotation.running, f"the annotation still runs after {WAIT} s"
    assert reports, "no report at all"
    assert [p.done for p in reports] == [False] * (len(reports) - 1) + [True]
    return reports[-1]


def all_notes(reports: list[Progress]) -> list[Note]:
    return [note for p in reports for note in p.notes]


def test_notes_and_summary_arrive(ollama):
    ollama.script = Script(chunks=split(answer(NOTES, "Two grammar slips.")))
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == EXPECTED
    assert (last.summary, last.incomplete, last.error, last.cancelled) == ("Two grammar slips.", False, None, False)
    assert last.covered == (1, 5)  # what the editor shows and saves comes with the last batch
    assert reports[0].covered == (1, 5)
    assert last.tokens >= len(split(answer(NOTES, "Two grammar slips.")))
    assert not ollama.client_closed.is_set()


def test_the_first_report_comes_with_the_first_chunk_not_at_the_end(ollama):
    text = answer(NOTES)
    first = end_of(text, NOTES[0]) + 1
    # One chunk, then the model goes quiet: whatever is reported, is reported before the end.
    ollama.script = Script(chunks=[text[:first], text[first:]], fault="stall", fault_after=1)
    annotation, reports = start(ollama.url)
    report = until(lambda: reports and reports[0], "first report")
    assert (report.tokens, report.done, report.notes, report.covered) == (1, False, [EXPECTED[0]], (1, 5))
    assert annotation.running and not ollama.client_closed.is_set()
    annotation.cancel()
    last = finished(annotation, reports)
    assert last.cancelled and last.error is None
    assert ollama.client_closed.wait(WAIT)


def test_prose_is_an_incomplete_answer_with_the_prose_as_summary(ollama):
    ollama.script = Script(chunks=split("The text reads well.\n\nMaybe  shorten it."))
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == []
    assert (last.incomplete, last.error) == (True, None)
    assert last.summary == "(not the JSON asked for) The text reads well. Maybe shorten it."


def test_broken_json_keeps_the_notes_and_says_incomplete(ollama):
    text = answer(NOTES, "Two grammar slips.")
    ollama.script = Script(chunks=split(text[: text.index("grammar")]))
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == EXPECTED
    assert (last.incomplete, last.error) == (True, None)
    assert last.summary.startswith("(not the JSON asked for) ")


@pytest.mark.parametrize(
    ("models", "has"),
    [(("tiny:latest", "other:7b"), "the server has: tiny:latest, other:7b"), ((), "the server has no models yet")],
)
def test_a_model_the_server_does_not_have_names_the_ones_it_has(models, has):
    with FakeOllama(models=models) as server:
        annotation, reports = start(server.url, model="llama3.2")
        last = finished(annotation, reports)
    assert reports == [last]
    assert last.error == f"model 'llama3.2' is not on the Ollama server ({has}): run `ollama pull llama3.2`"


def test_no_server_says_how_to_start_one_without_waiting_for_the_token_timeout():
    url = f"http://127.0.0.1:{free_port()}"
    annotation, reports = start(url, first_token_timeout=600)
    last = finished(annotation, reports)  # within WAIT, far below the 600 s a read may take
    assert reports == [last]
    assert (
        last.error
        == f"nothing is listening at {url}: start Ollama (`ollama serve`), or install it from https://ollama.com/download"
    )


def test_a_model_that_sends_nothing_is_given_up_and_the_connection_closed(ollama):
    ollama.script = Script(fault="stall")
    annotation, reports = start(ollama.url, first_token_timeout=0.3)
    last = finished(annotation, reports)
    assert reports == [last]
    assert last.error == (
        "the model sent nothing for 0.3 s: cancelled (g:workflow.annotate_timeout sets how long to wait)"
    )
    assert ollama.client_closed.wait(WAIT)


def test_an_error_in_the_middle_of_the_stream_keeps_the_notes_so_far(ollama):
    text = answer(NOTES, "Two grammar slips.")
    chunks = split(text)
    after = next(i for i in range(len(chunks)) if len("".join(chunks[:i])) >= end_of(text, NOTES[0]))
    assert len("".join(chunks[:after])) < end_of(text, NOTES[1])
    ollama.script = Script(chunks=chunks, fault="error", fault_after=after)
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == [EXPECTED[0]]
    assert last.incomplete and not last.cancelled
    assert last.error == f"the model stopped with an error after {after} chunks (out of memory): notes so far are kept"


def test_a_dropped_connection_is_one_clear_line(ollama):
    ollama.script = Script(chunks=split(answer(NOTES)), fault="disconnect", fault_after=3)
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert last.error == f"the connection to Ollama at {ollama.url} broke off: try again"


def test_cancel_during_a_slow_stream_stops_the_server(ollama):
    chunks = split(answer(NOTES, "Two grammar slips."), 3)
    ollama.script = Script(chunks=chunks, delay=0.2)
    annotation, reports = start(ollama.url)
    until(lambda: reports, "first report")
    annotation.cancel()
    last = finished(annotation, reports)
    assert last.cancelled and last.error is None
    assert ollama.client_closed.wait(WAIT)
    assert len(ollama.sent) < len(chunks)


def test_cancel_while_the_model_is_still_silent_ends_at_once(ollama):
    # A big model can take long before its first token: cancel must not wait for the read timeout.
    ollama.script = Script(fault="stall")
    annotation, reports = start(ollama.url, first_token_timeout=600)
    assert ollama.answer_started.wait(WAIT)
    annotation.cancel()
    last = finished(annotation, reports)
    assert reports == [last]
    assert last.cancelled and last.error is None
    assert ollama.client_closed.wait(WAIT)


def test_cancel_before_the_thread_starts_asks_nothing(ollama):
    reports: list[Progress] = []
    annotation = Annotation(Request(lines=TEXT), "tiny:latest", ollama.url, reports.append)
    annotation.cancel()
    annotation.start()
    assert finished(annotation, reports).cancelled
    assert ollama.requests == []


@pytest.mark.parametrize(("context_length", "num_ctx"), [(8192, 8192), (131072, 32768), (128, 512)])
def test_the_request_asks_for_the_schema_with_the_servers_context(context_length, num_ctx):
    with FakeOllama(models=("tiny:latest",), context_length=context_length) as server:
        server.script = Script(chunks=[answer(NOTES)])
        finished(*start(server.url))
    [chat] = server.chats()
    assert chat["model"] == "tiny:latest"
    assert chat["stream"] is True
    assert chat["format"] == SCHEMA
    assert chat["options"]["num_ctx"] == num_ctx
    numbered = "\n".join(f"{i}: {line}" for i, line in enumerate(TEXT, 1))
    assert chat["messages"][1]["content"].endswith("The text, with line numbers:\n" + numbered)


def test_a_text_too_long_for_the_model_warns_and_says_which_lines_were_annotated():
    lines = [f"Sentence number {i} is here, and it goes on for a while." for i in range(1, 201)]
    with FakeOllama(models=("tiny:latest",), context_length=512) as server:
        server.script = Script(chunks=split(answer([{"line": 200, "severity": "info", "note": "Late."}])))
        annotation, reports = start(server.url, lines=lines)
        last = finished(annotation, reports)
    assert last.covered is not None
    first, covered_to = last.covered
    assert first == 1 and 1 < covered_to < 200
    assert last.warning == (
        f"the text is too long for the model's context (512 tokens): annotated lines 1-{covered_to} of 1-200"
    )
    assert all_notes(reports) == [Note(covered_to, "info", "Late.")]  # not on a line the model never saw


def test_a_flood_of_notes_keeps_the_limit_and_says_how_many_were_dropped(ollama):
    ollama.script = Script(chunks=flood(3_000))
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert [n.note for n in all_notes(reports)] == [f"Note {i}." for i in range(1, MAX_NOTES + 1)]
    assert (last.dropped, last.summary, last.incomplete, last.error) == (2_800, "Many notes.", False, None)
    assert [p.dropped for p in reports[:-1]] == [0] * (len(reports) - 1)  # said once


def test_a_model_looping_in_one_note_is_stopped_and_the_notes_before_it_kept(ollama):
    ollama.script = Script(chunks=endless_note(NOTES))  # it would never end
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == EXPECTED
    assert last.error == "a note passed 4,000 characters: stopped, notes so far are kept"
    assert len("[workflow] " + last.error) <= 80
    assert last.incomplete and not last.cancelled
    assert ollama.client_closed.wait(WAIT)  # the model is not left generating


def test_infinity_and_nan_lines_from_the_server_cost_no_note(ollama):
    text, expected = odd_answer()
    ollama.script = Script(chunks=split(text.replace("[" * 1500 + "]" * 1500, "[]"), 5))
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == [*expected[:-1], Note(2, "info", "Deep."), expected[-1]]
    assert (last.summary, last.error) == ("Odd.", None)


def after_the_first_note() -> tuple[list[str], int]:
    """The chunks of a good answer, and how many of them complete the first note only."""
    text = answer(NOTES)
    chunks = split(text)
    after = next(i for i in range(len(chunks)) if len("".join(chunks[:i])) >= end_of(text, NOTES[0]))
    return chunks, after


def test_a_huge_line_stops_with_one_line_and_keeps_the_notes(ollama):
    chunks, after = after_the_first_note()
    ollama.script = Script(chunks=chunks, fault="huge-line", fault_after=after, huge_line=64 << 20)
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == [EXPECTED[0]]
    assert last.error == "Ollama sent a line over 1 MiB: stopped, notes so far are kept"
    assert len("[workflow] " + last.error) <= 80
    assert last.incomplete
    assert ollama.client_closed.wait(WAIT)
    # The client hung up after about 1 MiB (what socket buffers hold besides), not 64 MiB read.
    assert ollama.bytes_sent < 24 << 20


def test_a_huge_first_line_asks_whether_it_is_ollama(ollama):
    ollama.script = Script(fault="huge-line", fault_after=0, huge_line=64 << 20)
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert reports == [last]
    assert last.error == f"Ollama at {ollama.url} sent a line over 1 MiB: is it Ollama?"


def test_a_line_that_is_not_json_in_the_middle_keeps_the_notes(ollama):
    chunks, after = after_the_first_note()
    ollama.script = Script(chunks=chunks, fault="invalid-line", fault_after=after)
    annotation, reports = start(ollama.url)
    last = finished(annotation, reports)
    assert all_notes(reports) == [EXPECTED[0]]
    assert last.error == "Ollama sent a line of bad JSON: stopped, notes so far are kept"
    assert last.incomplete


# -- Session ---------------------------------------------------------------------

OUTLINE_TEMPLATE = "      Outline for: ${topic}\n"
OUTLINE = ["Outline for: Cats", "- fur", "- naps"]


@pytest.fixture
def env(write, tmp_path: Path, blog_yaml) -> dict[str, Any]:
    assert OUTLINE_TEMPLATE in blog_yaml
    yaml = blog_yaml.replace(
        OUTLINE_TEMPLATE, OUTLINE_TEMPLATE + "    annotate: |\n      Check that every point serves the topic.\n"
    )
    write("blog.yaml", yaml, tmp_path / "project")
    return {"dirs": [["project", str(tmp_path / "project")]], "options": {"runs_dir": str(tmp_path / "runs")}}


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


def annotation_done(messages: list[dict[str, Any]], request: int) -> dict[str, Any]:
    """The editor's last message on ``request``, once it is done."""

    def done() -> list[dict[str, Any]]:
        ours = [m["annotation"] for m in messages if m.get("annotation", {}).get("request") == request]
        return [a for a in ours if a["done"]]

    found = until(done, f"end of annotation {request}")
    assert len(found) == 1
    return found[0]


def ask(session: Session, server: FakeOllama, **params: Any) -> dict[str, Any]:
    """:WorkflowAnnotate as the editor asks; the options among ``params`` (model, ...) go in ``options``."""
    options = {"ollama_host": server.url, "model": "tiny:latest"}
    options |= {k: params.pop(k) for k in list(params) if k in OPTION_NAMES}
    return session.handle("annotate", {"buf": 3, "request": 1, "lines": TEXT, **params, "options": options})


def outline_of_a_run(session: Session, env: dict[str, Any]) -> dict[str, Any]:
    """Start 'blog', write step 1 and complete it: the buffer_step of step 2, 'Outline'."""
    r = session.handle("start", {**env, "args": ["blog"]})
    Path(r["open"]["path"]).write_text("Cats\n", encoding="utf-8")
    run = session.run
    assert run is not None
    r = session.handle("next", {**env, "buffer_step": {"run": run.id, "id": "topic"}})
    assert r["open"]["id"] == "outline"
    return {"run": run.id, "id": "outline"}


@pytest.mark.parametrize("lines", [[], [""], ["  ", "\t"]])
def test_annotate_without_text(session, ollama, lines):
    with pytest.raises(WorkflowError, match=r"^nothing to annotate: the text is empty$"):
        ask(session, ollama, lines=lines)
    assert ollama.requests == []


def test_annotate_needs_an_editor_to_report_to(ollama):
    with pytest.raises(WorkflowError, match=r"^annotation needs an editor to report to$"):
        ask(Session(), ollama)


def test_annotating_a_step_gives_the_model_its_context_and_saves_the_notes(session, ollama, messages, env, git):
    buffer_step = outline_of_a_run(session, env)
    run = session.run
    assert run is not None
    notes = [
        {"line": 3, "severity": "hint", "note": "Say why naps matter."},
        {"line": 1, "severity": "warn", "note": "A title would help."},
    ]
    ollama.script = Script(chunks=split(answer(notes, "A start.")))
    r = ask(session, ollama, request=7, lines=OUTLINE, args=["is", "it", "clear?"], buffer_step=buffer_step)
    assert r["annotating"] == {"buf": 3, "request": 7, "model": "tiny:latest", "host": ollama.url}
    assert "info" not in r  # nothing to tell: the person's own model, on this machine
    done = annotation_done(messages, 7)
    assert (done["buf"], done["summary"], done["incomplete"], done["covered"]) == (3, "A start.", False, [1, 3])
    assert "error" not in done and "warning" not in done  # absent, not None (vim.NIL is true in Lua)

    [chat] = ollama.chats()
    prompt = chat["messages"][1]["content"]
    assert "Workflow: Write a blog post" in prompt
    assert "Step: Outline" in prompt
    assert "What the person was asked to do in this step:\nOutline the post about Cats." in prompt
    assert "What to look for:\nCheck that every point serves the topic." in prompt
    assert "The person asks: is it clear?" in prompt
    assert "Earlier step 'Pick a topic':\nCats" in prompt
    assert prompt.endswith("1: Outline for: Cats\n2: - fur\n3: - naps")

    saved = json.loads((run.dir / "02-outline.notes.json").read_text(encoding="utf-8"))
    assert saved.pop("request")["prompt"] == prompt  # what was asked (test_reproduce.py)
    assert saved == {
        "model": "tiny:latest",
        "lines": [1, 3],
        "incomplete": False,
        "summary": "A start.",
        "notes": [
            {"line": 1, "severity": "warning", "note": "A title would help."},
            {"line": 3, "severity": "hint", "note": "Say why naps matter."},
        ],
    }
    assert session.annotations == {}
    # the notes are committed with the step
    session.handle("next", {**env, "buffer_step": buffer_step})
    session.handle("wait", env)
    assert git(run.dir, "show", "--name-only", "--format=", "HEAD").split() == [
        ".start/02-outline.copies.json",
        ".start/02-outline.md",
        "02-outline.md",
        "02-outline.notes.json",
    ]


TWO_MODELS = """\
title: Two models
model: other:7b
steps:
  - id: a
    title: A
    instructions: x
  - id: b
    title: B
    instructions: y
    model: tiny:latest
"""


def test_the_steps_model_wins_over_the_workflows_which_wins_over_the_editors(session, ollama, messages, env, write):
    write("two.yaml", TWO_MODELS, Path(env["dirs"][0][1]))
    run = session.handle("start", {**env, "args": ["two"]})["open"]["run"]
    ollama.script = Script(chunks=[answer([])])
    r = ask(session, ollama, request=1, model="llama3.2", buffer_step={"run": run, "id": "a"})
    assert r["annotating"]["model"] == "other:7b"
    annotation_done(messages, 1)
    r = ask(session, ollama, request=2, model="llama3.2", buffer_step={"run": run, "id": "b"})
    assert r["annotating"]["model"] == "tiny:latest"
    annotation_done(messages, 2)
    r = ask(session, ollama, request=3, model="other:7b", buffer_step=None)
    assert r["annotating"]["model"] == "other:7b"
    annotation_done(messages, 3)
    assert [c["model"] for c in ollama.chats()] == ["other:7b", "tiny:latest", "other:7b"]


def test_a_buffer_outside_the_run_gets_no_step_context_and_no_notes_file(session, ollama, messages, env):
    outline_of_a_run(session, env)
    run = session.run
    assert run is not None
    ollama.script = Script(chunks=split(answer(NOTES)))
    ask(session, ollama, buffer_step=None, first_line=1)
    done = annotation_done(messages, 1)
    assert done["notes"] == NOTES
    assert "Workflow:" not in ollama.chats()[0]["messages"][1]["content"]
    assert list(run.dir.glob("*.notes.json")) == []


def test_an_annotation_failing_midway_saves_the_notes_it_showed_marked_incomplete(session, ollama, messages, env):
    buffer_step = outline_of_a_run(session, env)
    run = session.run
    assert run is not None
    chunks = split(answer(NOTES))
    ollama.script = Script(chunks=chunks, fault="error", fault_after=len(chunks) - 1)
    ask(session, ollama, lines=OUTLINE, buffer_step=buffer_step)
    done = annotation_done(messages, 1)
    assert done["error"].startswith("the model stopped with an error")
    saved = json.loads((run.dir / "02-outline.notes.json").read_text(encoding="utf-8"))
    assert saved["incomplete"] is True
    assert len(saved["notes"]) == len(NOTES)  # what the screen shows


def test_an_annotation_failing_before_any_note_keeps_the_old_notes_file(session, ollama, messages, env):
    buffer_step = outline_of_a_run(session, env)
    run = session.run
    assert run is not None
    ollama.script = Script(chunks=split(answer(NOTES)))
    ask(session, ollama, lines=OUTLINE, buffer_step=buffer_step, request=1)
    annotation_done(messages, 1)
    before = (run.dir / "02-outline.notes.json").read_text(encoding="utf-8")
    ollama.script = Script(chunks=[], fault="error", fault_after=0)
    ask(session, ollama, lines=OUTLINE, buffer_step=buffer_step, request=2)
    annotation_done(messages, 2)
    assert (run.dir / "02-outline.notes.json").read_text(encoding="utf-8") == before


def test_the_push_that_replaces_the_notes_shown_says_so_once(session, ollama, messages):
    def pushes(request: int) -> list[dict[str, Any]]:
        annotation_done(messages, request)
        return [m["annotation"] for m in messages if m["annotation"]["request"] == request]

    ollama.script = Script(chunks=split(answer(NOTES)))
    ask(session, ollama, request=1)
    first = pushes(1)
    with_notes = [i for i, a in enumerate(first) if a["notes"]]
    assert [i for i, a in enumerate(first) if a.get("replace")] == with_notes[:1]  # its first note
    ollama.script = Script(chunks=[], fault="error", fault_after=0)
    ask(session, ollama, request=2)
    assert [a for a in pushes(2) if a.get("replace")] == []  # a failure before any note: the old ones stay
    ollama.script = Script(chunks=split(answer([], "All good.")))
    ask(session, ollama, request=3)
    assert [a["done"] for a in pushes(3) if a.get("replace")] == [True]  # no note, but a good end


def test_a_second_annotate_of_the_same_buffer_cancels_the_first(session, ollama, messages):
    ollama.script = Script(fault="stall")
    ask(session, ollama, request=1)
    assert ollama.answer_started.wait(WAIT)
    first = session.annotations[3]
    ollama.script = Script(chunks=split(answer(NOTES, "Second.")))
    ask(session, ollama, request=2)
    assert annotation_done(messages, 1)["cancelled"] is True
    assert ollama.client_closed.wait(WAIT)
    first.wait(WAIT)
    second = annotation_done(messages, 2)
    assert (second["summary"], second["cancelled"]) == ("Second.", False)
    # Only the second's notes are drawn (in one push or several, as its chunks arrive).
    assert {m["annotation"]["request"] for m in messages if m["annotation"]["notes"]} == {2}
    assert session.annotations == {}


def test_the_cancelled_first_does_not_unregister_the_second(session, ollama, messages):
    ollama.script = Script(fault="stall")
    ask(session, ollama, request=1)
    until(lambda: len(ollama.chats()) == 1 and ollama.answer_started.is_set(), "first chat")
    ask(session, ollama, request=2)
    assert annotation_done(messages, 1)["cancelled"] is True
    assert 3 in session.annotations  # the second still runs, and can be cancelled
    assert session.handle("annotate_cancel", {"buf": 3}) == {"info": ["annotation cancelled"], "state": None}
    assert annotation_done(messages, 2)["cancelled"] is True


def test_annotate_cancel(session, ollama, messages):
    with pytest.raises(WorkflowError, match=r"^no annotation is running in this buffer$"):
        session.handle("annotate_cancel", {"buf": 3})
    assert session.cmd_annotate_cancel({"buf": 3, "quiet": True}) == {}
    ollama.script = Script(fault="stall")
    ask(session, ollama)
    assert ollama.answer_started.wait(WAIT)
    assert session.cmd_annotate_cancel({"buf": 4, "quiet": True}) == {}  # another buffer's is not touched
    assert session.cmd_annotate_cancel({"buf": 3, "quiet": True}) == {}
    assert annotation_done(messages, 1)["cancelled"] is True
    assert ollama.client_closed.wait(WAIT)
    assert session.annotations == {}


def test_models_lists_the_servers_models(session, ollama):
    assert session.handle("models", {"options": {"ollama_host": ollama.url, "model": "tiny"}}) == {
        "models": ["tiny:latest", "other:7b"],
        "remote": {},
        "host": ollama.url,
        "model": "tiny",  # the options in effect, for the front's prompt
        "allow_remote": False,
        "state": None,
    }
    bare = ollama.url.removeprefix("http://")
    assert session.handle("models", {"options": {"ollama_host": bare}})["models"] == ["tiny:latest", "other:7b"]


def test_models_of_an_empty_server_says_what_to_pull(session):
    with FakeOllama(models=()) as empty:
        r = session.handle("models", {"options": {"ollama_host": empty.url}})
    assert (r["models"], r["model"]) == ([], "llama3.2")  # the default model
    assert r["info"] == [f"the Ollama server at {empty.url} has no models: `ollama pull llama3.2`"]


def test_models_without_a_server(session):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(WorkflowError) as info:
        session.handle("models", {"options": {"ollama_host": url}})
    assert (
        str(info.value)
        == f"nothing is listening at {url}: start Ollama (`ollama serve`), or install it from https://ollama.com/download"
    )


def test_a_flood_of_notes_shows_and_saves_only_the_limit(session, ollama, messages, env):
    buffer_step = outline_of_a_run(session, env)
    run = session.run
    assert run is not None
    ollama.script = Script(chunks=flood(3_000))
    ask(session, ollama, lines=OUTLINE, buffer_step=buffer_step)
    done = annotation_done(messages, 1)
    assert (done["dropped"], done["summary"]) == (2_800, "Many notes.")
    sent = [n for m in messages if "annotation" in m for n in m["annotation"]["notes"]]
    assert len(sent) == MAX_NOTES
    saved = json.loads((run.dir / "02-outline.notes.json").read_text(encoding="utf-8"))
    assert (len(saved["notes"]), saved["dropped"]) == (MAX_NOTES, 2_800)
