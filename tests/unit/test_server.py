"""The protocol, with no editor at all: ``python -m workflow_nvim serve`` as a child over pipes.

Each test starts the real server the way a front does (``jobstart(..., {rpc = true})``: its
stdin and stdout are the channel, ``--log`` names the log file) and speaks msgpack-RPC with it
through the ``msgpack`` package: requests ``[0, id, method, params]``, answers ``[1, id, error,
result]``, and the notifications it pushes, ``[2, "nvim_exec_lua", [code, [push]]]``.
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

import msgpack
import pytest
from workflow_nvim import dependencies, protocol, server

from tests.processes import git_commits_running_in
from tests.unit.conftest import BLOG, Git

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "rplugin" / "python3"
DEADLINE = 20.0  # seconds: generous, for a loaded machine; nothing here is a timing assertion


class Reply(Exception):
    """An error answer: ``[1, id, error, None]``."""


class Front:
    """A front with no editor: the server as a child over pipes, and what it said."""

    def __init__(self, tmp_path: Path, flags: tuple[str, ...] = ()) -> None:
        self.log_file = tmp_path / "state" / "workflow.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR), os.environ.get("PYTHONPATH", "")])}
        self.stderr_file = tmp_path / "stderr.txt"
        self.stderr = self.stderr_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, *flags, "-m", "workflow_nvim", "serve", "--log", str(self.log_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )
        self._unpacker = msgpack.Unpacker(raw=False)
        self._next_id = 0
        self.pushes: list[dict[str, Any]] = []  # what came as nvim_exec_lua notifications, in order
        self.notifications: list[Any] = []  # every notification, whole

    @property
    def pid(self) -> int:
        return self.process.pid

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_bytes(msgpack.packb(message, use_bin_type=True))

    def _read(self, until: float) -> list[Any]:
        """The messages that arrive before ``until`` (at least one read's worth); [] at the deadline."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
            if not ready:
                return []
            data = os.read(fd, 1 << 16)
            if not data:
                raise EOFError("the server closed its output")
            self._unpacker.feed(data)
            messages = list(self._unpacker)
            if messages:
                return messages

    def _take(self, message: Any) -> Any:
        if message[0] == 2:
            self.notifications.append(message)
            method, args = message[1], message[2]
            if method == "nvim_exec_lua" and len(args) == 2 and len(args[1]) == 1:
                self.pushes.append(args[1][0])
            return None
        return message

    def request(self, method: str, *params: Any) -> Any:
        """Send a request and return its result; raise Reply with the error when it failed."""
        self._next_id += 1
        msgid = self._next_id
        self.send([0, msgid, method, list(params)])
        until = time.monotonic() + DEADLINE
        while time.monotonic() < until:
            for message in self._read(until):
                answer = self._take(message)
                if answer is not None:
                    assert answer[0] == 1 and answer[1] == msgid, f"not the answer to {msgid}: {answer!r}"
                    if answer[2] is not None:
                        raise Reply(answer[2])
                    return answer[3]
        raise AssertionError(f"no answer to {method} within {DEADLINE} s")

    def hello(self, version: int = protocol.PROTOCOL) -> Any:
        return self.request("hello", {"protocol": version, "front": "test", "version": "0"})

    def command(self, name: str, params: dict[str, Any]) -> Any:
        return self.request("command", name, params)

    def wait_push(self, key: str) -> dict[str, Any]:
        """The first pushed message carrying ``key`` (waiting for it)."""
        until = time.monotonic() + DEADLINE
        while True:
            for push in self.pushes:
                if key in push:
                    return push
            if time.monotonic() > until:
                raise AssertionError(f"no push with {key!r} within {DEADLINE} s; pushes: {self.pushes!r}")
            for message in self._read(until):
                self._take(message)

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
def front(tmp_path: Path) -> Iterator[Front]:
    f = Front(tmp_path)
    yield f
    f.stop()


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Any]:
    """The Params every command carries (host.lua's M.params), in a project with the blog workflow."""
    cwd = tmp_path / "work"
    (cwd / ".workflows").mkdir(parents=True)
    (cwd / ".workflows" / "blog.yaml").write_text(BLOG, encoding="utf-8")
    return {
        "cwd": str(cwd),
        "options": {"runs_dir": str(tmp_path / "runs")},  # vim.g.workflow as the person set it
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


# -- hello and versions ---------------------------------------------------------


def test_hello_says_the_protocol_the_python_and_what_it_lacks(front: Front) -> None:
    welcome = front.hello()
    assert welcome["protocol"] == protocol.PROTOCOL
    assert welcome["python"] == sys.executable
    assert welcome["python_version"] == sys.version.split()[0]
    assert welcome["pid"] == front.pid
    assert welcome["missing"] == dependencies.missing()  # the same interpreter as this test's
    assert welcome["required_missing"] == []
    assert "error" not in welcome and "problem" not in welcome
    front.close_input()
    assert front.wait_exit() == 0
    # INFO lines are written by the time the server exits (logs.py), in order, with their own times
    lines = front.log().splitlines()
    assert f"hello from test 0 (protocol {protocol.PROTOCOL})" in lines[0] and "INFO" in lines[0]
    assert "the editor closed the channel: exiting" in lines[-1]


def test_a_warning_writes_the_info_lines_before_it_at_once(front: Front) -> None:
    front.hello()
    front.send([7])  # not a request: a warning
    wait_until(lambda: "WARNING" in front.log(), "the message logged")
    lines = front.log().splitlines()
    assert "hello from test" in lines[0] and "WARNING unexpected message: [7]" in lines[1]


def test_a_front_of_another_protocol_version_gets_one_line_and_nothing_else(
    front: Front, where: dict[str, Any]
) -> None:
    welcome = front.hello(protocol.PROTOCOL + 1)
    line = welcome["error"]
    assert "\n" not in line
    assert line.startswith(f"protocol {protocol.PROTOCOL + 1} in the editor, {protocol.PROTOCOL} in Python: ")
    assert "update the plugin" in line and len(f"[workflow] {line}") <= 80
    assert welcome["protocol"] == protocol.PROTOCOL  # it still says which it speaks
    # Every later request is refused with the same line, and nothing runs.
    assert front.command("start", {**where, "args": ["blog"]}) == {"error": line}
    assert front.request("complete", "workflows", "", where) == {"error": line}
    assert not Path(where["options"]["runs_dir"]).exists()
    # A hello of the right version is heard again.
    assert "error" not in front.hello()
    assert front.command("status", where)["error"].startswith("no workflow is running")


# -- a run over the protocol ----------------------------------------------------


def test_a_run_started_completed_and_pushed_back(front: Front, where: dict[str, Any], git: Git) -> None:
    front.hello()
    started = front.command("start", {**where, "args": ["blog"]})
    assert "error" not in started, started
    step = started["open"]
    path = Path(step["path"])
    assert path.parent.parent == Path(where["options"]["runs_dir"])
    assert (step["id"], step["index"], step["total"], step["title"]) == ("topic", 1, 3, "Pick a topic")
    assert step["instructions"] == ["Write the topic in one line."]
    assert path.read_text(encoding="utf-8") == "# Topic\n"
    state = started["state"]
    assert (state["workflow"], state["step"], state["dir"]) == ("blog", 1, str(path.parent))
    assert started["events"][0]["name"] == "WorkflowStarted"

    path.write_text("Trains\n", encoding="utf-8")  # what the editor saved
    here = {**where, "buffer_step": {"run": step["run"], "id": "topic"}, "run_dir": state["dir"]}
    answer = front.command("next", here)
    assert answer["committing"] == str(path)
    assert answer["open"]["id"] == "outline"
    assert answer["open"]["instructions"][0] == "Outline the post about Trains."

    # The commit's outcome comes later, pushed as a call of host.receive on this channel only.
    pushed = front.wait_push("committed")
    assert pushed["committed"] == str(path)
    assert "error" not in pushed
    assert [e["name"] for e in pushed["events"]] == ["WorkflowStepCompleted"]
    (method, (code, args)) = front.notifications[0][1:]
    assert (method, code) == ("nvim_exec_lua", "require('workflow.host').receive(...)")
    assert args == [pushed]
    assert git(path.parent, "log", "--format=%s") == "blog: 1/3 Pick a topic"
    assert git(path.parent, "show", "HEAD:01-topic.md") == "Trains"

    status = front.command("status", here)
    assert "error" not in status
    assert status["state"]["steps"][0]["done"] is True
    assert any("1/3" in line for line in status["info"]), status["info"]


def test_completion_of_workflows_steps_and_runs(front: Front, where: dict[str, Any]) -> None:
    front.hello()
    assert "blog" in front.request("complete", "workflows", "", where)
    assert "tutorial" in front.request("complete", "workflows", "", where)  # the bundled ones too
    assert front.request("complete", "workflows", "bl", where) == ["blog", "blog-post"]  # the project's, a bundled
    assert front.request("complete", "steps", "", {**where, "args": ["goto"]}) == []  # no run yet
    started = front.command("start", {**where, "args": ["blog"]})
    run_id = started["open"]["run"]
    # goto offers the steps done and the first not done, in step order: here only the first, by id and number
    assert front.request("complete", "steps", "", {**where, "args": ["goto"]}) == ["topic", "1"]
    assert front.request("complete", "steps", "", {**where, "args": ["revert"]}) == []
    assert front.request("complete", "runs", "", where) == []  # not the run open here
    front.command("stop", where)
    assert front.request("complete", "runs", "", where) == [run_id]
    assert front.request("complete", "runs", "x", where) == []
    assert front.request("complete", "nothing", "", where) == []


# -- what a broken front sends --------------------------------------------------


def test_an_unknown_method_is_an_error_answer_and_the_server_goes_on(front: Front) -> None:
    with pytest.raises(Reply) as info:
        front.request("nvim_buf_get_lines", 0, 0, -1, False)
    assert str(info.value) == "no such method 'nvim_buf_get_lines' (methods: hello, command, complete)"
    with pytest.raises(Reply) as info:
        front.request(5)  # type: ignore[arg-type]
    assert str(info.value) == "no such method '5' (methods: hello, command, complete)"
    assert front.hello()["pid"] == front.pid
    assert "Traceback" not in front.log()


def test_an_unknown_command_is_a_one_line_error(front: Front, where: dict[str, Any]) -> None:
    front.hello()
    answer = front.command("jump", where)
    assert answer["error"] == "unknown command 'jump': try :Workflow <Tab>"
    assert answer["state"] is None


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param({"not": "a list"}, id="a map"),
        pytest.param(42, id="a number"),
        pytest.param([], id="an empty list"),
        pytest.param([0, 1, "hello"], id="a request of three"),
        pytest.param([1, 7, None, "an answer to nothing"], id="an answer"),
        pytest.param([7, "x", []], id="an unknown type"),
        pytest.param([2, "nvim_error_event", [0, "what Neovim says of a bad notification"]], id="an error event"),
    ],
)
def test_a_message_that_is_not_a_request_is_logged_and_the_server_goes_on(front: Front, garbage: Any) -> None:
    front.hello()
    front.send(garbage)
    wait_until(lambda: "WARNING" in front.log(), "the message logged")
    assert front.process.poll() is None, "the server died of it"
    assert front.hello()["pid"] == front.pid
    assert front.pushes == []
    assert "Traceback" not in front.log()


def test_bytes_that_are_not_msgpack_close_the_channel_in_one_logged_line(front: Front) -> None:
    # Where the next message would start is lost: the server leaves, as Neovim closes such a
    # channel, and the front starts a new one at the next command (tests/e2e/test_errors.py).
    front.hello()
    front.send_bytes(b"\xc1 not msgpack")
    assert front.wait_exit() == 2
    assert "the editor sent what is not msgpack-RPC (FormatError" in front.log()
    assert "Traceback" not in front.log()


def test_a_message_over_the_size_limit_closes_the_channel_not_the_memory(front: Front) -> None:
    from workflow_nvim.server import MAX_MESSAGE

    front.hello()
    with contextlib.suppress(BrokenPipeError):  # it may be gone before the last byte
        front.send([0, 99, "hello", ["x" * (MAX_MESSAGE + 1)]])
    assert front.wait_exit() == 2
    assert "the editor sent what is not msgpack-RPC (BufferFull)" in front.log()


# -- stray output ---------------------------------------------------------------


def test_a_git_hook_that_prints_and_reads_cannot_touch_the_channel(
    front: Front, where: dict[str, Any], project: Path, tmp_path: Path, git: Git
) -> None:
    hook = project / ".git" / "hooks" / "pre-commit"
    heard = tmp_path / "what-the-hook-read"
    hook.write_text(
        "#!/bin/sh\n"
        "echo 'the hook talks on stdout'\n"
        "head -c 200000 /dev/zero | tr '\\0' x\n"  # more than a pipe holds
        f"cat > '{heard}'\n"  # and reads its stdin to the end
        "echo 'and on stderr' >&2\n"
    )
    hook.chmod(0o755)
    front.hello()
    here = {**where, "options": {"runs_dir": str(project / ".workflow-runs")}}
    started = front.command("start", {**here, "args": ["blog"]})
    path = Path(started["open"]["path"])
    path.write_text("# Topic\nBoats\n", encoding="utf-8")
    here |= {"buffer_step": {"run": started["open"]["run"], "id": "topic"}, "run_dir": started["state"]["dir"]}
    assert front.command("next", here)["open"]["id"] == "outline"
    pushed = front.wait_push("committed")
    assert "error" not in pushed, pushed
    assert git(project, "log", "-1", "--format=%s") == "blog: 1/3 Pick a topic"
    assert heard.read_bytes() == b""  # nothing of the editor's messages
    # Every message after the hook's words decodes, and the server answers as before.
    assert front.command("status", here)["state"]["steps"][0]["done"] is True
    assert all(m[0] == 2 and m[1] == "nvim_exec_lua" for m in front.notifications)


# -- lifetime -------------------------------------------------------------------


def slow_commit_in_flight(front: Front, where: dict[str, Any], project: Path, tmp_path: Path) -> Path:
    """A run in ``project`` whose first step commit is stuck in a pre-commit hook; the marker holds its pid."""
    marker = tmp_path / "hook-pid"
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho $$ > '{marker}.new' && mv '{marker}.new' '{marker}'\nexec sleep 60\n")
    hook.chmod(0o755)
    front.hello()
    here = {**where, "options": {"runs_dir": str(project / ".workflow-runs")}}
    started = front.command("start", {**here, "args": ["blog"]})
    Path(started["open"]["path"]).write_text("# Topic\nKites\n", encoding="utf-8")
    here |= {"buffer_step": {"run": started["open"]["run"], "id": "topic"}, "run_dir": started["state"]["dir"]}
    front.command("next", here)
    wait_until(marker.exists, "the hook started")
    assert git_commits_running_in(project)
    return marker


@pytest.mark.parametrize(
    ("leave", "logged"),
    [
        ("close", "the editor closed the channel: exiting"),  # the editor is gone
        ("sigterm", "signal 15: exiting"),  # what Neovim sends its jobs when it exits
    ],
)
def test_the_server_exits_when_the_editor_goes_and_stops_its_git(
    front: Front, where: dict[str, Any], project: Path, tmp_path: Path, git: Git, leave: str, logged: str
) -> None:
    head = git(project, "rev-parse", "HEAD")
    marker = slow_commit_in_flight(front, where, project, tmp_path)
    try:
        if leave == "close":
            front.close_input()
        else:
            front.process.send_signal(signal.SIGTERM)
        assert front.wait_exit() == 0
        wait_until(lambda: not git_commits_running_in(project), "the step commit stopped")
        assert git(project, "rev-parse", "HEAD") == head  # it did not land behind the next start's back
        assert git(project, "diff", "--cached", "--name-only") == ""  # nothing of the run staged
        assert logged in front.log()
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError, OSError):
            os.kill(int(marker.read_text()), signal.SIGKILL)  # the hook git left behind


def test_an_idle_server_exits_at_once_when_its_input_closes(front: Front) -> None:
    front.hello()
    front.close_input()
    assert front.wait_exit() == 0
    assert front.process.stdout is not None and front.process.stdout.read() == b""  # nothing after the answers


def test_a_command_imports_the_core_and_nothing_heavy(tmp_path: Path, where: dict[str, Any]) -> None:
    """The server's first command pays for what it needs: not git (GitPython), not ollama, not the
    annotation modules or the network, which the commands that use them import."""
    front = Front(tmp_path, flags=("-X", "importtime"))
    try:
        front.hello()
        assert front.command("status", where)["error"].startswith("no workflow is running")
        front.close_input()
        assert front.wait_exit() == 0
        # -X importtime writes one line per module on stderr, which the server moves to its log.
        text = front.stderr_file.read_text() + front.log()
        imported = {line.rsplit("|", 1)[1].strip() for line in text.splitlines() if line.startswith("import time:")}
    finally:
        front.stop()
    assert {"workflow_nvim.session", "workflow_nvim.run", "workflow_nvim.spec"} <= imported
    heavy = ("git", "ollama", "httpx", "workflow_nvim.annotate", "workflow_nvim.destination", "socket", "subprocess")
    assert sorted(imported & set(heavy)) == []
    assert "pynvim" not in imported and "argparse" not in imported
    assert "yaml" not in imported  # no workflow file was read


def imports_of(front: Front) -> list[set[str]]:
    """The modules the server imported so far (-X importtime writes them on its stderr, which the
    server moves to its log)."""
    text = front.stderr_file.read_text() + front.log()
    return [{line.rsplit("|", 1)[1].strip() for line in text.splitlines() if line.startswith("import time:")}]


def test_hello_imports_no_dataclasses_nor_yaml(tmp_path: Path) -> None:
    """The editor waits for hello before its first command: it costs the imports it needs."""
    front = Front(tmp_path, flags=("-X", "importtime"))
    try:
        front.hello()
        [imported] = imports_of(front)  # -X importtime writes each line as the module is imported
    finally:
        front.stop()
    assert "workflow_nvim.server" in imported
    assert sorted(imported & {"dataclasses", "inspect", "logging", "yaml", "workflow_nvim.session"}) == []


def test_starting_a_workflow_validated_before_imports_no_yaml(
    tmp_path: Path, where: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin's cache keeps the validated workflow: the next editor's start skips PyYAML."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    imported = []
    for _ in range(2):
        front = Front(tmp_path, flags=("-X", "importtime"))
        try:
            front.hello()
            assert front.command("start", {**where, "args": ["blog"]})["open"]["id"] == "topic"
            front.command("stop", where)
            front.close_input()
            assert front.wait_exit() == 0
            [modules] = imports_of(front)
            imported.append("yaml" in modules)
        finally:
            front.stop()
        front.log_file.unlink()
        front.stderr_file.unlink()
    assert imported == [True, False]
    assert len(list((tmp_path / "cache" / "workflow.nvim" / "workflows").glob("*.json"))) == 1


def test_without_msgpack_it_says_so_on_stderr_and_exits() -> None:
    # The front reads the last line on stderr when the hello gets no answer (host.lua). -S: no
    # site-packages, so no msgpack.
    done = subprocess.run(
        [sys.executable, "-S", "-m", "workflow_nvim", "serve"],
        env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert "has no msgpack: run :WorkflowInstall" in done.stderr.strip().splitlines()[-1]


ANSWERED_WITH = """
import json, sys
from workflow_nvim import server
from workflow_nvim.protocol import PROTOCOL

class Recorder(server.MsgpackRPC):
    def respond(self, msgid, error, result):
        # what was imported when the answer went out (background git starts after it)
        print(json.dumps([error, sorted(sys.modules)]))

    def push(self, message):
        pass

s = server.Server(Recorder(0, 1))
s.dispatch([0, 1, "hello", [{"protocol": PROTOCOL}]])
s.dispatch([0, 2, "command", ["start", json.loads(sys.argv[1])]])
"""


def test_a_start_answers_before_importing_dataclasses_logging_or_openssl(tmp_path: Path, where: dict[str, Any]) -> None:
    """dataclasses (with inspect), logging and hashlib (OpenSSL) cost ~25 ms together: the first
    :WorkflowStart of a workflow validated before imports none of them before it answers."""
    where = {**where, "args": ["blog"]}  # the workflow is kept in the plugin's cache (XDG_CACHE_HOME)
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR)}
    answers = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", ANSWERED_WITH, json.dumps(where)], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr
        answers.append([json.loads(line) for line in out.stdout.splitlines()])
        where["options"] = {"runs_dir": str(tmp_path / f"runs{len(answers)}")}
    [(_, hello), (error, start)] = answers[1]
    assert error is None
    assert sorted({"dataclasses", "inspect", "logging", "hashlib", "yaml"} & set(hello)) == []
    assert sorted({"dataclasses", "inspect", "logging", "hashlib", "yaml"} & set(start)) == []
    assert "workflow_nvim.session" in start


LATE_SIGNAL = """
import os, signal, sys
from workflow_nvim import server
from workflow_nvim.protocol import PROTOCOL

server.Server.serve = lambda self: None  # the editor closed the channel
real = server._ignore_signals
sent = []


def ignore_signals():
    # The editor's SIGTERM comes just as serve() returns, before the server ignores signals.
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
    real()


server._ignore_signals = ignore_signals
sys.exit(server.main(["--json", "--log", sys.argv[1]]))
"""


def test_a_signal_as_the_server_leaves_is_a_clean_exit_with_its_log_kept(tmp_path: Path) -> None:
    log_file = tmp_path / "workflow.log"
    done = subprocess.run(
        [sys.executable, "-c", LATE_SIGNAL, str(log_file)],
        env={**os.environ, "PYTHONPATH": str(Path(server.__file__).parents[1])},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log_text = log_file.read_text(encoding="utf-8")
    assert done.returncode == 0, (done.stderr, log_text)
    assert "Traceback" not in log_text + done.stderr
    assert "signal 15: exiting" in log_text
