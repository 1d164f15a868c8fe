"""A run: one person's way through one workflow, kept in a directory of plain files.

The run directory is the whole record of a run, readable without this plugin::

    <runs_dir>/<run id>/
        .git/              the run's history, one commit per completed step
        workflow.yaml      the workflow file as it was when the run started
        01-topic.md        one file per step, created when the step is first opened
        02-outline.md
        .start/01-topic.md the step's template as rendered when its file was created,
                           committed with it: what ``d`` in :WorkflowLog diffs a first completion from
        .start/02-outline.copies.json
                           the earlier steps' texts that template copied (``${topic}``), committed
                           with it: which copies are out of date once those steps are revised

When ``runs_dir`` is inside a git repository (a project), there is no
``.git`` of the run's own: its commits go to that repository. Which steps are
done is read from the commits' trailers (see history.py); it is never stored
anywhere else. Step files are written atomically, so a crash never leaves
half a file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from . import scratch
from .catalog import Catalog
from .errors import WorkflowError
from .history import (
    TRAILER_CHECK,
    TRAILER_EXIT,
    TRAILER_REOPENED,
    TRAILER_REVERT,
    TRAILER_RUN,
    TRAILER_SAVED,
    TRAILER_SKIPPED,
    TRAILER_STEP,
    TRAILER_WORKFLOW,
    Entry,
    RunRepository,
    commit_message,
    completed_steps,
    notes_trailers,
)
from .lock import Holder, RunLock
from .reflow import reflow
from .scratch import write_atomic
from .spec import (
    MAX_RENDERED,
    NotRegularFile,
    Step,
    StepTemplate,
    Workflow,
    WorkflowInvalid,
    count,
    load_workflow,
    read_regular,
    render,
)

SNAPSHOT_NAME = "workflow.yaml"
START_DIR = ".start"  # the text each step file started with (see Run.start_path)
PIN_NAME = f"{START_DIR}/run.json"  # the run's project directory and workflow file (see Run.project)
MAX_STEP_BYTES = 16 << 20  # a step's text, read back for templates and the model's context
MAX_NOTES_BYTES = 16 << 20  # a notes file, read back for the trailers of the commit that carries it


def new_run_id(name: str, now: _dt.datetime, n: int = 1) -> str:
    """A run id that sorts by start time and says which workflow it follows.

    The n-th run started in the same second gets ``-n`` before the name (names
    start with a letter, so the name can always be read back from the id).
    """
    return f"{now:%Y%m%d-%H%M%S}-{name}" if n == 1 else f"{now:%Y%m%d-%H%M%S}-{n}-{name}"


RUN_ID_RE = re.compile(r"(\d{8}-\d{6})-(?:(\d+)-)?([a-z][a-z0-9_-]*)\Z")


def workflow_name(run_id: str) -> str | None:
    """The workflow name in a run id, or None if it is not a run id."""
    m = RUN_ID_RE.match(run_id)
    return m[3] if m else None


def run_dirs(*runs_dirs: Path) -> list[Path]:
    """The directories in ``runs_dirs`` named as runs, newest first: by start second, then the n-th run
    started in that second (none from a directory that cannot be read)."""
    found = []
    for runs_dir in runs_dirs:
        try:
            found += [(m, d) for d in runs_dir.iterdir() if (m := RUN_ID_RE.match(d.name)) and d.is_dir()]
        except OSError:
            continue
    return [d for m, d in sorted(found, key=lambda f: (f[0][1], int(f[0][2] or 1), f[1].name), reverse=True)]


class PendingCommit(NamedTuple):
    """A completed step whose commit is still to be made."""

    step: Step
    paths: list[Path]
    message: list[str]
    subject: str
    revised: bool  # the step is done already in the run's history as it stands (not undone by a revert)
    unchanged: bool = False  # a revision with nothing new: no commit is made
    skipped: bool = False  # an optional step completed with :WorkflowSkip


class ReadOnly(WorkflowError):
    """The run is open in another editor."""


class Run:
    """A run in progress: its directory, its workflow, its history, where the person is."""

    def __init__(self, run_id: str, directory: Path, workflow: Workflow, repo: RunRepository, entries: list[Entry]):
        self.id = run_id
        self.dir = directory
        self.workflow = workflow
        self.repo = repo
        self.entries = entries
        self.completed: set[str] = set(completed_steps(entries))
        self.current = self.frontier
        self.lock: RunLock | None = None
        self.notices: list[str] = []  # one line each, for the person at the next response
        self.held_by: Holder | None = None  # another editor that has this run: read-only here
        self._finish: tuple[bool, str | None] | None = None  # (finished?, when), read from git on first use

    @classmethod
    def start(
        cls,
        workflow: Workflow,
        runs_dir: Path,
        now: _dt.datetime | None = None,
        lazy: bool = False,
        project: Path | None = None,
    ) -> Run:
        """Create a new run directory with a snapshot of the workflow file, and its repository.

        With ``lazy``, a new standalone repository is made on first use instead
        (the caller prepares it in the background). ``project``: where its commands run, pinned in
        ``.start/run.json`` with the workflow file it came from."""
        now = now or _dt.datetime.now()
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
            runs_dir = runs_dir.resolve()
            n = 1
            while True:
                run_id = new_run_id(workflow.name, now, n)
                try:
                    (runs_dir / run_id).mkdir()
                    break
                except FileExistsError:
                    n += 1
            directory = runs_dir / run_id
            (directory / SNAPSHOT_NAME).write_bytes(workflow.source)
            if project is not None:
                (directory / START_DIR).mkdir(exist_ok=True)
                # Relative to the run: committed with it, it names no one's home, and moves with both.
                pin = {
                    "project": os.path.relpath(project.resolve(), directory),
                    "workflow": os.path.relpath(workflow.path.resolve(), directory),
                }
                (directory / PIN_NAME).write_text(json.dumps(pin), encoding="utf-8")
        except OSError as e:
            raise WorkflowError(
                f"cannot create a run in {runs_dir}: {e.strerror}; set g:workflow.runs_dir to a writable directory"
            ) from e
        try:
            repo = RunRepository.open(directory, create=True)
            if not lazy:
                repo.prepare()
            if not repo.standalone:
                problem = repo.refusal() or repo.identity_problem()
                if problem:
                    raise WorkflowError(f"cannot start a run in {runs_dir}: {problem}")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)  # ours, just made: nothing of the person's is in it
            raise
        return cls(run_id, directory, workflow, repo, [])

    @classmethod
    def open(cls, directory: Path, catalog: Catalog | None = None, create: bool = False) -> Run:
        """Reopen an existing run from its directory and its history (after a restart or crash).

        ``catalog`` remembers parsed snapshots, so listing many runs stays cheap. With ``create``
        (resuming it), a run whose editor quit before its repository was made gets one now."""
        directory = directory.resolve()
        name = workflow_name(directory.name)
        snapshot = directory / SNAPSHOT_NAME
        if name is None or not snapshot.is_file():
            raise WorkflowError(f"{directory} is not a run directory (no {SNAPSHOT_NAME} or not a run id)")
        try:
            workflow = catalog.load(snapshot, name) if catalog else load_workflow(snapshot, name=name)
        except WorkflowInvalid as e:
            raise WorkflowError(f"the run's workflow snapshot is invalid: {e}") from e
        repo = RunRepository.open(directory, create=create)
        history = repo.history(directory.name, workflow.name, [s.id for s in workflow.steps])
        run = cls(directory.name, directory, workflow, repo, history.entries)
        guessed = sum(e.from_subject for e in history.entries)
        if guessed:
            run.notices.append(
                f"{count(guessed, 'commit')} had no Workflow-* trailers (a commit-msg hook?): read from subjects"
            )
        if history.unread:
            run.notices.append(
                f"{count(history.unread, 'commit')} in the run's history could not be read as steps: not counted"
            )
        return run

    def recover(self) -> None:
        """Finish what a commit cut short by the editor quitting or ``kill -9`` left (see history.py).

        Only for the Neovim that holds the run: it is the one that writes."""
        scratch.clean(self.dir)
        note = self.repo.recover()
        if note:
            self.notices.append(note)
            self.entries = self.repo.history(self.id, self.workflow.name, [s.id for s in self.workflow.steps]).entries
            self.completed = set(completed_steps(self.entries))
            self.current = self.frontier

    def take_lock(self, editor_pid: int | None) -> None:
        """Claim the run for this editor; if another one has it, the run is read-only here."""
        if not editor_pid:
            return
        self.lock = RunLock(self.repo.git_dir / "workflow-locks" / f"{self.id}.lock", int(editor_pid))
        try:
            self.held_by = self.lock.acquire()
        except OSError:
            self.held_by = None  # a read-only git dir: no locking, but never a refusal to work

    def close(self) -> None:
        """Release the lock and git's processes; the files stay."""
        if self.lock and self.held_by is None:
            with contextlib.suppress(OSError):
                self.lock.release()
        self.repo.close()

    def writable(self) -> None:
        """Raise ReadOnly when another editor has this run, or when it is finished."""
        if self.held_by is not None:
            # What matters first, for a message cut to the screen's width.
            raise ReadOnly(
                f"run {self.id} is read-only here: {self.held_by.describe()} has it open; "
                f"finish there, or quit that {self.held_by.name()} and :WorkflowResume here"
            )
        if self.is_finished:
            raise ReadOnly(self.finished_notice)

    # -- finishing -----------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        """Whether the run is finished: its finish ref marks its history (see history.finished_ref)."""
        return self.finish_state[0]

    @property
    def finish_state(self) -> tuple[bool, str | None]:
        """(finished?, the finish's date, ISO 8601); git is asked once, then kept."""
        if self._finish is None:
            self._finish = self.repo.finish_state(self.id) if self.entries else (False, None)
        return self._finish

    @property
    def finished_notice(self) -> str:
        """The one line a finished run's step buffers show."""
        return f"run {self.id} is finished: :WorkflowReopen to change it"

    def summary(self, who: str) -> str:
        """The finish tag's message: the workflow, each step with the date of its last completion, who."""
        lines = [f"{self.workflow.name}: finished {self.workflow.title}", ""]
        dates: dict[str, str] = {}
        for e in self.entries:
            if e.kind == "step":
                dates[e.step_id] = e.date[:16].replace("T", " ")
        skipped = self.skipped
        for s in self.workflow.steps:
            when = dates.get(s.id, "not done")
            lines.append(f"{s.index}. {s.title} ({'skipped ' if s.id in skipped else ''}{when})")
        return "\n".join([*lines, "", f"by {who}"])

    def finish(self) -> str:
        """Mark the run finished (every step is done); return its finish ref."""
        ref, date = self.repo.finish(self.id, self.summary(self.repo.who()))
        self._finish = (True, date)
        return ref

    def reopen(self) -> str:
        """Make a finished run editable again, in a commit that says so; return what happened."""
        if self.held_by is not None:
            self.writable()
        finished, date = self.finish_state
        if not finished:
            raise WorkflowError(f"run {self.id} is not finished: there is nothing to reopen")
        subject = f"{self.workflow.name}: reopened"
        body = f'"{self.workflow.title}" can be changed again; it was finished {(date or "")[:16].replace("T", " ")}.'
        trailers = f"{TRAILER_WORKFLOW}: {self.workflow.name}\n{TRAILER_RUN}: {self.id}\n{TRAILER_REOPENED}: {date}"
        commit = self.repo.commit_empty([subject, body, trailers], f"the reopening of run {self.id}")
        self._take_warning()
        self._finish = (False, None)
        return f"run {self.id} reopened (commit {commit[:7]}): completing its last step finishes it again"

    # -- steps ---------------------------------------------------------------

    def _pin(self) -> dict[str, Any]:
        try:
            value = json.loads(read_regular(self.dir / PIN_NAME, 1 << 16))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def project(self) -> Path | None:
        """The project directory pinned when the run started (its commands run there); None for
        runs made before it was pinned."""
        value = self._pin().get("project")
        return Path(os.path.normpath(self.dir / value)) if isinstance(value, str) and value else None

    @property
    def origin(self) -> Path | None:
        """The workflow file the run was started from, when known."""
        value = self._pin().get("workflow")
        return Path(os.path.normpath(self.dir / value)) if isinstance(value, str) and value else None

    def command_path(self, step: Step) -> Path:
        """How ``step``'s command last ended: ``.start/03-tests.command.json``, committed with it."""
        return self.dir / START_DIR / f"{Path(self.workflow.filename(step)).stem}.command.json"

    def last_exit(self, step: Step) -> int | None:
        """The exit status of ``step``'s command when it last ran (None: it has not run)."""
        try:
            value = json.loads(read_regular(self.command_path(step), 1 << 16))
        except (OSError, ValueError):
            return None
        status = value.get("exit") if isinstance(value, dict) else None
        return status if isinstance(status, int) else None

    def notes_path(self, step: Step) -> Path:
        """Where the latest model notes on a step are kept: ``01-topic.notes.json``."""
        return self.dir / f"{Path(self.workflow.filename(step)).stem}.notes.json"

    def notes_request(self, step: Step) -> Any:
        """The ``request`` recorded in ``step``'s notes file (what the model was asked), or None."""
        try:
            data = json.loads(read_regular(self.notes_path(step), MAX_NOTES_BYTES))
        except (OSError, ValueError, RecursionError):
            return None
        return data.get("request") if isinstance(data, dict) else None

    def path(self, step: Step) -> Path:
        return self.dir / self.workflow.filename(step)

    def start_path(self, step: Step) -> Path:
        """Where the text ``step``'s file started with is kept: ``.start/01-topic.md``.

        Written with the step file, committed with it; runs made before it existed have none."""
        return self.dir / START_DIR / self.workflow.filename(step)

    def copies_path(self, step: Step) -> Path:
        """Where the earlier steps' texts that ``step``'s template copied are kept:
        ``.start/02-outline.copies.json``, ``{"copied": {step id: text}}``.

        Written with the step file when its template copies something, committed with it."""
        return self.dir / START_DIR / f"{Path(self.workflow.filename(step)).stem}.copies.json"

    def extras(self, step: Step) -> list[Path]:
        """The files kept beside ``step``'s file that are part of its history, those that exist:
        the text it started with, what its template copied, the model's notes."""
        kept = (self.start_path(step), self.copies_path(step), self.notes_path(step), self.command_path(step))
        return [p for p in kept if p.exists()]

    def copied(self, step: Step) -> dict[str, str]:
        """What ``step``'s template copied from earlier steps, by step id ({} when nothing, or unknown)."""
        try:
            data = json.loads(read_regular(self.copies_path(step), 4 * MAX_RENDERED))
        except (OSError, ValueError):  # none (nothing copied, or a run made before copies were kept)
            return {}
        copied = data.get("copied") if isinstance(data, dict) else None
        if not isinstance(copied, dict):
            return {}
        return {k: v for k, v in copied.items() if isinstance(k, str) and isinstance(v, str)}

    def stale_copies(self, step: Step) -> list[Step]:
        """The earlier steps whose text is no longer what ``step``'s template copied, in step order."""
        copied = self.copied(step)
        stale = []
        for s in self.workflow.steps[: step.index - 1]:
            if s.id not in copied:
                continue
            try:
                now = self.text(s).rstrip("\n")
            except WorkflowError:
                continue  # unreadable: said when that step is opened
            if now != copied[s.id]:
                stale.append(s)
        return stale

    def inputs(self, step: Step) -> dict[str, str]:
        """What ``step``'s command is given: the SHA-256 of each earlier step's saved text, by id."""
        import hashlib  # OpenSSL's: not on the path of a start (see test_server)

        found = {}
        for s in self.workflow.steps[: step.index - 1]:
            try:
                found[s.id] = hashlib.sha256(self.text(s).encode("utf-8")).hexdigest()
            except WorkflowError:
                continue
        return found

    def stale_inputs(self, step: Step) -> list[Step]:
        """The earlier steps whose text changed after ``step``'s command last ran (it reads them)."""
        if not step.run:
            return []
        try:
            value = json.loads(read_regular(self.command_path(step), 1 << 16))
        except (OSError, ValueError):
            return []
        seen = value.get("inputs") if isinstance(value, dict) else None
        if not isinstance(seen, dict):
            return []  # it has not run, or ran before inputs were kept
        now = self.inputs(step)
        return [s for s in self.workflow.steps[: step.index - 1] if s.id in seen and seen[s.id] != now.get(s.id)]

    def stale_note(self, step: Step) -> str:
        """One line naming the earlier steps revised since ``step`` copied them (or its command read
        them), and what to do; '' if none."""
        stale, ran = self.stale_copies(step), self.stale_inputs(step)
        if not stale and not ran:
            return ""

        def named(steps: list[Step]) -> str:
            names = [f"'{s.title}'" for s in steps]
            return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

        if ran:
            return f"{named(ran)} changed after this step's command ran: :WorkflowRun runs it again"
        it = "it" if len(stale) == 1 else "them"
        return f"{named(stale)} changed after this step copied {it}: :WorkflowRefresh updates the copy"

    def refresh(self, step: Step) -> tuple[str | None, list[Step], list[Step]]:
        """The saved text of ``step`` with the current text of each stale copy, where the copy is still as
        pasted (the front puts it in the buffer, an undoable change; the file is written when the buffer
        is saved); return it (None: unchanged), the steps refreshed, and those whose copy the person
        edited (left as they are).

        A copy is replaced only when its old text is found exactly as often as the template pastes
        it, so the person's own words are never touched. Every stale copy is recorded as seen."""
        self.writable()
        stale = self.stale_copies(step)
        copied = self.copied(step)
        text = original = self.text(step)
        # What the template put on each side of each reference: a copy still stands as pasted only
        # between those, or at a line's edge (a word typed onto its end makes it edited).
        template = step.template
        sides: dict[str, set[str]] = {}
        for at, ref in StepTemplate(template).references():
            if ref is not None:
                end = template.index("}", at) + 1
                sides.setdefault(ref, {"", "\n"}).update({template[at - 1 : at], template[end : end + 1]})
        refreshed, edited = [], []
        for s in stale:
            old, new = copied[s.id], self.text(s).rstrip("\n")
            found = _standing(text, old, sides.get(s.id, set()))
            if old and found and len(found) == sum(1 for _, r in StepTemplate(template).references() if r == s.id):
                for at in reversed(found):
                    text = text[:at] + new + text[at + len(old) :]
                refreshed.append(s)
            else:
                edited.append(s)
            copied[s.id] = new
        if stale:
            self._write_copies(step, copied)
        return (text if text != original else None), refreshed, edited

    def _write_copies(self, step: Step, copied: dict[str, str]) -> None:
        try:
            write_atomic(self.copies_path(step), json.dumps({"copied": copied}, indent=2, ensure_ascii=False) + "\n")
        except OSError as e:
            raise WorkflowError(f"cannot write {e.filename or self.copies_path(step)}: {e.strerror}") from e

    def text(self, step: Step) -> str:
        """The saved text of a step ('' if it was never opened)."""
        path = self.path(step)
        try:
            data = read_regular(path, MAX_STEP_BYTES)  # never waits on a FIFO, never reads /dev/zero
        except FileNotFoundError:
            return ""
        except NotRegularFile as e:
            raise WorkflowError(
                f"{path} is {str(e.strerror).removeprefix('it is ')}: replace it with a text file"
            ) from None
        if len(data) > MAX_STEP_BYTES:
            raise WorkflowError(f"{path} is over {MAX_STEP_BYTES >> 20} MiB: too long for a step's text")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise WorkflowError(f"{path} is not UTF-8 text: save it as UTF-8") from e

    def texts_before(self, step: Step) -> dict[str, str]:
        """The texts of the earlier steps that ``step`` uses (``${step_id}``), without the final newline."""
        used = step.references()
        return {s.id: self.text(s).rstrip("\n") for s in self.workflow.steps[: step.index - 1] if s.id in used}

    def instructions(self, step: Step) -> str:
        """The step's instructions filled in, one line per paragraph (see reflow.py): a front wraps them.

        Reflowed before the earlier steps' texts go in, so those keep the person's own lines.
        """
        text = reflow(step.instructions)
        return render(text, self.texts_before(step), f"instructions of '{step.id}'").rstrip("\n")

    @property
    def frontier(self) -> Step:
        """The furthest step the person may open: the first one not completed."""
        for s in self.workflow.steps:
            if s.id not in self.completed:
                return s
        return self.workflow.steps[-1]

    @property
    def finished(self) -> bool:
        """Every step is done (is_finished: the run is marked finished, by its finish ref)."""
        return len(self.completed) == len(self.workflow.steps)

    def enter(self, step: Step) -> Path:
        """Make ``step`` current, creating its file from the template on first visit."""
        if step.index > self.frontier.index:
            raise WorkflowError(
                f"step '{step.id}' is not reached yet: complete '{self.frontier.id}' first (:WorkflowNext)"
            )
        path = self.path(step)
        if not path.exists() and self.held_by is None:  # read-only: never write into another's run
            texts = self.texts_before(step)
            text = render(step.template, texts, f"template of '{step.id}'")
            start = self.start_path(step)
            pasted = {ref for _, ref in StepTemplate(step.template).references() if ref in texts}
            try:
                start.parent.mkdir(exist_ok=True)
                write_atomic(start, text)
                if pasted:
                    self._write_copies(step, {ref: texts[ref] for ref in sorted(pasted)})
                else:  # a stale record of an earlier visit (a revert deletes it; a hand may not have)
                    self.copies_path(step).unlink(missing_ok=True)
                write_atomic(path, text)
            except OSError as e:
                raise WorkflowError(f"cannot write {e.filename or path}: {e.strerror}") from e
        self.current = step
        return path

    def begin_complete(
        self,
        step: Step,
        checks_failed: tuple[int, int] | None = None,
        skip: bool = False,
        force: bool = False,
        command_not_run: bool = False,
    ) -> PendingCommit:
        """Check that ``step`` can be committed and mark it done.

        ``checks_failed`` (failed, total, of the text checks): completed with :WorkflowNext! over
        failing checks, or (``command_not_run``) without running its check command, said in a
        ``Workflow-Check`` trailer. ``skip``: an optional step completed with no text (:WorkflowSkip).

        ``finish_complete`` then makes the commit (possibly on another thread). Only a revision
        runs git here (two quick processes), to tell whether there is anything to commit at all.
        """
        self.writable()
        path = self.path(step)
        if not path.exists():
            raise WorkflowError(f"{path} is missing: was it deleted? :WorkflowGoto {step.id} recreates it")
        if step.index > self.frontier.index:
            raise WorkflowError(
                f"step {self.frontier.index} '{self.frontier.title}' is not done yet: "
                f":WorkflowGoto {self.frontier.id} and complete it first"
            )
        refusal = self.repo.refusal()
        if refusal:
            raise WorkflowError(f"cannot commit step {step.index} '{step.title}' (your text is kept): {refusal}")
        status = self.last_exit(step) if step.run else None
        if step.run and status != 0 and not (force or skip):
            why = "its command has not run" if status is None else f"its command failed (exit {status})"
            raise WorkflowError(
                f"step {step.index} is not done: {why}; :WorkflowRun runs it, :WorkflowNext! completes it anyway"
            )
        total = len(self.workflow.steps)
        revised = step.id in self.completed  # reverted completions do not count
        subject = f"{self.workflow.name}: {step.index}/{total} {step.title}" + (" (revised)" if revised else "")
        subject += " (skipped)" if skip else ""
        extra = [f"{TRAILER_SKIPPED}: true"] if skip else []
        if checks_failed or command_not_run:
            failed, total = checks_failed or (0, 0)
            said = f"skipped, {failed} of {total} failed" + (", the command not run" if command_not_run else "")
            extra.append(f"{TRAILER_CHECK}: {said}")
        extra += notes_trailers(self.notes_request(step))  # the model and prompt of the notes it carries
        body = f'{step.title}, in "{self.workflow.title}".'
        paths = [path] if self.entries else [self.dir / SNAPSHOT_NAME, path]
        if not self.entries and (self.dir / PIN_NAME).exists():
            paths.append(self.dir / PIN_NAME)
        paths += self.extras(step)  # what it started from, what it copied and the model's notes: its history
        message = commit_message(
            subject, body, self.workflow.name, self.id, TRAILER_STEP, step.index, total, step.id, extra
        )
        if step.run and status is not None:
            message[-1] += f"\n{TRAILER_EXIT}: {status}"
        unchanged = revised and not self.repo.changed_paths([self.repo.rel(p) for p in paths])
        self.completed.add(step.id)
        return PendingCommit(step, paths, message, subject, revised, unchanged, skip)

    @staticmethod
    def completion_note(pending: PendingCommit, commit: str | None = None) -> str:
        """What completing a step did, in one line: done, revised, or nothing to commit."""
        step = pending.step
        what = f"step {step.index} '{step.title}'"
        if pending.unchanged:
            return f"{what} has not changed since its last commit: nothing to commit"
        done = "skipped" if pending.skipped else "revised" if pending.revised else "done"
        if any(line.startswith(f"{TRAILER_CHECK}:") for part in pending.message for line in part.split("\n")):
            done += ", its checks skipped"  # :WorkflowNext! over failing checks
        return f"{what} {done}" + (f" (commit {commit[:7]})" if commit else "")

    def after(self, step: Step) -> tuple[Step | None, str]:
        """The step to open once ``step`` is completed, and what the message adds about it.

        That is the first step not done (the person's frontier), not the one after ``step``: after
        revising step 2 with steps 3-4 done, step 5. None once every step is done."""
        if self.finished:
            return None, ""
        target = self.frontier
        if target.index == step.index + 1:
            return target, ""
        return target, f"; back to step {target.index} '{target.title}'"

    def finish_complete(self, pending: PendingCommit) -> str:
        """Make the commit of ``begin_complete``; return what happened. On failure the step is not done."""
        step = pending.step
        if pending.unchanged:
            return self.completion_note(pending)
        try:
            commit = self.repo.commit(pending.paths, pending.message, f"step {step.index} '{step.title}'")
        except WorkflowError:
            self.completed = set(completed_steps(self.entries))
            raise
        if commit is None:
            return self.completion_note(pending._replace(unchanged=True))
        self._record(commit, pending.subject, "step", step, pending.revised, pending.skipped)
        self._take_warning()
        return self.completion_note(pending, commit)

    def complete(self, step: Step) -> tuple[Step | None, str]:
        """Commit ``step`` now; return the step to open next (None when all are done) and what happened."""
        note = self.finish_complete(self.begin_complete(step))
        target, where = self.after(step)
        return target, note + where

    def revert(self, target: Step) -> tuple[list[Path], str]:
        """Make the steps after ``target`` pending again, in new commits; return the removed files and a note.

        Unfinished text of each later step is committed first, one commit per step
        (``Workflow-Saved``, "kept unfinished"), so everything stays reachable in
        history, each file from its own line of :WorkflowLog; nothing is reset.
        The note names every later step file and the commit that holds its text.
        """
        self.writable()
        total = len(self.workflow.steps)
        later = [s for s in self.workflow.steps if s.index > target.index]
        files = {s.id: self.path(s) for s in later if self.path(s).exists()}
        if not files and not any(s.id in self.completed for s in later):
            self.current = target
            return [], f"nothing to revert: no step after {target.index} '{target.title}' was started"
        unsaved = self.repo.changed_paths([self.repo.rel(p) for p in files.values()])
        kept: dict[str, str] = {}  # step id -> the short hash of the commit that holds its text
        for s in later:
            if s.id not in files or self.repo.rel(files[s.id]) not in unsaved:
                continue
            subject = f"{self.workflow.name}: kept unfinished {s.index}/{total} {s.title}"
            body = f"Saved before going back to step {target.index}: {s.index} {s.title}."
            message = commit_message(subject, body, self.workflow.name, self.id, TRAILER_SAVED, s.index, total, s.id)
            paths = [files[s.id], *self.extras(s)]
            commit = self.repo.commit(paths, message, f"the unfinished step {s.index}")
            if commit:
                self._record(commit, subject, "saved", s, False)
                kept[s.id] = commit[:7]
        before = self.repo.head()
        for s in later:
            if s.id in files and s.id not in kept:  # committed already: by its last completion or save
                last = [e.short for e in self.entries if e.step_id == s.id and e.kind in ("step", "saved")]
                kept[s.id] = last[-1] if last else before[:7]
        subject = f"{self.workflow.name}: back to {target.index}/{total} {target.title}"
        steps_word = count(len(later), "later step")
        body = f"{steps_word} pending again; their text stays in the parent commit."
        message = commit_message(
            subject, body, self.workflow.name, self.id, TRAILER_REVERT, target.index, total, target.id
        )
        # Also the files of completed later steps that were deleted by hand: their deletion is the revert.
        gone = [self.path(s) for s in later if s.id in files or s.id in self.completed]
        beside = [p for s in later if self.path(s) in gone for p in (self.start_path(s), self.copies_path(s))]
        gone += [p for p in beside if p.exists()]
        commit = self.repo.commit(gone, message, f"the revert to step {target.index}", delete=gone)
        if commit:
            self._record(commit, subject, "revert", target, False)
        self._take_warning()
        self.completed = set(completed_steps(self.entries))
        self.current = target
        pending = f"{total}" if target.index + 1 == total else f"{target.index + 1}-{total}"
        note = f"back at step {target.index}, {pending} pending again"
        found = [(kept[s.id], files[s.id].name) for s in later if s.id in kept]
        if len(found) == 1:
            note += f"; {found[0][1]} kept: :WorkflowLog, <CR> on {found[0][0]}"
        elif found:
            note += "; kept: :WorkflowLog, <CR> on " + ", ".join(f"{commit} ({name})" for commit, name in found)
        return list(files.values()), note

    def timeline(self) -> list[Entry]:
        """The run as :WorkflowLog tells it, oldest first: its commits (``entries``), each finish
        after the commit it marks, each reopening after the commit it was made on.

        Finishes and reopenings are read apart from the steps' commits, here only, so that
        nothing that counts steps ever sees them. A finish whose commit is no longer in the
        run's history (a reset by hand) is left out, as ``finish_state`` leaves it out."""
        hashes = {e.hash for e in self.entries}
        after: dict[str, list[Entry]] = {}
        finishes = self.repo.finishes(self.id, len(self.workflow.steps))
        placed = [(commit, finish) for commit, finish in finishes if commit in hashes]
        for commit, finish in placed:
            after.setdefault(commit, []).append(finish)
        late: list[Entry] = []  # made on a commit that is not the run's (a project's own commit came between)
        for parent, reopened in self.repo.reopenings(self.id, placed[0][0]) if placed else []:
            if parent in hashes:
                after.setdefault(parent, []).append(reopened)
            else:
                late.append(reopened)
        out: list[Entry] = []
        for e in self.entries:
            while late and late[0].date < e.date:
                out.append(late.pop(0))
            out.append(e)
            out += after.get(e.hash, [])
        return out + late

    def diff(self, commit: str, file: Path | None) -> str:
        """What ``commit`` changed in ``file`` (every file of the run when None), as a patch.

        A step's first completion is shown against the text the step started with (its
        template as rendered): the lines the person wrote, not the whole file as new. Runs
        made before start files were kept show the whole file, as git does."""
        entry = next((e for e in self.entries if e.hash == commit), None)
        if entry is None and file is None:
            tag = self.repo.show_tag(commit)  # a finish, in :WorkflowLog
            if tag is not None:
                return tag
        if file is not None and entry is not None and entry.kind == "step" and not entry.revised:
            step = self.workflow.step(entry.step_id)
            if self.path(step) == self.dir / file:
                patch = self.repo.diff_from(commit, self.start_path(step), self.path(step))
                if patch is not None:
                    return patch
        return self.repo.diff(commit, file)

    def _take_warning(self) -> None:
        """What the last commits had to say besides their hash (the person's index was locked)."""
        warning, self.repo.last_warning = self.repo.last_warning, None
        if warning:
            self.notices.append(warning)

    @property
    def skipped(self) -> set[str]:
        """The steps done by :WorkflowSkip (their last completion, in the history as it stands)."""
        found: dict[str, bool] = {}
        order = {s.id: s.index for s in self.workflow.steps}
        for e in self.entries:
            if e.kind == "step":
                found[e.step_id] = e.skipped
            elif e.kind == "revert":
                found = {sid: v for sid, v in found.items() if order.get(sid, 0) <= e.index}
        return {sid for sid, v in found.items() if v and sid in self.completed}

    def _record(self, commit: str, subject: str, kind: str, step: Step, revised: bool, skipped: bool = False) -> None:
        self.entries.append(
            Entry(
                commit,
                commit[:7],
                _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                subject,
                kind,
                step.index,
                len(self.workflow.steps),
                step.id,
                revised,
                skipped=skipped,
            )
        )

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
            "finished": self.is_finished,  # its finish ref: every step done, not reopened since
            "readonly": self.held_by is not None or self.is_finished,
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


def _standing(text: str, old: str, sides: set[str]) -> list[int] | None:
    """Where ``old`` stands in ``text`` with one of ``sides`` (or the text's edge) just before and just
    after it: the places a copy is still as pasted. None when ``old`` also stands elsewhere, inside
    longer text (the person's words around it: leave it to them)."""
    found: list[int] = []
    at = text.find(old) if old else -1
    while at >= 0:
        before, after = text[at - 1 : at], text[at + len(old) : at + len(old) + 1]
        if before not in sides or after not in sides:
            return None
        found.append(at)
        at = text.find(old, at + len(old))
    return found
