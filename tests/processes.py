"""Looking at processes as /proc shows them: shared by the tests of the server's lifetime."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def gone(pid: int) -> bool:
    """True when process ``pid`` has exited (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")
    except OSError:
        return True


def git_commits_running_in(repo: Path) -> list[int]:
    """The `git commit` processes working in ``repo``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or gone(int(proc.name)):
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv[:2] == [b"git", b"commit"] and Path(os.readlink(proc / "cwd")) == repo:
                found.append(int(proc.name))
    return found
