"""The commands of one Neovim session, as plain Python.

Each command takes the parameters the Lua front door sends and returns a
response that the Lua side renders: lines to show, a step to open, and the
run's state for ``WorkflowState()``. Nothing here talks to Neovim, so every
command can be tested without an editor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .catalog import Catalog, SearchDir
from .errors import WorkflowError
from .run import Run
from .spec import Step, count

Response = dict[str, Any]


class Session:
    """The state of one editor: at most one active run."""

    def __init__(self) -> None:
        self.catalog = Catalog()
        self.run: Run | None = None
        self._commands: dict[str, Callable[[dict[str, Any]], Response]] = {
            "start": self.start,
            "next": self.next,
            "prev": self.prev,
            "goto": self.goto,
            "status": self.status,
            "list": self.list,
            "stop": self.stop,
        }

    @property
    def commands(self) -> list[str]:
        return list(self._commands)

    def handle(self, command: str, params: dict[str, Any]) -> Response:
        """Run ``command``; WorkflowError becomes an error response, other errors propagate."""
        try:
            fn = self._commands[command]
        except KeyError:
            raise WorkflowError(f"unknown command '{command}': try :Workflow <Tab>") from None
        response = fn(params)
        response["state"] = self.run.state() if self.run else None
        return response

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _dirs(params: dict[str, Any]) -> list[SearchDir]:
        return [SearchDir(kind, Path(path)) for kind, path in params.get("dirs", [])]

    @staticmethod
    def _arg(params: dict[str, Any], what: str, usage: str) -> str:
        args = params.get("args") or []
        if len(args) != 1:
            raise WorkflowError(f"{usage} takes one {what}")
        return str(args[0])

    def _active(self) -> Run:
        if self.run is None:
            raise WorkflowError("no workflow is running: start one with :WorkflowStart {name} (see :WorkflowList)")
        return self.run

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
            }
        }
        if message:
            response["info"] = [message]
        return response

    # -- commands ------------------------------------------------------------

    def start(self, params: dict[str, Any]) -> Response:
        name = self._arg(params, "workflow name", ":WorkflowStart")
        workflow = self.catalog.find(self._dirs(params), name)
        runs_dir = Path(str(params.get("runs_dir") or "")).expanduser()
        if not str(runs_dir) or not runs_dir.is_absolute():
            raise WorkflowError(f"vim.g.workflow.runs_dir must be an absolute path, got '{runs_dir}'")
        previous = self.run
        self.run = Run.start(workflow, runs_dir)
        note = f"; run {previous.id} stopped, its files stay in {previous.dir}" if previous else ""
        response = self._open(
            self.run,
            workflow.steps[0],
            f"{workflow.title}: {count(len(workflow.steps), 'step')}, run {self.run.id}{note}",
        )
        if previous:
            # Its step buffers become plain buffers, so their maps cannot act on the new run.
            response["stopped"] = previous.id
        return response

    def next(self, params: dict[str, Any]) -> Response:
        run = self._active()
        step = self._current(run, params)
        following = run.complete(step)
        if following is None:
            run.current = step
            return {
                "info": [
                    f"{run.workflow.name} finished: all {count(len(run.workflow.steps), 'step')} done; "
                    f"the text is in {run.dir}"
                ],
                "finished": True,
            }
        return self._open(run, following, f"step {step.index} '{step.title}' done")

    def prev(self, params: dict[str, Any]) -> Response:
        run = self._active()
        step = self._current(run, params)
        if step.index == 1:
            raise WorkflowError("already at the first step")
        return self._open(run, run.workflow.steps[step.index - 2])

    def goto(self, params: dict[str, Any]) -> Response:
        run = self._active()
        key = self._arg(params, "step id or number", ":WorkflowGoto")
        return self._open(run, run.workflow.step(key))

    def status(self, params: dict[str, Any]) -> Response:
        run = self._active()
        wf = run.workflow
        lines = [f"{wf.title} ({wf.name}), run {run.id}", f"  {run.dir}"]
        for s in wf.steps:
            mark = "✓" if s.id in run.completed else " "
            here = "▶" if s is run.current else " "
            lines.append(f"{here}{mark} {s.index:>2}. {s.title} [{s.id}]")
        done = len(run.completed)
        lines.append(f"{done}/{len(wf.steps)} done" + (", finished" if run.finished else ""))
        return {"info": lines}

    def list(self, params: dict[str, Any]) -> Response:
        entries = self.catalog.entries(self._dirs(params))
        if not entries:
            where = ", ".join(str(d.path) for d in self._dirs(params))
            return {"info": [f"no workflows found (searched {where})"]}
        lines: list[Any] = []
        for e in entries:
            if e.workflow is not None:
                lines.append(
                    f"{e.name:<16} {e.workflow.title}  ({count(len(e.workflow.steps), 'step')}, {e.kind}: {e.path})"
                )
            else:
                lines.append(f"{e.name:<16} INVALID  ({e.kind}: {e.path})")
                lines += [[f"  {p}", "ErrorMsg"] for p in e.problems]
            lines += [f"{'':<16} shadows {p}" for p in e.shadowed]
        return {"info": lines}

    def stop(self, params: dict[str, Any]) -> Response:
        run = self._active()
        self.run = None
        return {"info": [f"run {run.id} stopped; its files stay in {run.dir}"], "stopped": run.id}
