"""What every test tier shares: no test may hang the run.

A test still running after HANG_SECONDS prints every thread's stack (where it
hung) and ends the run, instead of blocking CI until it is killed with nothing
to show. No test comes near this: the slowest take seconds (the real-model
tier waits for a model at most 180 s).
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from collections.abc import Iterator

import pytest

HANG_SECONDS = float(os.environ.get("WORKFLOW_TEST_HANG_SECONDS", "600"))


@pytest.fixture(autouse=True)
def _no_hang(request: pytest.FixtureRequest) -> Iterator[None]:
    def hung() -> None:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)  # so that the stacks reach the terminal
        print(f"\n{request.node.nodeid} still running after {HANG_SECONDS:g} s: stopping the run", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)

    timer = threading.Timer(HANG_SECONDS, hung)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
