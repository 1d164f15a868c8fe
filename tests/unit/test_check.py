"""``check``: a buffer's text as a workflow file, through the real server (msgpack-RPC and --json).

The front sends the buffer's lines, its file name and b:changedtick; ``:WorkflowCheck`` waits for
the Diagnostics and a line for the person, typing (``live``) gets ``{}`` at once and the
Diagnostics pushed when the background check is done (protocol.Diagnostics).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from workflow_nvim import protocol
from workflow_nvim.diagnostics import LiveChecks

from tests.unit.conftest import BLOG
from tests.unit.test_server import Front
from tests.unit.test_server_json import VimFront

# BLOG with a typo in step 2's key and a reference to a later step in step 1's template.
BROKEN = BLOG.replace("    title: Outline\n", "    tilte: Outline\n").replace("# Topic", "# Topic ${draft}")


def lines_of(text: str) -> list[str]:
    return text.splitlines()


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    f = Front(tmp_path)
    f.hello()
    yield f
    f.stop()


@pytest.fixture
def vim_front(tmp_path: Path) -> Iterator[VimFront]:
    f = VimFront(tmp_path)
    f.hello()
    yield f
    f.stop()


def params(text: str, path: str = "/project/.workflows/blog.yaml", **more: Any) -> dict[str, Any]:
    return {"buf": 3, "tick": 7, "path": path, "lines": lines_of(text), **more}


def located(diagnostics: dict[str, Any]) -> list[tuple[int, int, str, str]]:
    return [(d["line"], d["col"], d["severity"], d["message"]) for d in diagnostics["items"]]


def test_check_answers_the_typo_and_the_forward_reference_on_their_lines(front: Front) -> None:
    answer = front.command("check", params(BROKEN))
    found = answer["diagnostics"]
    assert (found["buf"], found["tick"], found["path"]) == (3, 7, "/project/.workflows/blog.yaml")
    assert located(found) == [
        (
            11,
            15,
            "error",
            "'template' of step 'topic' refers to 'draft', which is a later step (step 3): "
            "a step can only use the text of earlier steps",
        ),
        (12, 5, "error", "step 2 is missing the required key 'title'"),
        (
            13,
            5,
            "error",
            "unknown key 'tilte', did you mean 'title'? "
            "(keys of step 2: id, title, instructions, template, filetype, annotate, model, "
            "check, run, autorun, optional)",
        ),
    ]
    assert answer["error"] == f"3 errors: line 11: {found['items'][0]['message']}"
    assert "info" not in answer and "warning" not in answer


def test_check_of_a_valid_text_says_ok_with_the_name_and_the_steps(front: Front) -> None:
    answer = front.command("check", params(BLOG))
    assert answer["diagnostics"]["items"] == []
    assert answer["diagnostics"]["summary"] == "ok: blog, 3 steps"
    assert answer["info"] == ["ok: blog, 3 steps"]
    assert "error" not in answer and "warning" not in answer


def test_the_buffers_text_is_checked_not_the_file_and_its_name_is_the_files(front: Front, tmp_path: Path) -> None:
    saved = tmp_path / "essay.yaml"
    saved.write_text(BLOG, encoding="utf-8")  # valid as saved, but named blog
    answer = front.command("check", params(BLOG, path=str(saved)))
    [(line, col, severity, message)] = located(answer["diagnostics"])
    assert (line, col, severity) == (1, 7, "error")
    assert message == (
        "name 'blog' differs from the file name 'essay.yaml': rename the file to blog.yaml or the name to essay"
    )
    # A buffer of no file has no file name to agree with.
    assert front.command("check", params(BLOG, path=""))["info"] == ["ok: blog, 3 steps"]
    # Without lines, the file as saved.
    assert front.command("check", {"buf": 1, "path": str(saved)})["diagnostics"]["items"][0]["line"] == 1


def test_a_syntax_error_and_an_empty_buffer_are_one_diagnostic_each(front: Front) -> None:
    answer = front.command("check", params("title: x\nsteps:\n  - id: a\n   title: b\n"))
    [(line, _, severity, message)] = located(answer["diagnostics"])
    assert (line, severity) == (4, "error") and message.startswith("YAML syntax error: ")
    empty = front.command("check", params(""))
    assert located(empty["diagnostics"]) == [(1, 1, "error", "file is empty: a workflow needs a title and steps")]


def test_columns_are_bytes_as_the_editor_counts_them(front: Front) -> None:
    text = BLOG.replace("title: Outline", "title: Outline ¿é?").replace("about ${topic}.", "¿é? ${nope} é")
    [item] = front.command("check", params(text))["diagnostics"]["items"]
    line = lines_of(text)[item["line"] - 1].encode()
    assert line[item["col"] - 1 : item["end_col"] - 1] == b"${nope}"  # the end, exclusive, where it ends


def test_a_key_or_value_on_one_line_ends_where_it_ends_a_block_at_the_end_of_the_line(front: Front) -> None:
    items = front.command("check", params(BROKEN))["diagnostics"]["items"]
    typo = next(i for i in items if i["message"].startswith("unknown key"))
    assert (typo["col"], typo["end_col"]) == (5, 10)  # tilte
    missing = next(i for i in items if i["message"].startswith("step 2 is missing"))
    assert "end_col" not in missing  # the step's mapping spans lines: to the end of the line


def test_live_answers_at_once_and_pushes_the_diagnostics(front: Front) -> None:
    answer = front.command("check", params(BROKEN, live=True, tick=12))
    assert {k: v for k, v in answer.items() if k != "state"} == {}
    pushed = front.wait_push("diagnostics")["diagnostics"]
    assert (pushed["buf"], pushed["tick"]) == (3, 12)
    assert [d["line"] for d in pushed["items"]] == [11, 12, 13]
    assert pushed["summary"].startswith("3 errors: line 11: ")
    assert list(front.wait_push("diagnostics")) == ["diagnostics"]  # no message for the person


def test_live_in_vims_json_pushes_with_id_zero(vim_front: VimFront) -> None:
    answer = vim_front.command("check", params(BLOG, live=True))
    assert answer.get("error") is None and "diagnostics" not in answer
    pushed = vim_front.wait_push("diagnostics")["diagnostics"]
    assert pushed["items"] == [] and pushed["summary"] == "ok: blog, 3 steps"
    assert any(line.startswith(b'[0,{"diagnostics":') for line in vim_front.lines)
    # :WorkflowCheck in Vim: the same answer as Neovim's.
    broken = vim_front.command("check", params(BROKEN))
    assert [d["line"] for d in broken["diagnostics"]["items"]] == [11, 12, 13]


def test_only_the_newest_waiting_text_of_a_buffer_is_checked() -> None:
    pushed: list[protocol.Diagnostics] = []
    first_pushed, go_on = threading.Event(), threading.Event()

    def push(message: dict[str, Any]) -> None:
        pushed.append(message["diagnostics"])
        first_pushed.set()
        go_on.wait(20)

    live = LiveChecks(push)
    live.submit(params(BROKEN, tick=1))
    assert first_pushed.wait(20)  # the thread is now busy pushing tick 1
    for tick in (2, 3, 4):
        live.submit(params(BROKEN, tick=tick))
    live.submit(params(BLOG, buf=5, tick=1))
    live.submit(params(BLOG, tick=5))  # buffer 3 again: its waiting tick 4 is dropped, it goes after 5
    go_on.set()
    deadline = threading.Event()
    for _ in range(400):
        if len(pushed) >= 3:
            break
        deadline.wait(0.05)
    assert [(d["buf"], d["tick"]) for d in pushed] == [(3, 1), (5, 1), (3, 5)]
    assert pushed[2]["summary"] == "ok: blog, 3 steps"


def test_a_byte_that_is_not_utf8_is_one_diagnostic_where_it_is(front: Front) -> None:
    # Neovim sends a line holding a byte that is not UTF-8 as a msgpack str with that byte in it.
    lines = ["title: x", "steps: caf" + b"\xe9".decode("utf-8", "surrogateescape")]
    packer = msgpack.Packer(unicode_errors="surrogateescape", use_bin_type=True)
    front.send_bytes(packer.pack([0, 99, "command", ["check", {"buf": 2, "lines": lines}]]))
    until = time.monotonic() + 20
    answer = None
    while answer is None and time.monotonic() < until:
        for message in front._read(until):
            answer = front._take(message) or answer
    assert answer is not None and answer[1] == 99
    assert located(answer[3]["diagnostics"]) == [(2, 11, "error", "byte 0xe9 is not UTF-8: save the file as UTF-8")]


def test_only_warnings_are_said_as_a_warning_with_ok(front: Front) -> None:
    text = BLOG.replace("      # Topic\n", "      # Topic\n\n      Reader:\n")  # topic now has several lines
    answer = front.command("check", params(text))
    items = answer["diagnostics"]["items"]
    # "Outline the post about ${topic}." and "Outline for: ${topic}"
    assert [(i["line"], i["severity"]) for i in items] == [(17, "warning"), (19, "warning")]
    assert items[0]["message"].startswith("'${topic}' pastes the lines of step 'topic'")
    assert answer["warning"] == f"ok: blog, 3 steps; 2 warnings: line 17: {items[0]['message']}"
    assert "error" not in answer and "info" not in answer
