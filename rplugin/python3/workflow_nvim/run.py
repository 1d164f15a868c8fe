"""A run: one person's way through one workflow, kept in a directory of plain files.

The run directory is the whole record of a run, readable without this plugin::

    <runs_dir>/<run id>/
        workflow.yaml      the workflow file as it was when the run started
        01-topic.md        one file per step, created when the step is first opened
        02-outline.md

Step files are written atomically, so a crash never leaves half a file.
The layout is stable so that the directory can become a git repository with
one commit per completed step.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import WorkflowError
from .spec import Step, Workflow, render

SNAPSHOT_NAME = "workflow.yaml"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def new_run_id(name: str, now: _dt.datetime) -> str:
    """A run id that sorts by start time and says which workflow it follows."""
    return f"{now:%Y%m%d-%H%M%S}-{name}"


class Run:
    """A run in progress: its directory, its workflow, where the person is."""

    def __init__(self, run_id: str, directory: Path, workflow: Workflow):
        self.id = run_id
        self.dir = directory
        self.workflow = workflow
        self.current = workflow.steps[0]
        self.completed: set[str] = set()

    @classmethod
    def start(cls, workflow: Workflow, runs_dir: Path, now: _dt.datetime | None = None) -> Run:
        """Create a new run directory with a snapshot of the workflow file."""
        now = now or _dt.datetime.now()
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
            base = new_run_id(workflow.name, now)
            run_id, n = base, 1
            while True:
                try:
                    (runs_dir / run_id).mkdir()
                    break
                except FileExistsError:
                    n += 1
                    run_id = f"{base}-{n}"
            directory = runs_dir / run_id
            (directory / SNAPSHOT_NAME).write_bytes(workflow.source)
        except OSError as e:
            raise WorkflowError(
                f"cannot create a run in {runs_dir}: {e.strerror}; set vim.g.workflow.runs_dir to a writable directory"
            ) from e
        return cls(run_id, directory, workflow)

    # -- steps ---------------------------------------------------------------

    def path(self, step: Step) -> Path:
        return self.dir / self.workflow.filename(step)

    def text(self, step: Step) -> str:
        """The saved text of a step ('' if it was never opened)."""
        try:
            return self.path(step).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError as e:
            raise WorkflowError(f"{self.path(step)} is not UTF-8 text: save it as UTF-8") from e

    def texts_before(self, step: Step) -> dict[str, str]:
        """Earlier steps' texts by id, for ``${step_id}``, without the final newline."""
        return {s.id: self.text(s).rstrip("\n") for s in self.workflow.steps[: step.index - 1]}

    def instructions(self, step: Step) -> str:
        return render(step.instructions, self.texts_before(step)).rstrip("\n")

    @property
    def frontier(self) -> Step:
        """The furthest step the person may open: the first one not completed."""
        for s in self.workflow.steps:
            if s.id not in self.completed:
                return s
        return self.workflow.steps[-1]

    @property
    def finished(self) -> bool:
        return len(self.completed) == len(self.workflow.steps)

    def enter(self, step: Step) -> Path:
        """Make ``step`` current, creating its file from the template on first visit."""
        if step.index > self.frontier.index:
            raise WorkflowError(
                f"step '{step.id}' is not reached yet: complete '{self.frontier.id}' first (:WorkflowNext)"
            )
        path = self.path(step)
        if not path.exists():
            try:
                write_atomic(path, render(step.template, self.texts_before(step)))
            except OSError as e:
                raise WorkflowError(f"cannot write {path}: {e.strerror}") from e
        self.current = step
        return path

    def complete(self, step: Step) -> Step | None:
        """Mark ``step`` completed; return the step after it, or None after the last."""
        if not self.path(step).exists():
            raise WorkflowError(f"{self.path(step)} is missing: was it deleted? :WorkflowGoto {step.id} recreates it")
        self.completed.add(step.id)
        if step.index < len(self.workflow.steps):
            return self.workflow.steps[step.index]
        return None

    # -- description ---------------------------------------------------------

    def progress(self, step: Step) -> str:
        return f"Step {step.index}/{len(self.workflow.steps)}: {step.title}"

    def state(self) -> dict[str, Any]:
        """The stable description behind WorkflowState()."""
        return {
            "workflow": self.workflow.name,
            "title": self.workflow.title,
            "run": self.id,
            "dir": str(self.dir),
            "step": self.current.index,
            "total": len(self.workflow.steps),
            "finished": self.finished,
            "steps": [
                {
                    "id": s.id,
                    "title": s.title,
                    "done": s.id in self.completed,
                    "file": str(self.path(s)),
                }
                for s in self.workflow.steps
            ],
        }
