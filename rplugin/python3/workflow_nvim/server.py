"""``python -m workflow_nvim serve``: the server an editor front starts, one per editor.

It speaks msgpack-RPC on the stdin and stdout it was started with (see
protocol.py for the contract). Requests are handled one at a time, in the
order they come, on the main thread; background work (step commits, model
annotations) runs in threads and reports through ``push``, which only ever
writes to this server's own stdout: the front that started it.

Lifetime: the server exits when its input closes, that is when the editor
exits, dies or closes the channel. It never waits for work in flight: a step
commit cut short is reported and made again at the next start (history.py).
A message that is not a request is logged and skipped; bytes that are not
msgpack, or a message over MAX_MESSAGE, lose the framing: the server logs one
line and exits with status 2 (as Neovim closes such a channel), and the front
starts a new one at its next request.

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
from typing import TYPE_CHECKING, Any, Callable

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


class Transport:
    """Framing: how messages are read and written. msgpack-RPC here; Vim's JSON channel later."""

    def messages(self) -> Iterator[Any]:
        raise NotImplementedError

    def send(self, message: Any) -> None:
        raise NotImplementedError

    def respond(self, msgid: int, error: Any, result: Any) -> None:
        raise NotImplementedError

    def push(self, message: protocol.Push) -> None:
        raise NotImplementedError


class MsgpackTransport(Transport):
    def __init__(self, rfd: int, wfd: int) -> None:
        import msgpack

        self._rfd, self._wfd = rfd, wfd
        self._lock = threading.Lock()  # background threads push while the main thread answers
        self._unpacker = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape", max_buffer_size=MAX_MESSAGE)
        self._packer = msgpack.Packer(unicode_errors="surrogateescape", use_bin_type=True)

    def messages(self) -> Iterator[Any]:
        import msgpack

        while True:
            try:
                data = os.read(self._rfd, READ_SIZE)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                self._unpacker.feed(data)
                yield from self._unpacker
            except (msgpack.UnpackException, ValueError, TypeError) as e:
                # Where the next message starts is lost: the channel is closed, as Neovim closes
                # a channel that sends it bytes it cannot read. The front starts a new server.
                raise Unreadable(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None

    def send(self, message: Any) -> None:
        with self._lock:
            data = memoryview(self._packer.pack(message))
            while data:
                n = os.write(self._wfd, data)
                data = data[n:]

    def respond(self, msgid: int, error: Any, result: Any) -> None:
        self.send([1, msgid, error, result])

    def push(self, message: protocol.Push) -> None:
        # Neovim runs a notification's method as an API call: this one hands the message to the
        # Lua side's registry. It goes to this channel only (never rpcnotify(0)'s broadcast).
        self.send([2, "nvim_exec_lua", ["require('workflow.host').receive(...)", [message]]])


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
        if not isinstance(message, (list, tuple)) or not message:
            log.warning("not a msgpack-RPC message: %.200r", message)
            return
        kind = message[0]
        if kind == 0 and len(message) == 4:
            _, msgid, method, params = message
            background.answering()  # a commit the request starts waits for the answer to go out
            try:
                result = self.call(str(method), params if isinstance(params, list) else [params])
            except WorkflowError as e:  # the front's mistake (a method that does not exist): no traceback
                log.warning("request %.200r refused: %s", method, e)
                self.transport.respond(msgid, str(e), None)
            except Exception as e:
                log.exception("request %r failed", method)
                self.transport.respond(msgid, f"{type(e).__name__}: {e}", None)
            else:
                self.transport.respond(msgid, None, result)
            finally:
                background.answered()
        elif kind == 2 and len(message) == 3:
            # Neovim says when a notification of ours failed (nvim_error_event): the log keeps it.
            log.warning("notification from the editor: %s %.500r", message[1], message[2])
        else:
            log.warning("unexpected message: %.200r", message)

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
        log.info("hello from %s %s (protocol %s)", front.get("front"), front.get("version"), front.get("protocol"))
        return welcome

    def command(self, params: list[Any]) -> protocol.Response:
        name = str(params[0]) if params else ""
        args: dict[str, Any] = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        with contextlib.suppress(OSError):  # logging helps; it never fails a command
            configure_log(args.get("log_file"))
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
                f"and your saved text is safe (details in {args.get('log_file') or 'the log'}; please report it)"
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
            where = args.get("log_file") or "the log"
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

    def _state(self) -> dict[str, Any] | None:
        session = self._session
        return session.run.state() if session and session.run else None


def main(argv: list[str]) -> int:
    """``serve [--log FILE]``."""
    log_file = None
    if len(argv) >= 2 and argv[0] == "--log":
        log_file = argv[1]
    if importlib.util.find_spec("msgpack") is None:  # said on stderr, which the front reads at start
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
    transport = MsgpackTransport(rfd, wfd)
    # Neovim ends its jobs with SIGTERM when it exits: leave as on a closed channel.
    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGHUP, _leave)
    try:
        Server(transport).serve()
    except Unreadable as e:
        log.warning("the editor sent what is not msgpack-RPC (%s): closing the channel, exiting", e)
        return 2
    log.info("the editor closed the channel: exiting")
    log.flush()
    # Threads still running (a model's stream, a commit's slow hook) end with the process, and the
    # atexit handlers stop the git they started (history.py): the journal in the run's git
    # directory makes that commit again at the next start, so none lands behind its back.
    return 0


def _leave(signum: int, frame: Any) -> None:
    log.info("signal %d: exiting", signum)
    log.flush()
    raise SystemExit(0)
