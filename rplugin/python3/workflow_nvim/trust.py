"""Which workflow files may run commands: the person's answers, pinned to each file's exact bytes.

A workflow file's commands (``run:`` and ``check.command``) may have arrived with a cloned
repository, so none runs until the person has allowed that file's content. The answer is kept
under the SHA-256 of the file's bytes, in one store for Vim and Neovim alike
(``trust.json`` in the plugin's state directory, places.py): a changed file has another digest
and is asked about again. A run's ``workflow.yaml`` snapshot is trusted when its bytes are those
of a trusted file; the bundled workflows are trusted. A workflow with no command never asks.

Standard library only, and cheap: read at each command that would run something.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from . import places
from .errors import WorkflowError
from .spec import Workflow, read_regular

MAX_STORE = 4 * 1024 * 1024  # bytes of trust.json read; a larger one is ignored (nothing trusted)

Answer = Literal["allow", "deny"]


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    from hashlib import sha256

    return sha256(data).hexdigest()


def store_path() -> Path:
    """Where the answers are kept: one file for both editors."""
    return places.plugin().state / "trust.json"


def commands(workflow: Workflow) -> list[str]:
    """Every command ``workflow`` can run, in file order: each step's ``run`` and ``check.command``."""
    found: list[str] = []
    for step in workflow.steps:
        check = getattr(step, "check", None)
        for command in (step.run, getattr(check, "command", "") if check else ""):
            if command and command not in found:
                found.append(command)
    return found


def _read() -> dict[str, Any]:
    try:
        value = json.loads(read_regular(store_path(), MAX_STORE))
    except (OSError, ValueError):
        return {}
    files = value.get("files") if isinstance(value, dict) else None
    return files if isinstance(files, dict) else {}


def _write(files: dict[str, Any]) -> None:
    from .scratch import write_atomic

    path = store_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"version": 1, "files": files}, indent=1, sort_keys=True))
    except OSError as e:
        raise WorkflowError(f"cannot keep the answer in {path}: {e.strerror}") from e


def _bundled(sha256: str) -> bool:
    from .catalog import BUNDLED_DIR

    try:
        names = sorted(os.listdir(BUNDLED_DIR))
    except OSError:
        return False
    for name in names:
        if name.endswith(".yaml"):
            try:
                if digest(read_regular(BUNDLED_DIR / name, 1 << 20)) == sha256:
                    return True
            except OSError:
                continue
    return False


def answer(sha256: str) -> Answer | None:
    """What the person said about content with this digest: allow, deny, or None (not asked yet)."""
    entry = _read().get(sha256)
    said = entry.get("answer") if isinstance(entry, dict) else None
    if said == "allow" or said == "deny":
        return "allow" if said == "allow" else "deny"
    return "allow" if _bundled(sha256) else None


def remember(sha256: str, path: str, said: Answer) -> None:
    """Keep the person's answer for content with this digest (``path`` only says where it was)."""
    files = _read()
    files[sha256] = {"answer": said, "path": path}
    _write(files)


def forget(sha256: str) -> bool:
    """Revoke an answer; False when there was none."""
    files = _read()
    if files.pop(sha256, None) is None:
        return False
    _write(files)
    return True
