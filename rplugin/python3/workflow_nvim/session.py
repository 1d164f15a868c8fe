"""The commands of one Neovim session, as plain Python.

Each command takes the parameters the Lua front door sends and returns a
response that the Lua side renders: lines to show, a step to open, and the
run's state for ``WorkflowState()``. Nothing here talks to Neovim, so every
command can be tested without an editor.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import dependencies, places
from .background import Worker
from .catalog import Catalog, SearchDir, default_dirs
from .display import shown, tilde
from .errors import WorkflowError
from .history import CommitRefused
from .logs import log
from .options import Options
from .run import SNAPSHOT_NAME, PendingCommit, Run, run_dirs
from .scratch import scratch_dir, write_atomic
from .spec import Step, count

if TYPE_CHECKING:  # the annotation modules (sockets, URLs) load with the first annotation, not at start
    from .annotate import Annotation, Progress, Sent
    from .checks import Outcome
    from .diagnostics import LiveChecks
    from .runner import NeedsTrust, Process

Response = dict[str, Any]

# Commands that read or change git history wait for background commits; the others never do.
GIT_COMMANDS = frozenset(
    {
        "start",
        "next",
        "skip",
        "revert",
        "log",
        "show",
        "runs",
        "unfinished",
        "resume",
        "stop",
        "wait",
        "reopen",
        "export",
    }
)
COMMIT_WAIT_TIMEOUT = 2.0  # seconds
WAIT_COMMAND_TIMEOUT = 10.0
LIST_PROBLEMS = 5  # problems :WorkflowList shows per file


class Session:
    """The state of one editor: at most one active run."""

    def __init__(self, notify: Callable[[Response], None] | None = None) -> None:
        """With ``notify`` (how the editor hears of results later), commits run in the
        background and their outcome is delivered through it; without, they run inline."""
        # validated workflows are kept in the plugin's cache: a start need not import PyYAML
        self.catalog = Catalog(places.plugin().spec_cache)
        self.run: Run | None = None
        self.notify = notify
        self._worker = Worker() if notify else None
        # The handlers are the cmd_ methods: protocol.COMMANDS less FRONT_ONLY, and protocol.INTERNAL.
        self._commands: dict[str, Callable[[dict[str, Any]], Response]] = {
            name.removeprefix("cmd_"): getattr(self, name) for name in vars(Session) if name.startswith("cmd_")
        }
        self.annotations: dict[int, Annotation] = {}  # buffer number -> the running one
        self.processes: dict[int, Process] = {}  # buffer number -> its step's command (or check command), running
        self._passed: dict[tuple[str, str], str] = {}  # (run, step) -> _check_key its check command passed on
        self.commands_running: set[tuple[str, str]] = set()  # (run, step) whose command runs
        self._autoran: set[tuple[str, str]] = set()  # (run, step) whose autorun was offered
        self._live_checks: LiveChecks | None = None

    @property
    def commands(self) -> list[str]:
        return list(self._commands)

    def handle(self, command: str, params: dict[str, Any]) -> Response:
        """Run ``command``; WorkflowError becomes an error response, other errors propagate."""
        try:
            fn = self._commands[command]
        except KeyError:
            raise WorkflowError(f"unknown command '{command}': try :Workflow <Tab>") from None
        if self._worker and command in GIT_COMMANDS:
            # These read or write the history: they see every commit made before them. A hook or
            # signing that takes long must not freeze the editor, so the wait is short. Quitting
            # Neovim waits less still (params.timeout): a commit it cuts short is made at the next resume.
            timeout = COMMIT_WAIT_TIMEOUT
            if command == "wait":
                timeout = WAIT_COMMAND_TIMEOUT
                with contextlib.suppress(TypeError, ValueError):
                    timeout = min(max(float(params.get("timeout", timeout)), 0.0), WAIT_COMMAND_TIMEOUT)
            if not self._worker.wait(timeout):
                raise WorkflowError(
                    "git is still making the last step commit (a slow hook, or signing waiting for a "
                    "passphrase?): try again in a moment"
                )
        response = fn(params)
        if self.run is not None and self.run.notices:
            # Said once: a commit made again after a quit, history read from subjects, a locked index.
            if "page" in response:  # a page is read at leisure: what is said once is a message
                response["warning"] = "; ".join(
                    [*([response["warning"]] if "warning" in response else []), *self.run.notices]
                )
            else:
                response["info"] = [*(response.get("info") or []), *self.run.notices]
            self.run.notices.clear()
        response["state"] = self.run.state() if self.run else None
        return response

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _dirs(params: dict[str, Any]) -> list[SearchDir]:
        """Where workflows are searched, nearest first (the rule is catalog.default_dirs)."""
        if params.get("dirs") is not None:
            return [SearchDir(kind, Path(path)) for kind, path in params.get("dirs") or []]
        cwd = params.get("cwd")
        return default_dirs(Path(str(cwd)) if cwd else None, Options.of(params).paths)

    @staticmethod
    def _arg(params: dict[str, Any], what: str, usage: str) -> str:
        args = params.get("args") or []
        if len(args) != 1:
            raise WorkflowError(f"{usage} takes one {what}")
        return str(args[0])

    def _active(self, params: dict[str, Any] | None = None) -> Run:
        if self.run is None and params and params.get("run_dir"):
            # The Python host restarted (a crash) while Neovim kept the run: reopen it from git.
            # A server that died during :WorkflowStart may have left the run without its repository.
            self._switch(Run.open(Path(str(params["run_dir"])), self.catalog, create=True), params)
        if self.run is None:
            raise WorkflowError("no workflow is running: start one with :WorkflowStart {name} (see :WorkflowList)")
        return self.run

    def _switch(self, run: Run | None, params: dict[str, Any]) -> Run | None:
        """Make ``run`` the active run (locking it); close the previous one and return it."""
        previous, stopped = self.run, None
        if previous is not None and previous is not run:
            if run is not None and previous.dir == run.dir:
                previous.repo.close()  # the same run, reopened: its lock stays
            else:
                previous.close()
                stopped = previous
        if run is not None:
            run.take_lock(params.get("editor_pid"))
            if run.held_by is None and run is not previous:
                run.recover()  # a commit the last Neovim (or Python host) did not see land
        self.run = run
        return stopped

    @staticmethod
    def _runs_read(params: dict[str, Any]) -> list[Path]:
        """Where runs are listed and resumed from: the runs directory, and Neovim's older one (places.py)."""
        return places.runs_read(Options.of(params).runs_dir)

    def _current(self, run: Run, params: dict[str, Any]) -> Step:
        """The step being worked on: the step buffer the person is in, else the run's current."""
        here = params.get("buffer_step")
        if isinstance(here, dict) and here.get("run") == run.id:
            try:
                return run.workflow.step(str(here.get("id")))
            except WorkflowError:
                pass
        return run.current

    def _open(self, run: Run, step: Step, message: str | None = None) -> Response:
        path = run.enter(step)
        response: Response = {
            "open": {
                "path": str(path),
                "run": run.id,
                "id": step.id,
                "index": step.index,
                "total": len(run.workflow.steps),
                "title": step.title,
                "filetype": step.filetype,
                "workflow": run.workflow.title,
                "progress": run.progress(step),
                "instructions": run.instructions(step).split("\n"),
                "readonly": run.held_by is not None or run.is_finished,
            }
        }
        if (run.id, step.id) in self.commands_running:
            response["open"]["running"] = True  # opened again while its command runs: no typing until it ends
        if run.held_by is None and run.is_finished:
            response["open"]["notice"] = run.finished_notice
        stale = run.stale_note(step)
        if stale:
            response["open"]["stale"] = stale
        if step.autorun and run.held_by is None and (run.id, step.id) not in self.commands_running:
            first = (run.id, step.id) not in self._autoran
            self._autoran.add((run.id, step.id))
            # The first opening runs it, and so does any opening once what it reads has changed.
            if (first and run.last_exit(step) is None) or run.stale_inputs(step):
                response["open"]["autorun"] = True  # the front runs it (:WorkflowRun) in the step's buffer
                response["open"].pop("stale", None)
        scratch = scratch_dir(run.dir)
        if scratch is not None:  # the editor's saves put their temporary files there too
            response["open"]["scratch"] = str(scratch)
        if message:
            response["info"] = [message]
        return response

    # -- commands ------------------------------------------------------------

    def cmd_start(self, params: dict[str, Any]) -> Response:
        name = self._arg(params, "workflow name", ":WorkflowStart")
        workflow = self.catalog.find(self._dirs(params), name)
        runs_dir = Options.of(params).runs_dir
        # Its commands run in the project whose .workflows/ it came from, else the editor's directory.
        cwd = Path(str(params.get("cwd") or Path.cwd()))
        project = workflow.path.parent.parent if workflow.path.parent.name == ".workflows" else cwd
        started = Run.start(workflow, runs_dir, lazy=self._worker is not None, project=project)
        previous = self._switch(started, params)
        assert self.run is not None
        if self._worker:
            self._worker.submit(self.run.repo.prepare)  # git init and GitPython's import, off the editor's path
        note = f"; run {previous.id} stopped, its files stay in {tilde(previous.dir)}" if previous else ""
        response = self._open(
            self.run,
            workflow.steps[0],
            f"started run {self.run.id} ({count(len(workflow.steps), 'step')}){note}",
        )
        if previous:
            # Its step buffers become plain buffers, so their maps cannot act on the new run.
            response["stopped"] = previous.id
        shadowed = self._shadowed_by_project(params, name)
        if shadowed:
            response["info"].append([shadowed, "warning"])
        run = self.run
        response["events"] = [
            {
                "name": "WorkflowStarted",
                "data": {
                    "workflow": run.workflow.name,
                    "title": run.workflow.title,
                    "run": run.id,
                    "dir": str(run.dir),
                },
            }
        ]
        return response

    def _shadowed_by_project(self, params: dict[str, Any], name: str) -> str | None:
        """A line naming the project's workflow ``name`` and the person's own one it replaces, if it does."""
        files = self.catalog.files(self._dirs(params), name)
        if not files or files[0][0].kind != "project":
            return None
        yours = [path for d, path in files[1:] if d.kind in ("user", "path")]
        if not yours:
            return None
        project, path = files[0]
        return f"this project's {path.relative_to(project.path.parent)} replaces your {tilde(yours[0])}"

    def cmd_next(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        here = params.get("buffer_step")
        if not (isinstance(here, dict) and here.get("run") == run.id):
            # Completing a step the person is not looking at would commit text they have not seen.
            step = run.current if run.current.index <= run.frontier.index else run.frontier
            return self._open(run, step, f"opened step {step.index} '{step.title}': :WorkflowNext in it completes it")
        run.writable()  # before the checks: a finished run says so, not what its checks find
        step = self._current(run, params)
        self._not_busy(params, step)
        outcome = self._step_checks(run, step)
        command = step.check.command if step.check else ""
        if params.get("bang"):
            # Completed anyway: the check command is never run (nor trust asked), and the trailer says so.
            not_run = bool(command) and not self._passed_as_is(run, step)
            failed = None
            if outcome is not None and (outcome.failed or not_run):
                failed = (outcome.failed, outcome.total)
            pending = run.begin_complete(step, failed, force=True, command_not_run=not_run)
        elif outcome is not None and outcome.failed:
            # Nothing is committed: the failures are drawn on their lines, summed up in one; the
            # command does not run.
            summary = outcome.summary()
            return {"diagnostics": self._step_diagnostics(run, step, params, outcome, summary), "warning": summary}
        elif command and not self._passed_as_is(run, step):
            # It runs in the background; its result is pushed (checked), and a pass is remembered for
            # this exact text: the front asks :WorkflowNext again, which then completes the step.
            assert outcome is not None
            return self._start_check(run, step, params, outcome, completes=True)
        else:
            pending = run.begin_complete(step)
        response = self._completed(run, step, pending)
        if outcome is not None:  # the step is done: its marks go
            response["diagnostics"] = self._step_diagnostics(run, step, params, outcome._replace(failures=[]), "")
        return response

    def _not_busy(self, params: dict[str, Any], step: Step) -> None:
        """Refuse a command while the step's command or check command runs in its buffer."""
        process = self.processes.get(int(params.get("buf") or 0))
        if process is not None:
            what = "check command" if process.what == "check" else "command"
            raise WorkflowError(f"step {step.index}'s {what} is still running: wait, or :WorkflowCancel")

    @staticmethod
    def _check_key(run: Run, step: Step) -> str:
        """What a passing check command vouches for: the step file's exact bytes, and the command."""
        import hashlib

        try:
            data = run.path(step).read_bytes()
        except OSError:
            data = b""
        command = step.check.command if step.check else ""
        return hashlib.sha256(data + b"\0" + command.encode()).hexdigest()

    def _passed_as_is(self, run: Run, step: Step) -> bool:
        """Whether the step's check command passed on the text its file holds now."""
        return self._passed.get((run.id, step.id)) == self._check_key(run, step)

    def _start_check(self, run: Run, step: Step, params: dict[str, Any], outcome: Outcome, completes: bool) -> Response:
        """Start the step's check command in the background (its text checks passed: ``outcome``);
        answer at once. Its result is pushed as {"checked": CheckedStep}; ``completes``: asked by
        :WorkflowNext, which the front gives again when it passed on an unchanged buffer."""
        from . import background, runner
        from .checks import COMMAND_TIMEOUT, Outcome, command_failure

        assert step.check is not None
        notify = self.notify
        if notify is None:
            raise WorkflowError("a check command needs an editor to report to")
        cwd = Path(str(params.get("cwd") or Path.cwd()))
        buf, tick = int(params.get("buf") or 0), int(params.get("tick") or 0)
        key = self._check_key(run, step)  # the text it checks: typing meanwhile does not count as checked

        def on_end(result: runner.Result) -> None:
            background.until_answered()  # the answer (checking...) goes out first
            if self.processes.get(buf) is process:
                del self.processes[buf]
            failure = command_failure(result)
            total = outcome.total + 1
            response: Response
            if failure is None:
                self._passed[(run.id, step.id)] = key
                passed = Outcome(total, [], 0)
                said = f"step {step.index}'s checks pass: :WorkflowNext completes it" if completes else passed.summary()
                response = {"diagnostics": self._step_diagnostics(run, step, params, passed, said), "info": [said]}
            else:
                failed = Outcome(total, [failure], 1)
                summary = failed.summary(completing=completes)
                response = {"diagnostics": self._step_diagnostics(run, step, params, failed, summary)}
                response["warning"] = summary
            checked = {"buf": buf, "tick": tick, "run": run.id, "id": step.id, "passed": failure is None}
            notify({"checked": {**checked, "completes": completes, "response": response}})

        try:
            process = runner.check_process(run, step, step.check.command, COMMAND_TIMEOUT, cwd, on_end)
        except runner.NeedsTrust as e:
            return {"trust": self._trust_question(e)}
        self.processes[buf] = process  # before it starts: its end finds it here
        try:
            process.start()
        except WorkflowError:
            del self.processes[buf]
            raise
        return {
            "diagnostics": self._step_diagnostics(run, step, params, outcome, ""),
            "info": [f"checking step {step.index}: its check command runs (:WorkflowCancel stops it)"],
        }

    def _completed(self, run: Run, step: Step, pending: PendingCommit) -> Response:
        """Commit ``pending`` (in the background when there is an editor) and open what comes next."""
        # An unchanged revision has nothing to commit: said at once, the only message.
        worker = None if pending.unchanged else self._worker
        if worker:
            # git runs while the editor opens the next step; its outcome comes through notify.
            worker.submit(lambda: self._commit_in_background(run, pending))
            note = run.completion_note(pending)
        else:
            note = run.finish_complete(pending)
        target, where = run.after(step)
        events = []
        if not worker:
            ref = self._finish(run, step)
            events = [] if note.endswith("nothing to commit") else step_events(run, step)
            events += finished_events(run, ref)
        if target is None:
            run.current = step
            skipped = len(run.skipped | ({step.id} if pending.skipped else set()))
            done = f"all {count(len(run.workflow.steps), 'step')} done" + (f", {skipped} skipped" if skipped else "")
            done += " (:WorkflowLog)"
            response = self._open(run, step)
            said = f"{note}; {done}" if pending.revised else f"{run.workflow.name} finished: {done}"
            if step.index == len(run.workflow.steps):
                # The run is finished once its commit lands: its buffers are read-only from now on.
                response["open"].update(readonly=True, notice=run.finished_notice)
                said = f"{note}; {run.workflow.name} finished again: {done}" if pending.revised else said
            response["info"] = [said]
            response["finished"] = True
        else:
            response = self._open(run, target, note + where)
        if worker:
            # Until git has read it, the editor must not write this file again (see view.lua).
            response["committing"] = str(run.path(step))
        if events:
            response["events"] = events
        return response

    def cmd_skip(self, params: dict[str, Any]) -> Response:
        """Complete an optional step with no text: its file is emptied and committed as skipped."""
        run = self._active(params)
        run.writable()  # first: a finished run says so, whichever step this is
        here = params.get("buffer_step")
        if not (isinstance(here, dict) and here.get("run") == run.id):
            raise WorkflowError("not in a step buffer: :WorkflowSkip skips the step whose buffer you are in")
        step = self._current(run, params)
        if not step.optional:
            raise WorkflowError(
                f"step {step.index} '{step.title}' is not optional: complete it with :WorkflowNext "
                "(only steps with 'optional: true' can be skipped)"
            )
        path = run.path(step)
        try:
            write_atomic(path, "")
        except OSError as e:
            raise WorkflowError(f"cannot write {e.filename or path}: {e.strerror}") from e
        response = self._completed(run, step, run.begin_complete(step, skip=True))
        # Its buffer held the text the file no longer has: closed (the empty file opens again with :WorkflowGoto).
        response["removed"] = [str(path)]
        return response

    def _step_checks(self, run: Run, step: Step, text: str | None = None) -> Outcome | None:
        """What the text checks of ``step`` find in its saved text (or ``text``); None when it has
        none (its check command runs apart: _start_check)."""
        if step.check is None:
            return None
        from .checks import run_checks

        try:
            template = run.start_path(step).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            template = step.template  # a run older than start files: the template as written
        return run_checks(step.check, run.text(step) if text is None else text, template)

    @staticmethod
    def _step_diagnostics(
        run: Run, step: Step, params: dict[str, Any], outcome: Outcome, summary: str
    ) -> dict[str, Any]:
        """A step's check failures as protocol.Diagnostics, for the buffer the command came from."""
        return {
            "buf": int(params.get("buf") or 0),
            "tick": int(params.get("tick") or 0),
            "path": str(run.path(step)),
            "items": outcome.diagnostics(),
            "summary": summary,
        }

    def cmd_prev(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        step = self._current(run, params)
        if step.index == 1:
            raise WorkflowError("already at the first step")
        return self._open(run, run.workflow.steps[step.index - 2])

    def cmd_goto(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        key = self._arg(params, "step id or number", ":WorkflowGoto")
        return self._open(run, run.workflow.step(key))

    def cmd_status(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        wf = run.workflow
        cwd = params.get("cwd")
        lines: list[Any] = [f"{wf.title} ({wf.name}), run {run.id}", f"  in {shown(run.dir, cwd)}"]
        labels = [f"{s.title} [{s.id}]" for s in wf.steps]
        skipped = run.skipped
        labels = [label + (" (skipped)" if s.id in skipped else "") for s, label in zip(wf.steps, labels)]
        width = max(len(label) for label in labels)
        for s, label in zip(wf.steps, labels):
            mark = "✓" if s.id in run.completed else " "
            here = "▶" if s is run.current else " "
            lines.append(f"{here}{mark} {s.index:>2}. {label:<{width}}  {wf.filename(s)}")
        done = len(run.completed)
        lines.append(f"{done}/{len(wf.steps)} done" + (", finished" if run.is_finished else ""))  # its finish ref
        return {"info": lines, "page": "status"}

    def cmd_list(self, params: dict[str, Any]) -> Response:

        cwd = params.get("cwd")
        entries = self.catalog.entries(self._dirs(params))
        if not entries:
            where = ", ".join(shown(d.path, cwd) for d in self._dirs(params))
            return {"info": [f"no workflows found (searched {where})"]}
        lines: list[Any] = []
        for e in entries:
            where = shown(e.path, cwd)
            if e.workflow is not None:
                lines.append(
                    f"{e.name:<16} {e.workflow.title}  ({count(len(e.workflow.steps), 'step')}, {e.kind}: {where})"
                )
            else:
                lines.append(f"{e.name:<16} INVALID  ({e.kind}: {where})")
                # A few per file, so that the list stays a list (:checkhealth shows a hundred).
                listed = e.problems[:LIST_PROBLEMS] if e.problem_count > LIST_PROBLEMS + 1 else e.problems
                lines += [[f"  {p}", "error"] for p in listed]
                if e.problem_count > len(listed):
                    lines.append([f"  and {count(e.problem_count - len(listed), 'more problem')}", "error"])
            lines += [f"{'':<16} shadows {shown(p, cwd)}" for p in e.shadowed]
        return {"info": lines, "page": "list"}

    def cmd_stop(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        self._switch(None, params)
        return {"info": [f"run {run.id} stopped; its files stay in {tilde(run.dir)}"], "stopped": run.id}

    def cmd_refresh(self, params: dict[str, Any]) -> Response:
        """Put the current text of earlier steps, revised since, in this step's copies of them."""
        run = self._active(params)
        here = params.get("buffer_step")
        if not (isinstance(here, dict) and here.get("run") == run.id):
            raise WorkflowError("not in a step buffer: :WorkflowRefresh updates the step it is given in")
        step = self._current(run, params)
        if not run.stale_copies(step):
            what = "its copies of earlier steps are current" if run.copied(step) else "it copied no earlier step"
            return self._open(run, step, f"step {step.index} '{step.title}': {what}, nothing to refresh")
        before = run.text(step)
        text, refreshed, edited = run.refresh(step)
        said = []
        if refreshed:
            said.append(f"updated the copy of {_titles(refreshed)} (u undoes)")
        if edited:
            it = "it" if len(edited) == 1 else "them"
            said.append(f"your copy of {_titles(edited)} was edited: compare, and take what you need from {it}")
        response = self._open(run, step, "; ".join(said))
        if text is not None:
            response["refreshed"] = {"path": str(run.path(step)), **changed_lines(before, text)}
        if edited:
            first = edited[0]
            response["compare"] = {
                "title": f"{first.index} {first.title} (now)",
                "lines": run.text(first).removesuffix("\n").split("\n"),
            }
        return response

    def cmd_new(self, params: dict[str, Any]) -> Response:
        """A new workflow file from the skeleton, in the project's .workflows/ (asking where when
        there is no project: ``choose``, then again with Params.where)."""
        from . import newworkflow

        name = self._arg(params, "workflow name", ":WorkflowNew")
        newworkflow.check_name(name)
        cwd = Path(str(params.get("cwd") or Path.cwd()))
        where = str(params.get("where") or "")
        if where not in newworkflow.WHERE:
            if not (cwd / ".workflows").is_dir():
                return {
                    "choose": {
                        "prompt": f"No .workflows/ here: where should {name}.yaml go?",
                        "choices": newworkflow.choices(cwd),
                    }
                }
            where = "project"
        path = newworkflow.create(name, newworkflow.directory(where, cwd), cwd)
        return {"edit": str(path), "info": [f"created {path.name}: fill it in, then :WorkflowStart {name}"]}

    # -- history -------------------------------------------------------------

    def cmd_revert(self, params: dict[str, Any]) -> Response:
        run = self._active(params)
        run.writable()
        target = run.workflow.step(self._arg(params, "step id or number", ":WorkflowRevert"))
        if target.id not in run.completed:
            raise WorkflowError(f"step '{target.id}' is not done yet: there is nothing after it to revert")
        removed, note = run.revert(target)
        response = self._open(run, target, note)
        response["removed"] = [str(p) for p in removed]
        return response

    def cmd_log(self, params: dict[str, Any]) -> Response:
        with self._run_at(params) as run:
            return self._log(run)

    @staticmethod
    def _log(run: Run) -> Response:
        titles = {s.id: s.title for s in run.workflow.steps}
        # Each entry is small (a long history is thousands of them); the steps are sent once.
        entries = [
            {
                "hash": e.hash,
                "short": e.short,
                "date": e.date,
                "kind": e.kind,
                "index": e.index,
                "total": e.total,
                "id": e.step_id,
                "revised": e.revised,
                "skipped": e.skipped,
                "line": e.line(titles.get(e.step_id, e.step_id)),
            }
            for e in reversed(run.timeline())
        ]
        commits = sum(e["kind"] != "finished" for e in entries)
        steps = {s.id: {"title": s.title, "file": str(run.path(s)), "filetype": s.filetype} for s in run.workflow.steps}
        log: dict[str, Any] = {
            "run": run.id,
            "title": run.workflow.title,
            "dir": str(run.dir),
            "header": f"{run.workflow.title}, run {run.id}: {count(commits, 'commit')}",
            "entries": entries,
            "steps": steps,
        }
        if not entries:
            log["empty"] = "no step completed yet: :WorkflowNext commits the current step"
        return {"log": log}

    def cmd_show(self, params: dict[str, Any]) -> Response:
        """The text of a step file at a commit (args: hash, file), or the commit's diff (args: hash, file, 'diff')."""
        with self._run_at(params) as run:
            return self._show(run, params)

    @staticmethod
    def _show(run: Run, params: dict[str, Any]) -> Response:
        args = [str(a) for a in params.get("args") or []]
        if len(args) < 2:
            raise WorkflowError("show takes a commit and a file")
        commit, file = args[0], Path(args[1])
        if len(args) > 2 and args[2] == "diff":
            return {"text": run.diff(commit, file if args[1] else None)}
        return {"text": run.repo.show(commit, file)}

    def cmd_runs(self, params: dict[str, Any]) -> Response:
        """:WorkflowRuns: every run under runs_dir, newest first, as lines to show (runlist.py)."""
        from . import runlist

        runs_dirs = self._runs_read(params)
        found = runlist.summaries(runs_dirs, places.plugin().cache / "runs.json", self.catalog)
        return {"runs": runlist.render(found, runs_dirs[0])}

    @contextlib.contextmanager
    def _run_at(self, params: dict[str, Any]) -> Iterator[Run]:
        """The run at ``Params.run_dir`` when it is not the one open here (:WorkflowRuns' l, a log's
        <CR>), opened for reading only and closed after; else the active run."""
        wanted = params.get("run_dir")
        if not wanted or (self.run is not None and Path(str(wanted)).resolve() == self.run.dir):
            yield self._active(params)
            return
        run = Run.open(Path(str(wanted)), self.catalog)
        try:
            yield run
        finally:
            run.repo.close()

    def cmd_unfinished(self, params: dict[str, Any]) -> Response:
        """The unfinished runs under runs_dir, newest first, but for the run open here (:WorkflowResume's choice).

        Read as :WorkflowRuns reads them (runlist.py): from the summary cache, git only for a run
        that changed since. A run copied to the newer place is offered once, from there."""
        from . import runlist

        runs_dirs = self._runs_read(params)
        found = []
        problems = []
        for s in runlist.summaries(runs_dirs, places.plugin().cache / "runs.json", self.catalog):
            if self._is_open(Path(s["dir"])):
                continue
            if "problem" in s:
                if (Path(s["dir"]) / SNAPSHOT_NAME).is_file():  # a directory of no run is no problem to say
                    problems.append(f"{s['run']}: {s['problem']}")
                continue
            if s["done"] < s["total"]:
                keys = ("run", "dir", "workflow", "title", "done", "total", "next", "last")
                found.append({k: s[k] for k in keys})
        response: Response = {"unfinished": found, "problems": problems}
        if problems:
            what = "1 run directory" if len(problems) == 1 else f"{len(problems)} run directories"
            response["warning"] = f"{what} could not be read ({problems[0]}{', ...' if len(problems) > 1 else ''})"
        if not found:
            # The run open here is not offered; the line stays short (no path) so that it never wraps.
            open_here = self.run is not None
            response["info"] = [
                "no unfinished run but the one open" if open_here else f"no unfinished runs in {tilde(runs_dirs[0])}"
            ]
        return response

    def _is_open(self, directory: Path) -> bool:
        """Whether ``directory`` is the run open here (:WorkflowResume offers only the others)."""
        return self.run is not None and directory.resolve() == self.run.dir

    def cmd_resume(self, params: dict[str, Any]) -> Response:
        key = self._arg(params, "run id", ":WorkflowResume")
        runs_dirs = self._runs_read(params)
        if Path(key).is_absolute():
            directory = Path(key)
        else:  # the newer place first (a run copied to it is resumed there)
            directory = next((d / key for d in runs_dirs if (d / key).is_dir()), runs_dirs[0] / key)
        if not directory.is_dir():
            raise WorkflowError(
                f"no run '{key}' in {tilde(runs_dirs[0])}: :WorkflowResume without an argument lists them"
            )
        run = Run.open(directory, self.catalog, create=True)
        self._switch(run, params)
        step = run.frontier
        done = len(run.completed)
        note = f"resumed run {run.id}: {done}/{len(run.workflow.steps)} done"
        if run.held_by is not None:
            note += f"; read-only here: {run.held_by.describe()} has it open"
        return self._open(run, step, note)

    def cmd_reopen(self, params: dict[str, Any]) -> Response:
        """Make a finished run editable again; a commit says so."""
        run = self._active(params)
        note = run.reopen()
        return self._open(run, self._current(run, params), note)

    def cmd_export(self, params: dict[str, Any]) -> Response:
        """Write a run (Params.run_dir, else the current one) as one Markdown document: to the file
        given, else to export.default_path."""
        from .export import default_path, markdown
        from .options import expand

        cwd = Path(str(params.get("cwd") or Path.cwd()))
        given = params.get("run_dir")
        if given and (self.run is None or Path(str(given)).resolve() != self.run.dir):
            run = Run.open(Path(str(given)), self.catalog)
            opened = True
        else:
            run, opened = self._active(params), False
        try:
            args = params.get("args") or []
            path = expand(str(args[0]), cwd) if args else default_path(run)
            text = markdown(run) + "\n"
        finally:
            if opened:
                run.close()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        except OSError as e:
            raise WorkflowError(f"cannot write {shown(path, cwd)}: {e.strerror}: give another file") from e
        return {"info": [f"wrote {shown(path, cwd)}: run {run.id} as Markdown"]}  # the file first: it is cut last

    def complete(self, kind: str, arglead: str, params: dict[str, Any]) -> list[str]:
        """What <Tab> offers for an argument of completion ``kind`` (protocol.Command.complete)."""
        if kind == "workflows":
            names = sorted({e.name for e in self.catalog.entries(self._dirs(params))})
        elif kind == "steps":
            names = self._step_keys(str((params.get("args") or [""])[0]), params)
        elif kind == "runs":
            dirs = run_dirs(*self._runs_read(params))
            names = [d.name for d in dirs if d.name.startswith(arglead) and not self._is_open(d)]
            return list(dict.fromkeys(names))  # a run copied to the newer place is offered once
        elif kind == "file":
            return _file_names(arglead, Path(str(params.get("cwd") or Path.cwd())))
        else:
            return []
        return [n for n in names if n.startswith(arglead)]

    def _step_keys(self, command: str, params: dict[str, Any]) -> list[str]:
        """Step ids and numbers, in step order, that ``command`` accepts now: for goto the steps done
        and the first not done, for revert the steps done."""
        if self.run is None and not params.get("run_dir"):
            return []
        run = self._active(params)
        keys: list[str] = []
        for s in run.workflow.steps:
            done = s.id in run.completed
            if done or command != "revert":
                keys += [s.id, str(s.index)]
            if not done and command != "revert":
                break
        return keys

    def cmd_wait(self, params: dict[str, Any]) -> Response:
        """Nothing but the wait for pending commits that every command does (for scripts and tests)."""
        return {"idle": True}

    def _commit_in_background(self, run: Run, pending: PendingCommit) -> None:
        assert self.notify is not None
        step = pending.step
        done: Response = {"committed": str(run.path(step))}
        try:
            note = run.finish_complete(pending)
        except CommitRefused as e:
            # One line for the screen (:help workflow-messages says what to do); git's whole words in the log.
            log.warning("git refused the commit of step %s: %s", step.id, e.detail)
            self.notify({**done, "error": str(e), "state": run.state() if run is self.run else None})
            return
        except WorkflowError as e:
            self.notify(
                {
                    **done,
                    "error": f"{e}; step {step.index} is not done: fix that, then :WorkflowGoto {step.id} "
                    "and :WorkflowNext",
                    "state": run.state() if run is self.run else None,
                }
            )
            return
        except Exception as e:
            log.exception("commit of step %s failed", step.id)
            self.notify({**done, "error": f"internal error committing step {step.index} ({type(e).__name__}: {e})"})
            return
        ref = self._finish(run, step)
        warnings, run.notices[:] = list(run.notices), []
        events = finished_events(run, ref)
        if ref is not None and run is self.run:
            done["state"] = run.state()  # finished: WorkflowState().readonly
        if note.endswith("nothing to commit"):
            self.notify({**done, "info": [note, *warnings], **({"events": events} if events else {})})
        else:
            events = step_events(run, step) + events
            self.notify({**done, "events": events, **({"info": warnings} if warnings else {})})

    @staticmethod
    def _finish(run: Run, step: Step) -> str | None:
        """Finish ``run`` when ``step``, just completed, is its last and every step is done: its
        finish ref, else None (after a reopen, revising an earlier step does not finish it).

        A finish that fails leaves the run as it was (its commits are made): said as a notice."""
        if step.index != len(run.workflow.steps) or not run.finished or run.is_finished:
            return None
        try:
            return run.finish()
        except WorkflowError as e:
            run.notices.append(f"every step is done, but the run could not be marked finished: {e}")
            return None

    # -- authoring -----------------------------------------------------------

    def cmd_check(self, params: dict[str, Any]) -> Response:
        """The problems of a buffer's text as a workflow file (Params: buf, lines, path, tick).

        ``live`` (the person types or saves): answered at once, the text checked in the background
        and its Diagnostics pushed; without, the answer carries them and a line for the person.
        """
        from .diagnostics import LiveChecks, diagnose

        here = params.get("buffer_step")
        if (
            not params.get("live")
            and self.run is not None
            and isinstance(here, dict)
            and here.get("run") == self.run.id
        ):
            return self._check_step(self.run, params)
        if params.get("live") and self.notify is not None:
            if self._live_checks is None:
                self._live_checks = LiveChecks(self.notify)
            self._live_checks.submit(params)
            return {}
        found = diagnose(params)
        severities = {item.get("severity") for item in found["items"]}
        kind = "error" if "error" in severities else "warning" if severities else "info"
        response: Response = {"diagnostics": found}
        if kind == "info":
            response["info"] = [found["summary"]]
        else:
            response[kind] = found["summary"]
        return response

    def _check_step(self, run: Run, params: dict[str, Any]) -> Response:
        """:WorkflowCheck in a step buffer: the step's checks on the buffer's text, nothing completed."""
        step = self._current(run, params)
        self._not_busy(params, step)
        lines = params.get("lines")
        text = "\n".join(str(x) for x in lines) + "\n" if isinstance(lines, list) else None
        outcome = self._step_checks(run, step, text)
        if outcome is None:
            from .checks import Outcome

            outcome = Outcome(0, [], 0)
            summary = f"step {step.index} '{step.title}' has no checks: :WorkflowNext completes it"
        elif not outcome.failed and step.check is not None and step.check.command:
            if not self._passed_as_is(run, step):  # (the front saved the buffer: the file is its text)
                return self._start_check(run, step, params, outcome, completes=False)
            outcome = outcome._replace(total=outcome.total + 1)  # it passed on this very text
            summary = outcome.summary(completing=False)
        else:
            summary = outcome.summary(completing=False)
        response: Response = {"diagnostics": self._step_diagnostics(run, step, params, outcome, summary)}
        if outcome.failed:
            response["warning"] = summary
        else:
            response["info"] = [summary]
        return response

    # -- command steps -------------------------------------------------------

    def cmd_run(self, params: dict[str, Any]) -> Response:
        """Run the step's command (Params.buf: its buffer); its output is pushed as it comes."""
        from . import runner

        run = self._active(params)
        run.writable()
        here = params.get("buffer_step")
        if not (isinstance(here, dict) and here.get("run") == run.id):
            raise WorkflowError(":WorkflowRun runs the command of the step in this buffer: open the step first")
        step = self._current(run, params)
        if not step.run:
            raise WorkflowError(f"step {step.index} '{step.title}' has no command to run (no 'run:' in the workflow)")
        if self.notify is None:
            raise WorkflowError("running a command needs an editor to report to")
        buf = int(params.get("buf") or 0)
        self._not_busy(params, step)
        try:
            runner.require_trust(run, Path(str(params.get("cwd") or Path.cwd())))
        except runner.NeedsTrust as e:
            return {"trust": self._trust_question(e)}
        return self._start_command(run, step, buf, params)

    def _start_command(self, run: Run, step: Step, buf: int, params: dict[str, Any]) -> Response:
        from . import background, runner

        path = run.path(step)
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        except OSError:
            text = ""
        kept = runner.kept_text(text, step.run)
        keep = kept.count("\n") - 1 if kept else 0  # the person's lines that stay above the record
        head = ([""] if kept else []) + runner.header(step.run)
        timeout = Options.of(params).run_timeout
        cwd = runner.project_dir(run, Path(str(params.get("cwd") or Path.cwd())))
        base = {"buf": buf, "run": run.id, "id": step.id, "path": str(path)}
        inputs = run.inputs(step)  # what it reads: a later change to them says it is stale
        notify = self.notify
        assert notify is not None
        first = [True]

        def on_lines(lines: list[str], result: runner.Result | None) -> None:
            if first[0]:
                background.until_answered()  # the answer (with the record's first lines) goes out first
                first[0] = False
            if result is None:
                notify({"output": {**base, "lines": lines, "done": False}})
                return
            status = result.status_lines(timeout)
            record = "\n".join([*runner.header(step.run), *result.lines, *status]) + "\n"
            done = {
                "exit": result.exit,
                "seconds": round(result.seconds, 3),
                "cancelled": result.cancelled,
                "timed_out": result.timed_out,
                "truncated": result.truncated,
            }
            message: Any
            try:
                # The person's text as saved now: written during the run, it is theirs (the buffer is
                # locked while it runs, but a save can come from elsewhere) and stays above the record.
                now = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
                write_atomic(path, (runner.kept_text(now, step.run) if now != text else kept) + record)
                run.command_path(step).parent.mkdir(parents=True, exist_ok=True)
                write_atomic(run.command_path(step), json.dumps({"command": step.run, **done, "inputs": inputs}))
                message = _command_said(step, result, timeout)
            except OSError as e:
                message = [f"cannot write {tilde(path)}: {e.strerror}", "error"]
            if self.processes.get(buf) is process:
                del self.processes[buf]
            self.commands_running.discard((run.id, step.id))
            notify(
                {
                    "output": {
                        **base,
                        "lines": [*lines, *status],
                        "done": True,
                        **done,
                        "reload": True,
                        "path": str(path),
                        "message": message,
                    }
                }
            )

        process = runner.Process(step.run, cwd, runner.environment(run, step), timeout, on_lines)
        process.start()
        self.processes[buf] = process
        self.commands_running.add((run.id, step.id))
        return {
            "running": {**base, "keep": keep, "lines": head, "path": str(path)},
            "info": [f"running step {step.index}'s command in {tilde(cwd)} (:WorkflowCancel stops it)"],
        }

    @staticmethod
    def _trust_question(e: NeedsTrust) -> dict[str, Any]:
        """Response.trust: what the front asks before anything runs."""
        shown_commands = "\n".join("  $ " + c.rstrip("\n").replace("\n", "\n    ") for c in e.commands)
        prompt = (
            f"{e.path} can run {count(len(e.commands), 'command')} with your rights:\n{shown_commands}\n"
            "Trust this file as it is now? (a change to it asks again)"
        )
        return {
            "path": e.path,
            "sha256": e.sha256,
            "commands": e.commands,
            "prompt": prompt,
            "deny": "deny",
            "default": 2,
            "unanswered": "nothing was trusted or run",
        }

    def cmd_cancel(self, params: dict[str, Any]) -> Response:
        """Stop what runs in the buffer (Params.buf): its step's command, or an annotation."""
        buf = int(params.get("buf") or 0)
        process = self.processes.get(buf)
        if process is not None:
            process.cancel()
            if process.what == "check":
                return {"info": ["check command cancelled: its process group is killed, the step is not done"]}
            return {"info": ["command cancelled: its process group is killed, what it printed stays"]}
        annotation = self.annotations.pop(buf, None)
        if annotation is not None:
            annotation.cancel()
            return {"info": ["annotation cancelled"]}
        raise WorkflowError("nothing runs in this buffer (no command, no annotation)")

    def cmd_trust(self, params: dict[str, Any]) -> Response:
        """:WorkflowTrust [file]: show a workflow file's commands and ask (Response.trust); with
        Params.answer, keep the person's answer; with Params.bang, trust without asking."""
        from . import runner, trust
        from .spec import WorkflowInvalid, load_workflow

        answer = params.get("answer")
        if answer in ("allow", "deny", "revoke"):
            sha256, where = str(params.get("sha256") or ""), str(params.get("path") or "")
            if len(sha256) != 64:
                raise WorkflowError("the answer names no file content: run :WorkflowTrust again")
            if answer == "revoke":
                trust.forget(sha256)
                return {"info": [f"{where} is no longer trusted: its commands will ask first"]}
            trust.remember(sha256, where, answer)
            if answer == "allow":
                return {"info": [f"trusted {where} as it is now: its commands may run"]}
            return {"info": [[f"denied: the commands of {where} will not run (:WorkflowTrust asks again)", "warning"]]}
        args = params.get("args") or []
        cwd = Path(str(params.get("cwd") or Path.cwd()))
        if args:
            from .options import expand

            path = expand(str(args[0]), cwd)
        elif self.run is not None:
            path = self.run.origin if self.run.origin and self.run.origin.is_file() else self.run.dir / SNAPSHOT_NAME
        elif params.get("buffer_file"):
            path = Path(str(params["buffer_file"]))
        else:
            raise WorkflowError("which workflow file? :WorkflowTrust {file} (no run, no file in this buffer)")
        if self.run is not None and not args and path == self.run.origin:
            data = self.run.workflow.source
            if trust.digest(path.read_bytes()) != trust.digest(data):
                path = self.run.dir / SNAPSHOT_NAME  # the file changed since the run began: the run runs its copy
        try:
            workflow = load_workflow(path)
        except WorkflowInvalid as e:
            raise WorkflowError(f"{e.problems[0]}: fix the file first (:WorkflowCheck)") from e
        from .display import shown as shown_in

        shown_path = shown_in(path, cwd)
        commands = trust.commands(workflow)
        sha256 = trust.digest(workflow.source)
        if not commands:
            return {"info": [f"{shown_path} runs no commands: nothing to trust"]}
        if params.get("bang"):
            trust.remember(sha256, shown_path, "allow")
            return {"info": [f"trusted {shown_path} as it is now: its {count(len(commands), 'command')} may run"]}
        question = self._trust_question(runner.NeedsTrust(shown_path, sha256, commands))
        if trust.answer(sha256) == "allow":
            question["trusted"] = True
            question["deny"] = "revoke"
            question["default"] = 1  # Enter keeps it: revoking is a choice, never an accident
            question["unanswered"] = f"{shown_path} is still trusted: nothing changed"
            question["prompt"] = (
                f"{shown_path} is trusted as it is now; its commands:\n"
                + question["prompt"].split("\n", 1)[1].rsplit("\n", 1)[0]
                + "\nKeep trusting it? (Deny revokes it)"
            )
        return {"trust": question}

    # -- annotation ----------------------------------------------------------

    def cmd_annotate(self, params: dict[str, Any]) -> Response:
        """Start annotating a buffer's text in the background; progress comes through notify."""
        from .annotate import MAX_NOTES, Annotation, Request
        from .destination import ALLOW_OPTION, destination, model_refusal, runs_on

        step_model, step = "", None
        run = self.run
        here = params.get("buffer_step")
        if run is not None and isinstance(here, dict) and here.get("run") == run.id:
            with contextlib.suppress(WorkflowError):
                step = run.workflow.step(str(here.get("id")))
        if run is not None and step is not None and run.is_finished:
            # A step's notes are a file of the run: written now, the finished record no longer matches it.
            raise WorkflowError(run.finished_notice)
        if self.notify is None:
            raise WorkflowError("annotation needs an editor to report to")
        if importlib.util.find_spec("ollama") is None:
            raise WorkflowError(
                f"the Python package ollama is missing: install it with `{dependencies.install_command(['ollama'])}`"
            )
        buf = int(params.get("buf") or 0)
        lines = [str(x) for x in params.get("lines") or []]
        if not lines or not any(line.strip() for line in lines):
            raise WorkflowError("nothing to annotate: the text is empty")
        req = Request(
            lines=lines,
            first_line=int(params.get("first_line") or 1),
            instruction=" ".join(str(a) for a in params.get("args") or []),
        )
        if run is not None and step is not None:
            req.workflow_title = run.workflow.title
            req.step_title = step.title
            req.step_instructions = run.instructions(step)
            req.step_annotate = step.annotate
            req.earlier = [(s.title, run.text(s)) for s in run.workflow.steps[: step.index - 1]]
            step_model = step.model or run.workflow.model
        options = Options.of(params)
        yours = options.model
        model = step_model or yours
        # Only the person's own configuration says where their text may go; a workflow's model: never does.
        allow_remote = options.allow_remote
        where = destination(options.ollama_host, allow_remote)
        refusal = where.refusal() or model_refusal(model, "", allow_remote)
        if refusal:
            raise WorkflowError(refusal)
        info = []
        if model != yours:
            info.append(f"this workflow asks for model {model} (yours: {yours})")
        if where.allowed_by:
            info.append(f"sending to {where.host} (remote; allowed by {where.allowed_by})")
        if runs_on(model):
            info.append(f"{model} runs on {runs_on(model)} (allowed by {ALLOW_OPTION})")
        request_id = int(params.get("request") or 0)
        notes_file = run.notes_path(step) if run is not None and step is not None else None
        collected: list[dict[str, Any]] = []
        replaced = False
        notify = self.notify

        def report(p: Progress) -> None:
            nonlocal replaced
            collected.extend(n.to_dict() for n in p.notes[: MAX_NOTES - len(collected)])
            # A new answer replaces the notes (on the screen, and in the file) once it brings one,
            # or ends well; a failure or cancel before any note leaves the old ones.
            replace = not replaced and bool(p.notes or (p.done and not (p.cancelled or p.error)))
            replaced = replaced or replace
            if p.done and notes_file is not None and replaced:
                self._save_notes(notes_file, model, collected, p, annotation.sent)
            if p.done and self.annotations.get(buf) is annotation:
                del self.annotations[buf]
            progress = {
                "buf": buf,
                "request": request_id,
                **_progress_dict(p),
                **({"replace": True} if replace else {}),
            }
            notify({"annotation": progress})

        previous = self.annotations.pop(buf, None)
        if previous is not None:
            previous.cancel()
        annotation = Annotation(
            req,
            model,
            where.url,
            report,
            first_token_timeout=options.annotate_timeout,
            allow_remote=allow_remote,
            source=where.source,
            temperature=options.annotate_temperature,
            seed=options.annotate_seed,
        )
        self.annotations[buf] = annotation
        annotation.start()
        # info: only what the person should know before the text is sent (the editor shows it).
        response: Response = {"annotating": {"buf": buf, "request": request_id, "model": model, "host": where.url}}
        if info:
            response["info"] = ["; ".join(info)]
        if previous is not None:
            # Said here, not by the front: the old request's last batch may reach the editor first.
            response.setdefault("info", []).append("the previous annotation of this buffer was cancelled")
        return response

    def cmd_annotate_cancel(self, params: dict[str, Any]) -> Response:
        buf = int(params.get("buf") or 0)
        annotation = self.annotations.pop(buf, None)
        if annotation is None:
            if params.get("quiet"):
                return {}
            raise WorkflowError("no annotation is running in this buffer")
        annotation.cancel()
        return {} if params.get("quiet") else {"info": ["annotation cancelled"]}

    def cmd_models(self, params: dict[str, Any]) -> Response:
        """The server's models; ``remote`` says where those run that run elsewhere (cloud models);
        ``model`` and ``allow_remote`` are the options in effect."""
        from .annotate import list_models
        from .destination import destination

        options = Options.of(params)
        where = destination(options.ollama_host)
        unusable = where.unusable()
        if unusable:
            raise WorkflowError(unusable)
        found = list_models(where)  # names only: none of the person's text is sent
        response: Response = {
            "models": list(found),
            "remote": {m: w for m, w in found.items() if w},
            "host": where.url,
            "model": options.model,
            "allow_remote": options.allow_remote,
        }
        if not found:
            response["info"] = [f"the Ollama server at {where.url} has no models: `ollama pull {options.model}`"]
        return response

    @staticmethod
    def _save_notes(path: Path, model: str, notes: list[dict[str, Any]], p: Progress, sent: Sent | None) -> None:
        """The latest notes, next to the step; committed with it, with what was asked (``request``)."""
        from .annotate import notes_record

        data = notes_record(model, notes, p, sent)
        try:
            write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        except OSError:
            log.exception("cannot save notes to %s", path)


def _file_names(arglead: str, cwd: Path, limit: int = 200) -> list[str]:
    """File-name completion: the directories (with a /) and YAML files whose names start with ``arglead``."""
    import os

    head, _, tail = arglead.rpartition("/")
    base = Path(os.path.expanduser(head or ".")) if head or not arglead.startswith("/") else Path("/")
    base = base if base.is_absolute() else cwd / base
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for e in entries:
        hidden = e.name.startswith(".") and not tail.startswith(".") and e.name != ".workflows"
        if not e.name.startswith(tail) or hidden:
            continue
        prefix = f"{head}/" if head or arglead.startswith("/") else ""
        if e.is_dir():
            found.append(f"{prefix}{e.name}/")
        elif e.name.endswith((".yaml", ".yml")):
            found.append(f"{prefix}{e.name}")
        if len(found) >= limit:
            break
    return found


def _command_said(step: Step, result: Any, timeout: float) -> Any:
    """The line for the person when a step's command ends."""
    if result.timed_out:
        return [f"step {step.index}'s command was killed after {timeout:g} s (run_timeout)", "warning"]
    if result.cancelled:
        return f"step {step.index}'s command cancelled: what it printed is kept"
    if result.exit != 0:
        return [
            f"step {step.index}'s command failed (exit {result.exit}): fix it and :WorkflowRun, "
            "or :WorkflowNext! completes it anyway",
            "warning",
        ]
    return f"step {step.index}'s command passed in {result.seconds:.1f} s: :WorkflowNext completes the step"


def _progress_dict(p: Progress) -> dict[str, Any]:
    """``p`` for the Lua side; absent rather than None (which Lua would see as a true vim.NIL)."""
    full = {
        "notes": [n.to_dict() for n in p.notes],
        "tokens": p.tokens,
        "done": p.done,
        "summary": p.summary,
        "error": p.error,
        "warning": p.warning,
        "incomplete": p.incomplete,
        "covered": list(p.covered) if p.covered else None,
        "cancelled": p.cancelled,
        "dropped": p.dropped or None,
    }
    return {k: v for k, v in full.items() if v is not None}


def changed_lines(before: str, after: str) -> dict[str, Any]:
    """The lines of ``before`` that ``after`` replaces: ``first`` to ``last`` (0-based, ``last``
    excluded) become ``lines``, so that a front changes only those (the cursor and marks elsewhere stay)."""
    old, new = before.removesuffix("\n").split("\n"), after.removesuffix("\n").split("\n")
    first = 0
    while first < min(len(old), len(new)) and old[first] == new[first]:
        first += 1
    tail = 0
    while tail < min(len(old), len(new)) - first and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return {"first": first, "last": len(old) - tail, "lines": new[first : len(new) - tail]}


def _titles(steps: list[Step]) -> str:
    """'Outline', or 'Topic' and 'Outline': steps named in a message."""
    names = [f"'{s.title}'" for s in steps]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def finished_events(run: Run, ref: str | None) -> list[dict[str, Any]]:
    """The User event of a run just finished (``ref``: its finish ref; None: not finished now)."""
    if ref is None:
        return []
    data = {"workflow": run.workflow.name, "run": run.id, "dir": str(run.dir), "ref": ref}
    return [{"name": "WorkflowFinished", "data": data}]


def step_events(run: Run, step: Step) -> list[dict[str, Any]]:
    """The User event of a committed step."""
    commit = run.entries[-1].hash if run.entries and run.entries[-1].step_id == step.id else ""
    data = {
        "workflow": run.workflow.name,
        "run": run.id,
        "dir": str(run.dir),
        "step": step.index,
        "id": step.id,
        "title": step.title,
        "file": str(run.path(step)),
        "commit": commit,
    }
    return [{"name": "WorkflowStepCompleted", "data": data}]
