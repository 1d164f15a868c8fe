"""Work that must not make the editor wait: git commits, in order, off the main thread.

Each job runs in a thread of its own that first waits for the job before it,
so jobs run one at a time in the order they were given. When Neovim quits,
the Lua side waits a moment for jobs in flight (see view.lua), and no longer:
the threads never keep the Python host alive after its editor is gone, and a
commit cut short is made again at the next resume (see history.py).

While the server answers a request, jobs given meanwhile wait for the answer
to go out: they would take turns with the answering thread for the
interpreter (the GIL), and the first job alone imports GitPython (~0.14 s).
"""

from __future__ import annotations

import threading
from typing import Callable

from .logs import log

_answered = threading.Event()  # clear while the server answers a request
_answered.set()


def answering() -> None:
    """The server starts answering a request: jobs given from now on start after ``answered()``."""
    _answered.clear()


def answered() -> None:
    """The answer is out: jobs may run."""
    _answered.set()


def until_answered() -> None:
    """Wait for the answer being written to go out (other background threads: diagnostics.py)."""
    _answered.wait()


class Worker:
    """Runs jobs in order, one at a time, off the caller's thread."""

    def __init__(self) -> None:
        self._last: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            previous = self._last

            def run() -> None:
                _answered.wait()
                if previous is not None:
                    previous.join()
                try:
                    job()
                except Exception:  # a job reports its own errors; this is a bug
                    log.exception("background job failed")

            self._last = threading.Thread(target=run, name="workflow-commit", daemon=True)
            self._last.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every job given so far has finished; False if ``timeout`` came first."""
        with self._lock:
            last = self._last
        if last is None:
            return True
        held = not _answered.is_set()
        answered()  # the request waits for these jobs: they run now
        last.join(timeout)
        if held:
            answering()  # jobs the request gives after this wait for its answer again
        return not last.is_alive()
