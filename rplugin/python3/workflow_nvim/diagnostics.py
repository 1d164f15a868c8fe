"""A workflow file's problems as an editor shows them: located diagnostics and one summary line.

``:WorkflowCheck`` and the live diagnostics of a workflow buffer (``check`` in session.py) come
here with a buffer's text. The problems are the validator's (yamlcheck.py), the same that
``python -m workflow_nvim validate`` prints: errors, which stop a workflow from loading, and
warnings, which never do. ``LiveChecks`` checks the text of buffers being typed in, off the
thread that answers the editor, the newest text of each buffer only, and pushes each result.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Callable

from . import background, protocol
from .logs import log
from .spec import MAX_BYTES, Problem, Workflow, WorkflowInvalid, count, read_text

_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def problems_of_text(text: str, path: str) -> tuple[list[Problem], Workflow | None]:
    """The problems of ``text``, the text of the workflow file ``path`` ("": a buffer of no file),
    errors and warnings in the order of the file, and the workflow (None when it has errors)."""
    from .yamlcheck import check

    display = path or "(buffer)"
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > MAX_BYTES:
        return [Problem(display, 1, 1, f"the text is {len(data):,} bytes; workflow files are limited to 1 MiB")], None
    bad = _NOT_UTF8.search(text)  # a byte the editor read as it is (msgpack and JSON carry it escaped)
    if bad:
        line, col = text.count("\n", 0, bad.start()) + 1, bad.start() - text.rfind("\n", 0, bad.start())
        byte = ord(bad.group()) - 0xDC00
        return [Problem(display, line, col, f"byte 0x{byte:02x} is not UTF-8: save the file as UTF-8")], None
    workflow, problems = check(Path(display), data, text, named_by_file=bool(path))
    return sorted(problems, key=lambda p: (p.line, p.col)), workflow  # found step by step, shown line by line


def summary(problems: list[Problem], workflow: Workflow | None) -> str:
    """One line: ``ok: essay, 3 steps`` or ``2 errors, 1 warning: line 4: <the first one's message>``."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors and workflow is not None:
        steps = count(len(workflow.steps), "step")
        ok = f"ok: {workflow.name}, {steps}" if workflow.name else f"ok: {steps}"
        if not problems:
            return ok
        return f"{ok}; {count(len(problems), 'warning')}: line {problems[0].line}: {problems[0].message}"
    warnings = len(problems) - len(errors)
    parts = ([count(len(errors), "error")] if errors else []) + ([count(warnings, "warning")] if warnings else [])
    first = (errors or problems)[0]
    return f"{', '.join(parts)}: line {first.line}: {first.message}"


def as_items(problems: list[Problem], lines: list[str]) -> list[protocol.Diagnostic]:
    """``problems`` as Diagnostics of the text ``lines``: the column of each is a byte index in its
    line (as an editor counts: Vim's col(), Neovim's extmarks), where the validator counts characters."""
    items: list[protocol.Diagnostic] = []
    for p in problems:
        source = lines[p.line - 1] if 0 < p.line <= len(lines) else None  # (none: a file not read)
        item: protocol.Diagnostic = {
            "line": p.line,
            "col": _byte_col(source, p.col),
            "severity": p.severity,
            "message": p.message,
        }
        if p.end_col > p.col:
            item["end_col"] = _byte_col(source, p.end_col)
        items.append(item)
    return items


def _byte_col(source: str | None, col: int) -> int:
    """The byte column of character column ``col`` of the line ``source`` (None: as it is)."""
    return len(source[: col - 1].encode("utf-8", "surrogateescape")) + 1 if source is not None else col


def diagnose(params: dict[str, Any]) -> protocol.Diagnostics:
    """The Diagnostics of the text in ``params`` (Params of ``check``: buf, lines, path, tick).

    Without ``lines``, the file at ``path`` is read.
    """
    path = str(params.get("path") or "")
    lines = params.get("lines")
    problems: list[Problem] = []
    workflow = None
    if isinstance(lines, list):
        lines = [str(line) for line in lines]
        text = "".join(f"{line}\n" for line in lines)
    elif path:  # the file as saved
        try:
            text = read_text(Path(path))[1]
        except WorkflowInvalid as e:
            problems, text = list(e.problems), ""
    else:
        problems, text = [Problem("", 1, 1, "no text to check: give Params.lines or Params.path")], ""
    if not problems:
        problems, workflow = problems_of_text(text, path)
    result: protocol.Diagnostics = {
        "buf": int(params.get("buf") or 0),
        "tick": int(params.get("tick") or 0),
        "path": path,
        "items": as_items(problems, lines if isinstance(lines, list) else text.split("\n") if text else []),
        "summary": summary(problems, workflow),
    }
    return result


class LiveChecks:
    """Checks the text of buffers being typed in, in a thread of its own, and pushes each result.

    A buffer's request still waiting when a newer one comes is dropped: only the newest text of
    each buffer is checked, so a burst of changes costs one check, not one per change.
    """

    def __init__(self, push: Callable[[dict[str, Any]], None]) -> None:
        self._push = push
        self._waiting: dict[int, dict[str, Any]] = {}  # buffer -> the newest params, in the order they came
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, params: dict[str, Any]) -> None:
        buf = int(params.get("buf") or 0)
        with self._changed:
            self._waiting.pop(buf, None)  # the newest goes last: buffers are checked in turn
            self._waiting[buf] = params
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="workflow-check", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                buf = next(iter(self._waiting))
                params = self._waiting.pop(buf)
            background.until_answered()  # the editor's answer first, then the check
            try:
                result = diagnose(params)
            except Exception as e:  # a bug: said on the buffer's first line, the traceback in the log
                log.exception("checking buffer %s failed", buf)
                message = f"internal error checking this file ({type(e).__name__}: {e}); see {log.file or 'the log'}"
                result = {
                    "buf": buf,
                    "tick": int(params.get("tick") or 0),
                    "path": str(params.get("path") or ""),
                    "items": [{"line": 1, "col": 1, "severity": "error", "message": message}],
                    "summary": message,
                }
            self._push({"diagnostics": result})
