"""The package's log (``log``), written to the file ``log.configure`` names; logging imported when needed.

logging costs ~10 ms to import (it pulls in traceback, string, weakref, ...), which the server
would pay before the editor's first answer. So ``log`` keeps INFO records (a hello, a start) in
memory with the time they were made, and imports logging at the first record of more weight (a
warning, an error, a traceback) or when the server exits, writing the kept ones first with their
own times: the file reads as if nothing had waited. A server killed outright (SIGKILL) loses its
kept INFO lines, never a warning or an error.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

NAME = "workflow_nvim"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(message)s"
MAX_KEPT = 200  # INFO records kept before logging is imported anyway


class Log:
    """The subset of logging.Logger the package uses: info, warning, error, exception."""

    def __init__(self) -> None:
        self._logger: Any = None  # logging.getLogger(NAME), once imported
        self._file: str | None = None  # what configure() named, until then
        self._kept: list[tuple[float, str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def configure(self, log_file: str | None) -> None:
        """Send the package's log (and so its tracebacks) to ``log_file``."""
        if not log_file:
            return
        with self._lock:
            self._file = log_file
            if self._logger is None:
                return
        _configure(self._logger, log_file)

    @property
    def file(self) -> str | None:
        """The file configure() named, if any: messages about bugs name it."""
        return self._file

    def info(self, msg: str, *args: Any) -> None:
        with self._lock:
            if self._logger is None and len(self._kept) < MAX_KEPT:
                self._kept.append((time.time(), msg, args))
                return
        self.logger().info(msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self.logger().warning(msg, *args)

    def error(self, msg: str, *args: Any) -> None:
        self.logger().error(msg, *args)

    def exception(self, msg: str, *args: Any) -> None:
        self.logger().exception(msg, *args)

    def flush(self) -> None:
        """Write the kept records (at exit)."""
        if self._kept:
            self.logger()

    def logger(self) -> Any:
        """logging's logger, imported and configured now, with the kept records written to it."""
        with self._lock:
            if self._logger is None:
                import logging

                logger = logging.getLogger(NAME)
                if self._file:
                    with contextlib.suppress(OSError):  # logging helps; it never fails a command
                        _configure(logger, self._file)
                for created, msg, args in self._kept:
                    record = logger.makeRecord(NAME, logging.INFO, __file__, 0, msg, args, None)
                    record.created, record.msecs = created, (created % 1) * 1000
                    if logger.isEnabledFor(logging.INFO):
                        logger.handle(record)
                self._kept.clear()
                self._logger = logger
            return self._logger


def _configure(logger: Any, log_file: str) -> None:
    import logging
    from pathlib import Path

    for handler in list(logger.handlers):
        if getattr(handler, "baseFilename", None) == os.path.abspath(log_file):
            return
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


log = Log()
