"""Files being written: atomically, and where ``git status`` never shows them.

A file is written to a temporary file first and renamed over the old one, so
readers (git, the editor) see the old text or the new, never half. The
temporary file lives inside the git directory of the repository around it
when that is on the same filesystem: a ``kill -9`` between the write and the
rename then leaves it where ``git status`` never looks, so a person's
``git add -A`` cannot sweep private text into a commit. Elsewhere it lives
next to the file, named ``.NAME.PID.XXXXXXXX.workflow-tmp``. Either way its
name carries the writer's process id, and ``clean`` removes those whose
process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

SUFFIX = ".workflow-tmp"
SCRATCH_DIR = "workflow-tmp"  # inside the git directory
_WRITER = re.compile(r"(?:\..+\.)?(\d+)\.[^.]+\.workflow-tmp\Z")


def git_dir_of(directory: Path) -> Path | None:
    """The git directory of the repository ``directory`` is in, found as git finds it, or None."""
    for d in (directory, *directory.parents):
        dot = d / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():  # a worktree or submodule: "gitdir: PATH"
            try:
                text = dot.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not text.startswith("gitdir: "):
                return None
            target = Path(text[len("gitdir: ") :])
            target = target if target.is_absolute() else d / target
            return target if target.is_dir() else None
    return None


def scratch_dir(directory: Path) -> Path | None:
    """Where temporary files for ``directory`` go: its repository's git directory, or None for beside them."""
    git_dir = git_dir_of(directory)
    if git_dir is None:
        return None
    scratch = git_dir / SCRATCH_DIR
    try:
        scratch.mkdir(exist_ok=True)
        if scratch.stat().st_dev != directory.stat().st_dev:
            return None  # a rename cannot cross filesystems
    except OSError:
        return None  # a read-only git directory: beside the file, cleaned at the next open
    return scratch


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    scratch = scratch_dir(path.parent)
    prefix = f"{os.getpid()}." if scratch else f".{path.name}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(dir=scratch or path.parent, prefix=prefix, suffix=SUFFIX)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as any new file would be, not mkstemp's 0600
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, someone else's
        return True
    return True


def clean(directory: Path) -> None:
    """Remove the temporary files that writers killed before their rename left in ``directory``
    and in its git directory (never one whose process still runs)."""
    places = [directory]
    git_dir = git_dir_of(directory)
    if git_dir is not None:
        places.append(git_dir / SCRATCH_DIR)
    for place in places:
        try:
            names = [p for p in place.iterdir() if p.name.endswith(SUFFIX)]
        except OSError:
            continue
        for p in names:
            m = _WRITER.match(p.name)
            if m and int(m[1]) != os.getpid() and not _alive(int(m[1])):
                with contextlib.suppress(OSError):
                    p.unlink()
