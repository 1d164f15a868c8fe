"""The protocol in Vim's JSON framing, with no editor: ``python -m workflow_nvim serve --json`` over pipes.

Vim's channel in "json" mode (``:help channel-use``) sends ``[id, expr]`` lines, ids from 1, and
expects ``[id, response]``; what the server sends of its own accord is ``[0, push]``, which Vim
hands to the channel's callback. The requests are the msgpack-RPC ones wrapped in a dict:
``{"method": m, "params": [...]}``. tests/e2e/test_vim_channel.py speaks it from a real Vim.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import dependencies, protocol, server

from tests.unit.conftest import BLOG, Git

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "rplugin" / "python3"
DEADLINE = 20.0  # seconds: generous, for a loaded machine; nothing here is a timing assertion


class VimFront:
    """What a Vim front does, without Vim: the server as a child over pipes, one JSON message a line."""

    def __init__(self, tmp_path: Path, python: tuple[str, ...] = (sys.executable,)) -> None:
        self.log_file = tmp_path / "state" / "workflow.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR), os.environ.get("PYTHONPATH", "")])}
        self.stderr_file = tmp_path / "stderr.txt"
        self.stderr = self.stderr_file.open("wb")
        self.process = subprocess.Popen(
            [*python, "-m", "workflow_nvim", "serve", "--json", "--log", str(self.log_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )
        self._pending = b""
        self._next_id = 0
        self.lines: list[bytes] = []  # every line the server wrote, as it wrote it
        self.answers: dict[int, Any] = {}
        self.pushes: list[Any] = []  # the messages with id 0, in order

    @property
    def pid(self) -> int:
        return self.process.pid

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_bytes(json.dumps(message).encode() + b"\n")  # as Vim's json_encode, one a line

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def read(self, until: float) -> bool:
        """Take in what arrives before ``until``; False at the deadline."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return False
        data = os.read(fd, 1 << 16)
        if not data:
            raise EOFError("the server closed its output")
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self.lines.append(line)
            msgid, body = json.loads(line.decode("utf-8", "surrogateescape"))
            if msgid == 0:
                self.pushes.append(body)
            else:
                assert msgid not in self.answers, f"two answers to {msgid}"
                self.answers[msgid] = body
        return True

    def answer(self, msgid: int) -> Any:
        until = time.monotonic() + DEADLINE
        while msgid not in self.answers:
            if not self.read(until):
                raise AssertionError(f"no answer to {msgid} within {DEADLINE} s")
        return self.answers[msgid]

    def request(self, method: str, *params: Any) -> Any:
        msgid = self.new_id()
        self.send([msgid, {"method": method, "params": list(params)}])
        return self.answer(msgid)

    def hello(self, version: int = protocol.PROTOCOL) -> Any:
        return self.request("hello", {"protocol": version, "front": "vim", "version": "9.0"})

    def command(self, name: str, params: dict[str, Any]) -> Any:
        return self.request("command", name, params)

    def wait_push(self, key: str) -> dict[str, Any]:
        until = time.monotonic() + DEADLINE
        while True:
            for push in self.pushes:
                if key in push:
                    return push  # type: ignore[no-any-return]
            if not self.read(until):
                raise AssertionError(f"no push with {key!r} within {DEADLINE} s; pushes: {self.pushes!r}")

    def close_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def wait_exit(self) -> int:
        return self.process.wait(DEADLINE)

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()


@pytest.fixture
def front(tmp_path: Path) -> Iterator[VimFront]:
    f = VimFront(tmp_path)
    yield f
    f.stop()


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Any]:
    """The Params every command carries, in a project with the blog workflow."""
    cwd = tmp_path / "work"
    (cwd / ".workflows").mkdir(parents=True)
    (cwd / ".workflows" / "blog.yaml").write_text(BLOG, encoding="utf-8")
    return {
        "cwd": str(cwd),
        "options": {"runs_dir": str(tmp_path / "runs")},
        "editor_pid": os.getpid(),
    }


def wait_until(predicate: Any, what: str) -> Any:
    until = time.monotonic() + DEADLINE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"{what}: not within {DEADLINE} s")
        time.sleep(0.02)


# -- requests, answers, pushes ----------------------------------------------------


def test_hello_is_answered_with_the_id_vim_gave_it(front: VimFront) -> None:
    welcome = front.hello()
    assert welcome["protocol"] == protocol.PROTOCOL
    assert welcome["python"] == sys.executable
    assert welcome["pid"] == front.pid
    assert welcome["missing"] == dependencies.missing()
    assert "error" not in welcome and "problem" not in welcome
    # One message a line, and nothing else on the channel.
    assert front.lines[0].startswith(b"[1,{") and front.lines[0].endswith(b"}]")
    # A lone argument may be given without its list: {"method": "hello", "params": {...}}.
    front.send([7, {"method": "hello", "params": {"protocol": protocol.PROTOCOL, "front": "vim"}}])
    assert front.answer(7)["pid"] == front.pid
    front.close_input()
    assert front.wait_exit() == 0
    lines = front.log().splitlines()
    assert f"hello from vim 9.0 (protocol {protocol.PROTOCOL})" in lines[0]
    assert "the editor closed the channel: exiting" in lines[-1]


def test_a_run_started_completed_and_its_commit_pushed_with_id_zero(
    front: VimFront, where: dict[str, Any], git: Git
) -> None:
    front.hello()
    started = front.command("start", {**where, "args": ["blog"]})
    assert "error" not in started, started
    step = started["open"]
    path = Path(step["path"])
    assert (step["id"], step["index"], step["total"]) == ("topic", 1, 3)
    assert step["instructions"] == ["Write the topic in one line."]
    assert started["events"][0]["name"] == "WorkflowStarted"

    path.write_text("Trains\n", encoding="utf-8")  # what the editor saved
    here = {**where, "buffer_step": {"run": step["run"], "id": "topic"}, "run_dir": started["state"]["dir"]}
    answer = front.command("next", here)
    assert answer["committing"] == str(path)
    assert answer["open"]["instructions"][0] == "Outline the post about Trains."

    pushed = front.wait_push("committed")
    assert pushed["committed"] == str(path)
    assert "error" not in pushed
    assert [e["name"] for e in pushed["events"]] == ["WorkflowStepCompleted"]
    assert sum(line.startswith(b"[0,") for line in front.lines) == len(front.pushes) == 1
    assert git(path.parent, "log", "--format=%s") == "blog: 1/3 Pick a topic"

    status = front.command("status", here)
    assert status["state"]["steps"][0]["done"] is True
    assert front.request("complete", "steps", "", {**here, "args": ["goto"]}) == ["topic", "1", "outline", "2"]
    assert front.request("complete", "workflows", "bl", where) == ["blog", "blog-post"]


def test_requests_split_across_writes_or_sent_together_are_answered_in_order(front: VimFront) -> None:
    hello = json.dumps([1, {"method": "hello", "params": [{"protocol": protocol.PROTOCOL}]}]).encode()
    front.send_bytes(hello[:5])
    time.sleep(0.05)  # the server reads the first part alone (not a timing assertion)
    front.send_bytes(hello[5:] + b"\n")
    assert front.answer(1)["pid"] == front.pid
    two = [[2, {"method": "complete", "params": ["nothing", ""]}], [3, {"method": "hello", "params": [{}]}]]
    front.send_bytes(b"\n".join(json.dumps(m).encode() for m in two) + b"\n")
    assert front.answer(3)["protocol"] == protocol.PROTOCOL
    assert front.answer(2) == []
    assert list(front.answers) == [1, 2, 3]


def test_a_large_message_is_read_in_many_parts_and_answered(front: VimFront) -> None:
    # A long buffer to annotate is one line of many megabytes, read 64 KiB at a time.
    hello = {"protocol": protocol.PROTOCOL, "front": "vim", "version": "é" * (8 << 20)}
    assert front.request("hello", hello)["pid"] == front.pid


def test_bytes_that_are_not_utf8_come_back_as_they_were_sent(front: VimFront) -> None:
    # As over msgpack-RPC: Vim reads a JSON string's bytes as they are, so a name that is not
    # UTF-8 (a file name, say) comes back to it unchanged, not as \udcff escapes.
    front.hello()
    front.send_bytes(b'[9,{"method":"command","params":["caf\xe9",{}]}]\n')
    assert front.answer(9)["error"] == "unknown command 'caf\udce9': try :Workflow <Tab>"
    assert b"'caf\xe9'" in front.lines[-1]


def test_without_msgpack_json_mode_still_answers_and_says_what_is_missing(tmp_path: Path) -> None:
    # -S: no site-packages, so no msgpack (nor yaml, nor git). msgpack-RPC cannot even be read
    # then (status 3, a line on stderr); JSON can: hello says what to install, as one line.
    front = VimFront(tmp_path, python=(sys.executable, "-S"))
    try:
        welcome = front.hello()
        assert "msgpack" in welcome["required_missing"]
        assert welcome["problem"].startswith("missing Python packages ")
        assert "run :WorkflowInstall" in welcome["problem"]
        answer = front.command("status", {})
        assert answer["error"].startswith("missing Python packages ") and "Traceback" not in front.log()
    finally:
        front.stop()


# -- what a broken front sends --------------------------------------------------


def test_an_unknown_method_is_an_error_answer_and_the_server_goes_on(front: VimFront) -> None:
    assert front.request("nvim_buf_get_lines", 0) == {
        "error": "no such method 'nvim_buf_get_lines' (methods: hello, command, complete)"
    }
    msgid = front.new_id()
    front.send([msgid, {"params": []}])
    assert front.answer(msgid) == {"error": "no such method 'None' (methods: hello, command, complete)"}
    assert front.hello()["pid"] == front.pid
    assert "Traceback" not in front.log()


def test_a_request_that_is_not_a_dict_is_answered_with_an_error(front: VimFront) -> None:
    # ch_evalexpr(ch, 'hello'): Vim waits for an answer to its id, and gets one line.
    front.send([5, "hello"])
    assert front.answer(5) == {"error": "not a request: 'hello'"}
    assert front.hello()["pid"] == front.pid


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param({"method": "hello"}, id="a dict"),
        pytest.param(42, id="a number"),
        pytest.param([], id="an empty list"),
        pytest.param([0, {"method": "hello", "params": [{}]}], id="id zero"),
        pytest.param([-1, {"method": "hello", "params": [{}]}], id="a negative id"),
        pytest.param(["ex", "qa!"], id="a channel command"),
        pytest.param([1, {"method": "hello"}, 3], id="three items"),
    ],
)
def test_a_message_that_is_not_a_request_is_logged_and_the_server_goes_on(front: VimFront, garbage: Any) -> None:
    front.hello()
    front.send(garbage)
    wait_until(lambda: "WARNING not a request" in front.log(), "the message logged")
    assert front.process.poll() is None, "the server died of it"
    assert front.hello()["pid"] == front.pid
    assert front.pushes == []
    assert len(front.answers) == 2  # the two hellos: nothing was answered for the message
    assert "Traceback" not in front.log()


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (b"not json\n", "(JSONDecodeError: Expecting value: line 1 column 1 (char 0))"),
        (b'[1, {"method": "hello"\n', "(JSONDecodeError: Expecting ',' delimiter"),
        (b"[" * 100_000 + b"\n", "(RecursionError"),
    ],
)
def test_a_line_that_is_not_json_closes_the_channel_in_one_logged_line(
    front: VimFront, line: bytes, logged: str
) -> None:
    # As msgpack-RPC does with bytes that are not msgpack: a front with a bug gets a new server.
    front.hello()
    front.send_bytes(line)
    assert front.wait_exit() == 2
    assert f"the editor sent what is not JSON {logged}" in front.log()
    assert "Traceback" not in front.log()


def test_a_message_over_the_size_limit_closes_the_channel_not_the_memory(front: VimFront) -> None:
    front.hello()
    with contextlib.suppress(BrokenPipeError):  # it may be gone before the last byte
        front.send_bytes(b'[2,{"method":"hello","params":["' + b"x" * (server.MAX_MESSAGE + 1))
    assert front.wait_exit() == 2
    assert "the editor sent what is not JSON (a message over 64 MiB)" in front.log()


def test_the_last_message_may_lack_its_newline_and_a_cut_one_is_no_error(front: VimFront) -> None:
    front.send_bytes(b'[1,{"method":"hello","params":[{}]}]')  # no newline: a script, not Vim
    front.close_input()
    assert front.answer(1)["pid"] == front.pid
    assert front.wait_exit() == 0


def test_input_cut_in_the_middle_of_a_message_is_a_closed_channel(front: VimFront) -> None:
    front.hello()
    front.send_bytes(b'[2,{"method":"hel')  # the editor died as it wrote
    front.close_input()
    assert front.wait_exit() == 0
    assert "the input ended in the middle of a message" in front.log()
    assert "the editor closed the channel: exiting" in front.log()


def test_an_unknown_argument_is_one_line_on_stderr(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "serve", "--jsn"],
        env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "serve: unknown argument '--jsn'; usage: serve [--json] [--log FILE]\n"


# -- lifetime -------------------------------------------------------------------


@pytest.mark.parametrize("leave", ["close", "sigterm"])  # Vim's job_stop() and 'stoponexit' send SIGTERM
def test_the_server_exits_when_vim_goes(front: VimFront, leave: str) -> None:
    front.hello()
    if leave == "close":
        front.close_input()
    else:
        front.process.send_signal(signal.SIGTERM)
    assert front.wait_exit() == 0
    assert front.process.stdout is not None and front.process.stdout.read() == b""


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param((signal.SIGTERM, signal.SIGTERM), id="job_stop then Vim's exit"),
        pytest.param((signal.SIGHUP, signal.SIGTERM), id="a closed terminal then the editor's exit"),
    ],
)
def test_a_second_signal_on_the_way_out_does_not_hang_the_server(tmp_path: Path, signals: tuple[int, int]) -> None:
    # The first signal's handler once logged, holding the log's lock while logging was imported:
    # a second signal then waited for that lock in the same thread, for ever.
    for attempt in range(3):
        (tmp_path / str(attempt)).mkdir()
        front = VimFront(tmp_path / str(attempt))
        try:
            front.hello()
            front.process.send_signal(signals[0])
            time.sleep(0.005)  # while the server is on its way out (not a timing assertion)
            front.process.send_signal(signals[1])
            assert front.wait_exit() == 0
            assert front.log().count(f"signal {signals[0]}: exiting") == 1
        finally:
            front.stop()


# -- the encoding ---------------------------------------------------------------


def test_what_json_cannot_carry_is_an_error_not_a_broken_line() -> None:
    assert server._encode([1, {"text": "caf\udce9 \u00e9"}]) == '[1,{"text":"caf\udce9 é"}]\n'.encode(
        "utf-8", "surrogateescape"
    )
    assert server._encode([0, {"text": "\ud800"}]) == b'[0,{"text":"\\ud800"}]\n'  # not a byte: escaped
    assert server._encode([0, b"caf\xe9"]) == b'[0,"caf\xe9"]\n'
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        server._encode([1, float("nan")])
    with pytest.raises(TypeError, match="set is not JSON"):
        server._encode([1, {1}])
