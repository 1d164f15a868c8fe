"""Which Neovim works on a run: a lock file that a crash does not leave stuck.

The lock lives in the git directory (``.git/workflow-locks/<run id>.lock``),
so it never shows up in ``git status``. It names the Neovim process that holds
it; a lock whose process is gone (a crash, a reboot, ``kill -9``) is stale and
is taken over without asking.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import NamedTuple


def _hostname() -> str:
    """This machine's name, as socket.gethostname() says it (without importing socket at each start)."""
    return os.uname().nodename


class Holder(NamedTuple):
    pid: int
    host: str

    def alive(self) -> bool:
        """True unless we can tell the process is gone (another machine: assume alive)."""
        if self.host != _hostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else
            return True
        try:  # after a reboot the pid may belong to another program
            return "nvim" in Path(f"/proc/{self.pid}/comm").read_text(encoding="utf-8")
        except OSError:
            return True

    def describe(self) -> str:
        return f"Neovim pid {self.pid}" + ("" if self.host == _hostname() else f" on {self.host}")


class RunLock:
    """The lock of one run, for the Neovim process ``pid``."""

    def __init__(self, path: Path, pid: int):
        self.path = path
        self.pid = pid

    def holder(self) -> Holder | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data["host"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def acquire(self) -> Holder | None:
        """Take the lock; return the other live holder instead when there is one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": self.pid, "host": _hostname()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                other = self.holder()
                if other and other.alive() and other.host == me["host"] and other.pid == self.pid:
                    return None  # ours already (the Python host restarted)
                if other and other.alive():
                    return other
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its Neovim is gone
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
