"""Background jobs (step commits) start after the answer that gave them is out."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from workflow_nvim import background
from workflow_nvim.background import Worker


@pytest.fixture
def answering() -> Iterator[None]:
    background.answering()
    yield
    background.answered()


def test_a_job_given_while_answering_waits_for_the_answer(answering: None) -> None:
    ran = threading.Event()
    Worker().submit(ran.set)
    # Nothing could start it: the server has not said the answer is out.
    assert not ran.wait(0.3)
    background.answered()
    assert ran.wait(10)


def test_a_request_that_waits_for_the_jobs_lets_them_run(answering: None) -> None:
    ran: list[str] = []
    worker = Worker()
    worker.submit(lambda: ran.append("commit"))
    assert worker.wait(10) is True
    assert ran == ["commit"]
    # and what the request gives after its wait waits for its answer again
    later = threading.Event()
    worker.submit(later.set)
    assert not later.wait(0.3)
    background.answered()
    assert later.wait(10)


def test_without_a_server_jobs_run_at_once() -> None:
    ran = threading.Event()
    Worker().submit(ran.set)
    assert ran.wait(10)
