"""``python -m workflow_nvim reannotate RUN_DIR STEP``: ask the model again, compare the notes.

A step's notes file records what the model was asked (``request``: the model
and its digest, the prompt and system message, the options; see
annotate.Sent). This sends that request again, unchanged, to the same model
and says whether the notes that come back are the recorded ones. A local
model is a file: with the same weights (the digest), the same prompt and
temperature 0 with a fixed seed, the same server build on the same kind of
hardware gives the same answer. When the server's digest for the model is not
the recorded one, nothing is sent (``force`` sends anyway).
"""

from __future__ import annotations

import difflib
import json
import threading
from pathlib import Path
from typing import Any

from .errors import WorkflowError
from .options import DEFAULT_FIRST_TOKEN_TIMEOUT
from .spec import count

SAME, DIFFERENT, NOT_COMPARED = 0, 1, 4  # exit statuses
COMPARED = ("summary", "notes", "incomplete", "lines", "dropped")  # what must match in the notes file


class Outcome:
    """What reannotate found: its exit status and the lines to print."""

    def __init__(self, status: int, lines: list[str]):
        self.status, self.lines = status, lines


def reannotate(
    run_dir: Path,
    step_key: str,
    force: bool = False,
    host: str | None = None,
    allow_remote: bool = False,
    timeout: float = DEFAULT_FIRST_TOKEN_TIMEOUT,
) -> Outcome:
    """Send step ``step_key``'s recorded request again; compare the answer with its notes.

    WorkflowError (one line) when nothing could be compared: no notes, no recorded request, a
    server that cannot be asked, or (without ``force``) a model whose digest is not the recorded one.
    """
    from .annotate import Annotation, Progress, Request, Sent, digest_of, notes_record
    from .destination import ServerTrouble, destination, get_json
    from .export import read_notes
    from .run import Run

    run = Run.open(run_dir)
    try:
        step = run.workflow.step(step_key)
        notes_path = run.notes_path(step)
    finally:
        run.close()
    what = f"step {step.index} '{step.title}'"
    recorded = read_notes(notes_path)
    if recorded is None:
        raise WorkflowError(f"{what} has no notes ({notes_path.name}): annotate it first")
    if "problem" in recorded:
        raise WorkflowError(f"the notes file {notes_path.name} {recorded['problem']}")
    sent = Sent.of(recorded.get("request"))
    if sent is None:
        raise WorkflowError(f"{notes_path.name} records no request (notes made before requests were kept)")
    lines = recorded.get("lines")
    first, last = 1, 1
    if isinstance(lines, list) and len(lines) == 2 and all(type(n) is int for n in lines):
        first, last = lines

    where = destination(host, allow_remote)
    unusable = where.unusable()
    if unusable:
        raise WorkflowError(unusable)
    if not (where.local or allow_remote):
        raise WorkflowError(f"not sent: {where.host} is remote (--allow-remote sends your text there)")
    try:
        now = digest_of(sent.model, get_json(where, "/api/tags", 10.0))
    except ServerTrouble as e:
        raise WorkflowError(str(e)) from None
    recorded_model = f"{sent.model}@{sent.digest}" if sent.digest else f"{sent.model} (no digest recorded)"
    if now != sent.digest and sent.digest is not None and not force:
        here = f"{sent.model}@{now}" if now else f"no {sent.model}"
        raise WorkflowError(f"not sent: {where.url} has {here}, the notes were written by {recorded_model} (--force)")

    done = threading.Event()
    collected: list[dict[str, Any]] = []
    final: list[Progress] = []

    def report(p: Progress) -> None:
        collected.extend(n.to_dict() for n in p.notes)
        if p.done:
            final.append(p)
            done.set()

    annotation = Annotation(
        Request(lines=[], first_line=first),
        sent.model,
        where.url,
        report,
        first_token_timeout=timeout,
        allow_remote=allow_remote,
        source=where.source,
        replay=sent,
        replay_last=last,
    )
    annotation.start()
    annotation.wait()
    p = final[0] if final else Progress(done=True, error="the annotation ended without an answer")
    if p.error:
        raise WorkflowError(p.error)
    again = notes_record(sent.model, collected, p, annotation.sent)
    old = {k: recorded.get(k) for k in COMPARED}
    new = {k: again.get(k) for k in COMPARED}
    model = f"{sent.model}@{now}" if now else sent.model
    # Sent with --force to a model whose digest is not the recorded one: said, naming both.
    by = f" by {recorded_model} (another digest)" if sent.digest is not None and now != sent.digest else ""
    if old == new:
        notes = count(len(new["notes"]) if isinstance(new["notes"], list) else 0, "note")
        return Outcome(SAME, [f"same: {what}, {notes} and the summary from {model}, as recorded{by}"])
    diff = difflib.unified_diff(
        _shown(old).splitlines(), _shown(new).splitlines(), f"recorded {notes_path.name}", f"{model} now", lineterm=""
    )
    said = f"{model} did not give the notes recorded{by}" if by else f"{model} did not give the recorded notes"
    return Outcome(DIFFERENT, [f"different: {what}, {said}:", *diff])


def _shown(record: dict[str, Any]) -> str:
    """A notes record as lines to compare: one per note, so that a diff names the note that changed."""
    out = [f"summary: {json.dumps(record.get('summary'), ensure_ascii=False)}"]
    for key in ("incomplete", "lines", "dropped"):
        out.append(f"{key}: {json.dumps(record.get(key))}")
    notes = record.get("notes")
    for n in notes if isinstance(notes, list) else []:
        out.append(f"note: {json.dumps(n, ensure_ascii=False, sort_keys=True)}")
    return "\n".join(out)
