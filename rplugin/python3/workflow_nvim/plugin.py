"""The remote plugin: one RPC function that the Lua front door calls.

Neovim's Lua side owns the commands, completion and rendering; this class only
translates a call into a Session command and returns the response. It imports
nothing heavy at load time: the Python host is shared with other plugins, and
the core (PyYAML and the rest) is imported on the first call.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pynvim

from . import dependencies
from .errors import WorkflowError

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("workflow_nvim")

# what the step-by-step workflow itself cannot run without (annotation checks for ollama itself)
REQUIRED_NOW = ("yaml", "git")


@pynvim.plugin
class WorkflowPlugin:
    """Translate, delegate, return: the only class that pynvim sees."""

    def __init__(self, nvim: pynvim.Nvim):
        self.nvim = nvim
        self._session: Session | None = None
        self._log_file: str | None = None

    def _configure_log(self, log_file: str | None) -> None:
        if not log_file or log_file == self._log_file:
            return
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        self._log_file = log_file

    def _get_session(self) -> Session:
        if self._session is None:
            if any(importlib.util.find_spec(m) is None for m in REQUIRED_NOW):
                missing = dependencies.missing()
                raise WorkflowError(
                    f"missing Python packages {', '.join(missing)}: "
                    f"install them with `{dependencies.install_command(missing)}`"
                )
            from .session import Session

            self._session = Session(notify=self._notify)
        return self._session

    @pynvim.function("WorkflowRpc", sync=True)
    def rpc(self, args: list[Any]) -> dict[str, Any]:
        """Entry point for every command: ``WorkflowRpc(command, params)``."""
        command = str(args[0]) if args else ""
        params = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        with contextlib.suppress(OSError):  # logging helps; it never fails a command
            self._configure_log(params.get("log_file"))
        try:
            return self._get_session().handle(command, params)
        except WorkflowError as e:
            return {"error": str(e), "state": self._state()}
        except Exception as e:
            log.exception("command %r failed with params %r", command, params)
            where = self._log_file or "the Python host's log ($NVIM_PYTHON_LOG_FILE)"
            return {
                "error": f"internal error in :Workflow {command} ({type(e).__name__}: {e}); "
                f"the traceback is in {where}; please report it",
                "state": self._state(),
            }

    def _notify(self, response: dict[str, Any]) -> None:
        """Deliver a later result (from a background commit) to the Lua side; any thread."""
        self.nvim.async_call(self._deliver, response)

    def _deliver(self, response: dict[str, Any]) -> None:
        try:
            self.nvim.exec_lua("require('workflow.command').deliver(...)", response)
        except Exception:
            log.exception("could not deliver %r", response)

    def _state(self) -> dict[str, Any] | None:
        session = self._session
        return session.run.state() if session and session.run else None
