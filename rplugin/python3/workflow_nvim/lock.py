"""Which editor works on a run: a lock file that a crash does not leave stuck.

The lock lives in the git directory (``.git/workflow-locks/<run id>.lock``),
so it never shows up in ``git status``. It names the editor process that holds
it (Neovim or Vim, whatever its program is called): its pid, its machine, and
where /proc tells them, when it started (clock ticks since boot) and which boot
that was. A lock whose process is gone (a crash, a reboot, ``kill -9``) is
stale and is taken over without asking; so is one whose pid now belongs to a
process that started at another time, or on another boot.

A lock written before start times were kept (``{"pid", "host"}``, always by
Neovim) is alive while its pid is a process called nvim, as then.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple


def _hostname() -> str:
    """This machine's name, as socket.gethostname() says it (without importing socket at each start)."""
    return os.uname().nodename


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (/proc/PID/stat, field 22); None
    when it does not exist or there is no /proc (macOS)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")"
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def boot_id() -> str | None:
    """This boot of this machine (a pid's start time means something only within one boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def editor_name(pid: int) -> str | None:
    """ "Neovim" or "Vim" when process ``pid``'s program is called so (nvim; vim, vi, view, gvim,
    vimdiff, ...); None when it is called otherwise, or there is no /proc. For messages only:
    whether a lock is alive never depends on a name."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if "nvim" in comm:
        return "Neovim"
    if "vi" in comm or comm == "ex":
        return "Vim"
    return None


class Holder(NamedTuple):
    pid: int
    host: str
    start: int | None = None  # process_start(pid) when the lock was taken; None: not known, or an old lock
    boot: str | None = None  # boot_id() then
    editor: str | None = None  # "Neovim", "Vim": for messages

    def alive(self) -> bool:
        """True unless we can tell the process is gone (another machine: assume alive)."""
        if self.host != _hostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else
            pass
        if self.start is not None:
            now = boot_id()
            if self.boot and now and self.boot != now:
                return False  # taken before a reboot: the pid, if alive, is another program's
            start = process_start(self.pid)
            return start is None or start == self.start  # None: no /proc to tell (the pid exists)
        try:  # an old lock: after a reboot the pid may belong to another program
            return "nvim" in Path(f"/proc/{self.pid}/comm").read_text(encoding="utf-8")
        except OSError:
            return True

    def name(self) -> str:
        """``Vim``, ``Neovim``; ``editor`` when its name is not known."""
        # A lock without a start time nor a name is an old one: Neovim's, the only editor then.
        return self.editor or ("Neovim" if self.start is None else "editor")

    def describe(self) -> str:
        """``Vim pid 1234``, ``Neovim pid 1234 on host``; ``editor pid 1234`` when its name is not known."""
        return f"{self.name()} pid {self.pid}" + ("" if self.host == _hostname() else f" on {self.host}")


class RunLock:
    """The lock of one run, for the editor process ``pid`` (``editor``: its name, for messages;
    found from the process when not given)."""

    def __init__(self, path: Path, pid: int, editor: str | None = None):
        self.path = path
        self.pid = pid
        self.editor = editor

    def holder(self) -> Holder | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            start, boot, editor = data.get("start"), data.get("boot"), data.get("editor")
            return Holder(
                int(data["pid"]),
                str(data["host"]),
                start if type(start) is int else None,
                boot if isinstance(boot, str) else None,
                editor if isinstance(editor, str) else None,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _me(self) -> dict[str, Any]:
        me: dict[str, Any] = {"pid": self.pid, "host": _hostname()}
        start = process_start(self.pid)
        if start is not None:
            me["start"] = start
            me["boot"] = boot_id()
        editor = self.editor or editor_name(self.pid)
        if editor:
            me["editor"] = editor
        return me

    def acquire(self) -> Holder | None:
        """Take the lock; return the other live holder instead when there is one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = self._me()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                other = self.holder()
                if other and other.alive() and other.host == me["host"] and other.pid == self.pid:
                    return None  # ours already (the server restarted)
                if other and other.alive():
                    return other
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its editor is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            return None
        other = self.holder()
        return other if other and other.pid != self.pid else None

    def release(self) -> None:
        """Remove the lock if it is ours."""
        other = self.holder()
        if other and other.pid == self.pid and other.host == _hostname():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
