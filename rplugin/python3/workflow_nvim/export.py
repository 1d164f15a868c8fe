"""A whole run as one Markdown document: ``:WorkflowExport`` and ``python -m workflow_nvim export``.

The person's step text is theirs and goes in as written; text from the
workflow file and the model is escaped (markdown_line, markdown_block).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import places
from .spec import read_regular

if TYPE_CHECKING:
    from .run import Run

MAX_NOTES_BYTES = 16 * 1024 * 1024
"""A notes file longer than this is not read by export."""

_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]])")
_BLOCK_START = re.compile(r"^( {0,3})(\d+(?=[.)]))?([#+=~|.)-])")  # 4 spaces make code: nothing to escape


def markdown_line(text: str) -> str:
    """Untrusted text (the model's, or a workflow file's) as one line of Markdown that shows it as it is.

    Line breaks become spaces, so it cannot start a heading or a list or
    close a fence; ``<``, ``>`` and ``&`` become entities, so it cannot be
    HTML; backslashes, backticks, ``*``, ``_`` and brackets are escaped, so it
    cannot open code, emphasis, a link or an image (which a viewer would fetch).
    """
    return _escape(" ".join(text.split()))


def markdown_block(text: str) -> str:
    """Untrusted lines of text as Markdown paragraphs that show them as they are.

    As markdown_line, but line by line, and a line cannot begin a block: a
    heading, a quote, a list, a table or a fence marker at its start is escaped.
    """
    return "\n".join(_BLOCK_START.sub(r"\1\2\\\3", _escape(line)) for line in text.split("\n"))


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_INLINE.sub(r"\\\1", text)


def read_notes(path: Path) -> dict[str, Any] | None:
    """The notes file next to a step (written by the plugin, but it may be edited or broken).

    None if there is none; a dict with ``problem`` set if it cannot be used.
    """
    try:
        data = read_regular(path, MAX_NOTES_BYTES)
    except FileNotFoundError:
        return None
    except OSError as e:
        return {"problem": f"cannot be read: {e.strerror}"}
    if len(data) > MAX_NOTES_BYTES:
        return {"problem": "is over 16 MiB"}
    try:
        notes = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        return {"problem": "is not JSON"}
    if not isinstance(notes, dict):
        return {"problem": "is not a JSON object"}
    return notes


def _notes_lines(path: Path) -> list[str]:
    """The Markdown quote of the model's notes on a step; every value from the file is checked and escaped."""
    notes = read_notes(path)
    if notes is None:
        return []
    if "problem" in notes:
        return ["", f"> _(the notes file {path.name} {notes['problem']})_"]
    model = notes.get("model")
    summary = notes.get("summary")
    head = f"> Notes by {markdown_line(model) if isinstance(model, str) and model else 'the model'}"
    out = ["", head + (f": {markdown_line(summary)}" if isinstance(summary, str) and summary.strip() else "")]
    items = notes.get("notes")
    for n in items if isinstance(items, list) else []:
        if not isinstance(n, dict) or not isinstance(n.get("note"), str):
            continue
        line = n.get("line")
        where = f"line {line}" if isinstance(line, int) and not isinstance(line, bool) else "line ?"
        severity = n.get("severity")
        kind = f" ({markdown_line(severity)})" if isinstance(severity, str) and severity else ""
        out.append(f"> - {where}{kind}: {markdown_line(n['note'])}")
    return out


def markdown(run: Run) -> str:
    """The whole run: the steps in order, each with its notes; when it is finished, when."""
    wf = run.workflow
    out = [
        f"# {markdown_line(wf.title)}",
        "",
        f"Run {run.id} of workflow `{wf.name}`: {len(run.completed)}/{len(wf.steps)} steps done.",
    ]
    finished, date = run.finish_state
    if finished:
        out[-1] += f" Finished {(date or '')[:16].replace('T', ' ')}."
    if wf.description:
        out += ["", markdown_block(wf.description)]
    skipped = run.skipped
    for step in wf.steps:
        text = run.text(step).rstrip("\n")
        state = " (skipped)" if step.id in skipped else "" if step.id in run.completed else " (not done)"
        out += ["", f"## {step.index}. {markdown_line(step.title)}{state}", ""]
        empty = "_(skipped)_" if step.id in skipped else "_(empty)_" if step.id in run.completed else "_(not started)_"
        out.append(text if text else empty)
        out += _notes_lines(run.notes_path(step))
    return "\n".join(out)


def default_path(run: Run) -> Path:
    """Where :WorkflowExport writes without a file name: never among a project's files.

    A run that is a repository of its own: beside it, ``<runs_dir>/<run id>.md`` (its runs_dir is
    outside any project, or ignored by it). A run inside a project: the plugin's data directory,
    ``exports/<run id>.md``, where no ``git status`` lists it.
    """
    if run.repo.standalone:
        return run.dir.parent / f"{run.id}.md"
    return places.plugin().exports / f"{run.id}.md"
