"""``python -m workflow_nvim serve [--json]``: the server an editor front starts, one per editor.

It speaks on the stdin and stdout it was started with (see protocol.py for the
contract), in one of two framings: msgpack-RPC, Neovim's (the default), or with
``--json`` the JSON of Vim's channels in "json" mode. Only the framing differs
(``MsgpackRPC`` and ``VimJSON`` below): the requests, the answers, the pushes
and the lifetime are the same ``Server``. Requests are handled one at a time,
in the order they come, on the main thread; background work (step commits,
model annotations) runs in threads and reports through ``push``, which only
ever writes to this server's own stdout: the front that started it.

Lifetime: the server exits when its input closes, that is when the editor
exits, dies or closes the channel. It never waits for work in flight: a step
commit cut short is reported and made again at the next start (history.py).
A message that is not a request is logged and skipped; bytes that are not
the framing's (not msgpack; in JSON mode a line that is not JSON), or a
message over MAX_MESSAGE, end the conversation: the server logs one line and
exits with status 2 (as Neovim closes such a channel), and the front starts a
new one at its next request.

Stray output must never corrupt the stream, so the descriptors the protocol
uses are moved out of the way at start: fd 0 becomes /dev/null (git, a hook
or anything else started here can never read the editor's messages) and
fd 1 becomes fd 2, the log (the front points it at the plugin's log file).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from . import background, dependencies, protocol
from .errors import WorkflowError
from .logs import log

if TYPE_CHECKING:
    from .session import Session


# what the step-by-step workflow itself cannot run without (annotation checks for ollama itself)
REQUIRED = tuple(dependencies.required())
READ_SIZE = 1 << 16
MAX_MESSAGE = 64 << 20  # a message larger than this is a broken front, not a big buffer
# The longest a command may keep the editor waiting. Commands wait at most a few seconds for
# a background commit (session.py); past this, something is wrong, and the editor is told.
COMMAND_SECONDS = float(os.environ.get("WORKFLOW_COMMAND_SECONDS", "20"))


class Unreadable(Exception):
    """The front sent bytes that are not messages of the protocol (or one over MAX_MESSAGE)."""


class Request(NamedTuple):
    """A request, whatever its framing: the front waits for the answer to ``msgid``."""

    msgid: int
    method: str
    params: list[Any]


class Transport:
    """Framing: how messages are read, recognised as requests, answered and pushed.

    ``messages`` yields what was read, decoded; ``request`` says which request one is (None:
    none, and it was logged); ``respond`` answers one; ``push`` sends a protocol.Push.
    """

    name = ""  # for the log: what the front should have sent

    def messages(self) -> Iterator[Any]:
        raise NotImplementedError

    def request(self, message: Any) -> Request | None:
        raise NotImplementedError

    def respond(self, msgid: int, error: str | None, result: Any) -> None:
        raise NotImplementedError

    def push(self, message: protocol.Push) -> None:
        raise NotImplementedError


def read_chunks(rfd: int) -> Iterator[bytes]:
    """What arrives on ``rfd``, as it arrives, until it closes."""
    while True:
        try:
            data = os.read(rfd, READ_SIZE)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        yield data


def write_all(wfd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(wfd, view)
        view = view[n:]


class MsgpackRPC(Transport):
    """Neovim's msgpack-RPC: requests ``[0, id, method, params]``, answers ``[1, id, error,
    result]``, pushes as the notification ``[2, "nvim_exec_lua", [code, [push]]]``."""

    name = "msgpack-RPC"

    def __init__(self, rfd: int, wfd: int) -> None:
        import msgpack

        self._rfd, self._wfd = rfd, wfd
        self._lock = threading.Lock()  # background threads push while the main thread answers
        self._unpacker = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape", max_buffer_size=MAX_MESSAGE)
        self._packer = msgpack.Packer(unicode_errors="surrogateescape", use_bin_type=True)

    def messages(self) -> Iterator[Any]:
        import msgpack

        for data in read_chunks(self._rfd):
            try:
                self._unpacker.feed(data)
                yield from self._unpacker
            except (msgpack.UnpackException, ValueError, TypeError) as e:
                # Where the next message starts is lost: the channel is closed, as Neovim closes
                # a channel that sends it bytes it cannot read. The front starts a new server.
                raise Unreadable(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None

    def request(self, message: Any) -> Request | None:
        if not isinstance(message, (list, tuple)) or not message:
            log.warning("not a msgpack-RPC message: %.200r", message)
        elif message[0] == 0 and len(message) == 4:
            _, msgid, method, params = message
            return Request(msgid, str(method), params if isinstance(params, list) else [params])
        elif message[0] == 2 and len(message) == 3:
            # Neovim says when a notification of ours failed (nvim_error_event): the log keeps it.
            log.warning("notification from the editor: %s %.500r", message[1], message[2])
        else:
            log.warning("unexpected message: %.200r", message)
        return None

    def send(self, message: Any) -> None:
        with self._lock:
            write_all(self._wfd, self._packer.pack(message))

    def respond(self, msgid: int, error: str | None, result: Any) -> None:
        self.send([1, msgid, error, result])

    def push(self, message: protocol.Push) -> None:
        # Neovim runs a notification's method as an API call: this one hands the message to the
        # Lua side's registry. It goes to this channel only (never rpcnotify(0)'s broadcast).
        self.send([2, "nvim_exec_lua", ["require('workflow.host').receive(...)", [message]]])


class VimJSON(Transport):
    """Vim's channel in "json" mode (``:help channel-use``): requests ``[id, {"method": m,
    "params": [...]}]`` (``ch_evalexpr``, ``ch_sendexpr``; Vim numbers them from 1), answers
    ``[id, result]``, with ``{"error": line}`` as the result when the server cannot take the
    request, and pushes ``[0, push]``, which Vim hands to the channel's callback.

    One message per line, UTF-8, as Vim writes them (its JSON never holds a raw newline).
    Strings keep bytes that are not UTF-8 as msgpack-RPC does (surrogateescape both ways): Vim
    reads such bytes in a JSON string as they are. A line that is not JSON ends the server, as
    bytes that are not msgpack do: the front has a bug, and starts a new server.
    """

    name = "JSON"

    def __init__(self, rfd: int, wfd: int) -> None:
        self._rfd, self._wfd = rfd, wfd
        self._lock = threading.Lock()

    def messages(self) -> Iterator[Any]:
        import json

        decoder = json.JSONDecoder()
        pending = bytearray()  # the start of a line (a large message comes in many reads)
        for data in read_chunks(self._rfd):
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                pending += data[start:end]
                line = bytes(pending)
                pending.clear()
                start = end + 1
                yield from _decode_line(decoder, line)
            pending += data[start:]
            if len(pending) > MAX_MESSAGE:
                raise Unreadable(f"a message over {MAX_MESSAGE >> 20} MiB")
        # Vim ends each message with a newline; a script may not. Cut short, it is the editor that
        # went in the middle of a message: the channel closed, no more.
        try:
            yield from _decode_line(decoder, bytes(pending))
        except Unreadable:
            log.info("the input ended in the middle of a message: %.200r", bytes(pending))

    def request(self, message: Any) -> Request | None:
        if (
            isinstance(message, list)
            and len(message) == 2
            and type(message[0]) is int
            and message[0] > 0
            and isinstance(message[1], dict)
        ):
            msgid, body = message
            params = body.get("params", [])
            return Request(msgid, str(body.get("method")), params if isinstance(params, list) else [params])
        if isinstance(message, list) and len(message) == 2 and type(message[0]) is int and message[0] > 0:
            self.respond(message[0], f"not a request: {message[1]!r:.100}", None)  # Vim waits for it
        log.warning("not a request: %.200r", message)
        return None

    def send(self, message: Any) -> None:
        data = _encode(message)
        with self._lock:
            write_all(self._wfd, data)

    def respond(self, msgid: int, error: str | None, result: Any) -> None:
        self.send([msgid, result if error is None else {"error": error}])

    def push(self, message: protocol.Push) -> None:
        self.send([0, message])


def _decode_line(decoder: Any, line: bytes) -> Iterator[Any]:
    """The JSON values on one line (one, from Vim)."""
    text = line.decode("utf-8", "surrogateescape")
    end, pos = len(text), 0
    while True:
        while pos < end and text[pos] in " \t\r":
            pos += 1
        if pos == end:
            return
        try:
            message, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as e:  # RecursionError: nested thousands deep
            raise Unreadable(f"{type(e).__name__}: {e}") from None
        yield message


def _encode(message: Any) -> bytes:
    """``message`` as one line of JSON for Vim. Surrogates that stand for bytes that are not UTF-8
    become those bytes again; NaN and other values JSON lacks raise ValueError or TypeError."""
    import json

    text = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_bytes_as_text)
    try:
        return text.encode("utf-8", "surrogateescape") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte: send it escaped
        text = json.dumps(message, allow_nan=False, separators=(",", ":"), default=_bytes_as_text)
        return text.encode("ascii") + b"\n"


def _bytes_as_text(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    raise TypeError(f"{type(value).__name__} is not JSON")


def configure_log(log_file: str | None) -> None:
    """Send the package's log (and so its tracebacks) to ``log_file``."""
    log.configure(log_file)


class Server:
    """Dispatches requests to a Session; pushes what finishes later."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._session: Session | None = None
        self._refused: str | None = None  # set by a hello of another protocol version
        self._stuck: str | None = None  # set when a command overran COMMAND_SECONDS
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "hello": self.hello,
            "command": self.command,
            "complete": self.complete,
        }
        assert tuple(self._methods) == protocol.METHODS

    # -- the loop ------------------------------------------------------------

    def serve(self) -> None:
        for message in self.transport.messages():
            self.dispatch(message)

    def dispatch(self, message: Any) -> None:
        request = self.transport.request(message)
        if request is None:
            return
        background.answering()  # a commit the request starts waits for the answer to go out
        try:
            try:
                result = self.call(request.method, request.params)
            except WorkflowError as e:  # the front's mistake (a method that does not exist): no traceback
                log.warning("request %.200r refused: %s", request.method, e)
                self.transport.respond(request.msgid, str(e), None)
            except Exception as e:
                log.exception("request %r failed", request.method)
                self.transport.respond(request.msgid, f"{type(e).__name__}: {e}", None)
            else:
                self._respond(request, result)
        finally:
            background.answered()

    def _respond(self, request: Request, result: Any) -> None:
        try:
            self.transport.respond(request.msgid, None, result)
        except (TypeError, ValueError) as e:  # a value the framing cannot carry (NaN in JSON): a bug
            log.exception("the answer to %r cannot be sent", request.method)
            self.transport.respond(request.msgid, f"internal error: the answer cannot be sent ({e})", None)

    def call(self, method: str, params: list[Any]) -> Any:
        fn = self._methods.get(method)
        if fn is None:
            raise WorkflowError(f"no such method '{method}' (methods: {', '.join(protocol.METHODS)})")
        if self._refused and method != "hello":
            return {"error": self._refused}
        return fn(params)

    # -- methods -------------------------------------------------------------

    def hello(self, params: list[Any]) -> protocol.Welcome:
        front = params[0] if params and isinstance(params[0], dict) else {}
        missing = dependencies.missing()
        welcome: protocol.Welcome = {
            "protocol": protocol.PROTOCOL,
            "python": sys.executable,
            "python_version": sys.version.split()[0],
            "pid": os.getpid(),
            "missing": missing,
            "required_missing": [d for d in missing if dependencies.import_name(d) in REQUIRED],
        }
        if welcome["required_missing"]:
            welcome["problem"] = (
                f"missing Python packages {', '.join(missing)}: run :WorkflowInstall, "
                f"or `{dependencies.install_command(missing)}`"
            )
        self._refused = protocol.mismatch(front.get("protocol"))
        if self._refused:
            welcome["error"] = self._refused
        log.info(
            "hello from %.100s %.100s (protocol %.20s)", front.get("front"), front.get("version"), front.get("protocol")
        )
        return welcome

    def command(self, params: list[Any]) -> protocol.Response:
        name = str(params[0]) if params else ""
        args: dict[str, Any] = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if self._stuck:
            return {"error": self._stuck, "restart": True}
        # The editor waits for this answer: a command that does not finish (a bug, a hung file
        # system) must not freeze it. It runs in a thread; past the deadline the editor is told,
        # and replaces this server (the run reopens from git).
        answer: list[protocol.Response] = []
        worker = threading.Thread(target=lambda: answer.append(self._command(name, args)), name=f"command-{name}")
        worker.daemon = True
        worker.start()
        worker.join(COMMAND_SECONDS)
        if not answer:
            log.error("command %r still running after %g s: this server stops answering", name, COMMAND_SECONDS)
            self._stuck = (
                f":Workflow {name} did not finish in {COMMAND_SECONDS:g} s; the Python server was restarted "
                f"and your saved text is safe (details in {log.file or 'the log'}; please report it)"
            )
            return {"error": self._stuck, "restart": True}
        return answer[0]

    def _command(self, name: str, args: dict[str, Any]) -> protocol.Response:
        try:
            return self._get_session().handle(name, args)  # type: ignore[return-value]
        except WorkflowError as e:
            return {"error": str(e), "state": self._state()}
        except Exception as e:
            log.exception("command %r failed with params %r", name, args)
            where = log.file or "the log"
            return {
                "error": f"internal error in :Workflow {name} ({type(e).__name__}: {e}); "
                f"the traceback is in {where}; please report it",
                "state": self._state(),
            }

    def complete(self, params: list[Any]) -> list[str]:
        kind = str(params[0]) if params else ""
        arglead = str(params[1]) if len(params) > 1 else ""
        args: dict[str, Any] = params[2] if len(params) > 2 and isinstance(params[2], dict) else {}
        try:
            return self._get_session().complete(kind, arglead, args)
        except WorkflowError:
            return []

    # -- helpers -------------------------------------------------------------

    def _get_session(self) -> Session:
        if self._session is None:
            if any(importlib.util.find_spec(m) is None for m in REQUIRED):
                missing = dependencies.missing()
                raise WorkflowError(
                    f"missing Python packages {', '.join(missing)}: "
                    f"install them with `{dependencies.install_command(missing)}` or run :WorkflowInstall"
                )
            from .session import Session

            self._session = Session(notify=self._push)
        return self._session

    def _push(self, message: dict[str, Any]) -> None:
        try:
            self.transport.push(message)  # type: ignore[arg-type]
        except OSError:
            log.info("the editor is gone; dropped %.200r", message)
        except (TypeError, ValueError):  # a value the framing cannot carry: a bug, and the front waits on
            log.exception("a push cannot be sent: %.200r", message)

    def _state(self) -> dict[str, Any] | None:
        session = self._session
        return session.run.state() if session and session.run else None


def main(argv: list[str]) -> int:
    """``serve [--json] [--log FILE]``."""
    log_file = None
    json_mode = False
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag == "--json":
            json_mode = True
        elif flag == "--log" and args:
            log_file = args.pop(0)
        else:
            print(f"serve: unknown argument {flag!r}; usage: serve [--json] [--log FILE]", file=sys.stderr)
            return 2
    if not json_mode and importlib.util.find_spec("msgpack") is None:  # said on stderr, which the front reads
        print(
            f"{sys.executable} has no msgpack: run :WorkflowInstall, "
            f"or `{dependencies.install_command(dependencies.missing())}`",
            file=sys.stderr,
        )
        return 3
    # The protocol's descriptors, moved out of reach of everything this process starts.
    rfd, wfd = os.dup(0), os.dup(1)  # non-inheritable
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if log_file:
        with contextlib.suppress(OSError):
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 2)
            os.close(fd)
    os.dup2(2, 1)
    with contextlib.suppress(OSError):
        configure_log(log_file)
    transport: Transport = VimJSON(rfd, wfd) if json_mode else MsgpackRPC(rfd, wfd)
    try:
        # Neovim ends its jobs with SIGTERM when it exits, as Vim does (job_stop, 'stoponexit'):
        # leave as on a closed channel.
        signal.signal(signal.SIGTERM, _leave)
        signal.signal(signal.SIGHUP, _leave)
        try:
            Server(transport).serve()
        finally:
            # On its way out already. Inside the outer try: a signal that comes as serve() returns
            # (the editor closes the channel, then ends its job) is a Leave caught below, not a
            # traceback and exit 1 with the last lines of the log lost.
            _ignore_signals()
    except Unreadable as e:
        log.warning("the editor sent what is not %s (%s): closing the channel, exiting", transport.name, e)
        return 2
    except Leave as e:
        log.info("signal %d: exiting", e.signum)
        log.flush()
        return 0
    log.info("the editor closed the channel: exiting")
    log.flush()
    # Threads still running (a model's stream, a commit's slow hook) end with the process, and the
    # atexit handlers stop the git they started (history.py): the journal in the run's git
    # directory makes that commit again at the next start, so none lands behind its back.
    return 0


class Leave(BaseException):
    """SIGTERM or SIGHUP: the editor is leaving (raised where the main thread was)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _leave(signum: int, frame: Any) -> None:
    # The handler runs wherever the main thread was, perhaps holding the log's lock: it only
    # raises, and main() logs once that lock is released. A second signal (Vim's job_stop, then
    # its exit; a closed terminal's SIGHUP, then the editor's SIGTERM) is ignored: run again, it
    # would interrupt the first on its way out.
    _ignore_signals()
    raise Leave(signum)


def _ignore_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
