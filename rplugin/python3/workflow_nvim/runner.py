"""Running a step's command: ``run:`` (:WorkflowRun) and ``check.command``.

A command runs with ``sh -c`` in the run's project directory (pinned when the run started, see
``Run.project``), in a process group of its own (``setsid``), its input /dev/null, its output and
errors read together from one pipe on a thread of its own, never on the thread that answers the
editor. Earlier steps reach it only as files, named in its environment (``environment``): their
text never becomes part of a command line.

Bounded: a command still running after ``run_timeout`` seconds is killed, its whole process group;
what is left of the group when the shell ends is killed too, so nothing outlives a step. Output is
kept up to ``MAX_LINES`` lines (each cut at ``MAX_LINE`` characters); past that it is read and
dropped, and the record says so.

Nothing runs unless the workflow's bytes are trusted (trust.py): ``NeedsTrust`` says what to ask.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .errors import WorkflowError
from .spec import Step, env_name

if TYPE_CHECKING:
    from .run import Run

DEFAULT_TIMEOUT = 600.0
"""Seconds a command may run (the ``run_timeout`` option)."""

MAX_LINES = 20_000
"""Lines of output kept (streamed and written to the step file); the rest are counted, not kept."""

MAX_LINE = 4_000
"""Characters kept of one line of output."""

BATCH_SECONDS = 0.05
"""How long output waits to be sent with more: the editor draws a batch, never one line at a time."""

BATCH_LINES = 2_000


_running: set[Process] = set()  # what the server's exit must not leave behind
_exit_hook = False


def _kill_all() -> None:
    """At the server's exit (its editor quit): no command outlives it."""
    for process in list(_running):
        process.cancel()


class NeedsTrust(WorkflowError):
    """The run's workflow has commands the person has not allowed: ask them (Response.trust)."""

    def __init__(self, path: str, sha256: str, commands: list[str]):
        self.path = path
        self.sha256 = sha256
        self.commands = commands
        super().__init__(f"{path} is not trusted to run commands: :WorkflowTrust shows them and asks")


class Result(NamedTuple):
    """How a command ended."""

    exit: int  # the exit status; -N: killed by signal N
    seconds: float
    lines: list[str]  # the output kept
    total: int  # lines printed
    cancelled: bool = False
    timed_out: bool = False

    @property
    def truncated(self) -> bool:
        return self.total > len(self.lines)

    def status_lines(self, timeout: float) -> list[str]:
        """What the record says after the output: the cap, if reached, then how the command ended."""
        said = []
        if self.truncated:
            said.append(f"[output cut: {self.total} lines, the first {MAX_LINES} kept]")
        if self.timed_out:
            said.append(f"[killed after {timeout:g} s: the run_timeout option]")
        elif self.cancelled:
            said.append(f"[cancelled after {self.seconds:.1f} s]")
        else:
            said.append(f"[exit {self.exit} after {self.seconds:.1f} s]")
        return said


def header(command: str) -> list[str]:
    """The record's first lines: the command as a shell prompt shows it."""
    first, *rest = command.rstrip("\n").split("\n")
    return [f"$ {first}", *(f"> {line}" for line in rest)]


def kept_text(text: str, command: str) -> str:
    """The person's text of a step file, without the record of an earlier run of ``command``."""
    lines = text.split("\n")
    start = header(command)[0]
    if start in lines:
        lines = lines[: lines.index(start)]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n\n" if lines else ""


def environment(run: Run, step: Step) -> dict[str, str]:
    """The environment of ``step``'s commands: the editor's, the run's directory, this step's file,
    and each earlier step's file as ``WORKFLOW_STEP_<ID>``."""
    env = dict(os.environ)
    env["WORKFLOW_RUN_DIR"] = str(run.dir)
    env["WORKFLOW_STEP_FILE"] = str(run.path(step))
    for earlier in run.workflow.steps[: step.index - 1]:
        env[env_name(earlier.id)] = str(run.path(earlier))
    return env


def require_trust(run: Run, cwd: Path | None = None) -> None:
    """Raise NeedsTrust unless the run's workflow may run its commands; WorkflowError if denied.
    (``cwd``, the editor's directory: paths in messages are written relative to it when shorter.)"""
    from . import trust
    from .display import shown

    sha256 = trust.digest(run.workflow.source)
    said = trust.answer(sha256)
    if said == "allow":
        return
    origin = shown(run.origin or run.dir / "workflow.yaml", cwd)
    if said == "deny":
        raise WorkflowError(f"you denied the commands of {origin}: :WorkflowTrust asks again")
    raise NeedsTrust(origin, sha256, trust.commands(run.workflow))


class Process:
    """One command running: ``on_lines(lines, result)`` hears its output in batches, ``result``
    set on the last one."""

    def __init__(
        self,
        command: str,
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        on_lines: Callable[[list[str], Result | None], None] | None = None,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.env = env
        self.timeout = timeout
        self.on_lines = on_lines
        self.what = "command"  # or "check": a step's check.command (messages say which runs)
        self.cancelled = False
        self.timed_out = False
        self.result: Result | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the command; its output is read on a thread of its own."""
        try:
            self._proc = subprocess.Popen(
                ["sh", "-c", self.command],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, and no terminal to read from
            )
        except OSError as e:
            raise WorkflowError(f"cannot run the command in {self.cwd}: {e.strerror}") from e
        self._started = time.monotonic()
        global _exit_hook
        if not _exit_hook:
            import atexit

            atexit.register(_kill_all)
            _exit_hook = True
        _running.add(self)
        self._thread = threading.Thread(target=self._pump, name="workflow-command", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Kill the command's process group; what it printed so far stays."""
        self.cancelled = True
        self._kill()

    def wait(self) -> Result:
        assert self._thread is not None
        self._thread.join()
        assert self.result is not None
        return self.result

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        proc, out = self._proc, self._proc.stdout
        fd = out.fileno()
        deadline = self._started + self.timeout
        kept: list[str] = []
        pending: list[str] = []
        total = 0
        partial = b""
        last_sent = time.monotonic()

        def add(raw: list[bytes]) -> None:
            nonlocal total
            for line in raw:
                total += 1
                if len(kept) < MAX_LINES:
                    text = line.rstrip(b"\r").decode("utf-8", "replace")[:MAX_LINE]
                    kept.append(text)
                    pending.append(text)

        try:
            while True:
                now = time.monotonic()
                if now >= deadline and not self.timed_out:
                    self.timed_out = True
                    self._kill()
                ready, _, _ = select.select([fd], [], [], max(0.0, min(BATCH_SECONDS, deadline - now)))
                if ready:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        break
                    *lines, partial = (partial + chunk).split(b"\n")
                    add(lines)
                    if len(partial) > 4 * MAX_LINE:  # a line that never ends: kept in pieces
                        add([partial])
                        partial = b""
                elif proc.poll() is not None:
                    self._kill()  # the shell ended; what it left behind holds the pipe: no one reads it
                if pending and (len(pending) >= BATCH_LINES or time.monotonic() - last_sent >= BATCH_SECONDS):
                    if self.on_lines is not None:
                        self.on_lines(pending, None)
                    pending = []
                    last_sent = time.monotonic()
        finally:
            if partial:
                add([partial])
            out.close()
            status = proc.wait()
            self._kill()  # anything it started in the background, too
            _running.discard(self)
            self.result = Result(
                status,
                time.monotonic() - self._started,
                kept,
                total,
                cancelled=self.cancelled and not self.timed_out,
                timed_out=self.timed_out,
            )
            if self.on_lines is not None:
                self.on_lines(pending, self.result)


def project_dir(run: Run, fallback: Path | None = None) -> Path:
    """Where the run's commands run: its pinned project directory, else ``fallback`` (the
    editor's directory, for runs made before it was pinned), else this process's."""
    project = run.project
    if project is not None and project.is_dir():
        return project
    return fallback or Path.cwd()


def check_process(
    run: Run, step: Step, command: str, timeout: float, cwd: Path | None, on_end: Callable[[Result], None]
) -> Process:
    """check.command for ``step`` of ``run``, ready to ``start`` (sh -c, in the run's project
    directory, with the environment above, its own process group, killed at ``timeout``). It runs
    in the background: the editor never waits for a check; ``on_end`` hears how it ended, on the
    thread that read it. Raises NeedsTrust when the run's workflow is not trusted (see trust)."""
    require_trust(run, cwd)

    def on_lines(lines: list[str], result: Result | None) -> None:
        if result is not None:
            on_end(result)

    process = Process(command, project_dir(run, cwd), environment(run, step), timeout, on_lines)
    process.what = "check"
    return process
