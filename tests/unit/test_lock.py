"""The run lock: one Neovim works on a run; a lock whose Neovim is gone does not stay stuck."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from workflow_nvim.lock import Holder, RunLock

HOST = socket.gethostname()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / ".git" / "workflow-locks" / "20240305-140709-blog.lock"


def write_lock(path: Path, pid: int, host: str = HOST) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "host": host}), encoding="utf-8")


def lock_content(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


def finished_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_acquire_creates_the_lock_and_release_removes_it(lock_path):
    lock = RunLock(lock_path, 4242)
    assert not lock_path.parent.exists()
    assert lock.acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}
    assert lock.holder() == Holder(4242, HOST)
    lock.release()
    assert not lock_path.exists()
    assert lock.holder() is None
    lock.release()  # releasing twice is harmless
    assert not lock_path.exists()


def test_a_lock_of_a_finished_process_is_stale_and_taken_over(lock_path):
    dead = finished_pid()
    write_lock(lock_path, dead)
    assert not Holder(dead, HOST).alive()
    assert RunLock(lock_path, 4242).acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}


def test_a_lock_of_a_live_process_that_is_not_nvim_is_stale(lock_path):
    # after a reboot the pid may belong to another program: here, this Python process
    me = os.getpid()
    assert "nvim" not in Path(f"/proc/{me}/comm").read_text(encoding="utf-8")
    write_lock(lock_path, me)
    assert not Holder(me, HOST).alive()
    assert RunLock(lock_path, 4242).acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}


def test_a_live_nvim_keeps_its_lock(lock_path, fake_nvim):
    write_lock(lock_path, fake_nvim.pid)
    holder = RunLock(lock_path, 4242).acquire()
    assert holder == Holder(fake_nvim.pid, HOST)
    assert holder.alive()
    assert holder.describe() == f"Neovim pid {fake_nvim.pid}"
    assert lock_content(lock_path) == {"pid": fake_nvim.pid, "host": HOST}
    # not ours: release leaves it alone
    RunLock(lock_path, 4242).release()
    assert lock_content(lock_path) == {"pid": fake_nvim.pid, "host": HOST}
    # once that Neovim is gone, the lock is free
    fake_nvim.kill()
    fake_nvim.wait()
    assert not holder.alive()
    assert RunLock(lock_path, 4242).acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}


def test_the_same_nvim_acquires_its_own_lock_again(lock_path, fake_nvim):
    # the Python host restarted while Neovim kept running: the lock is still this Neovim's
    lock = RunLock(lock_path, fake_nvim.pid)
    assert lock.acquire() is None
    before = lock_path.stat().st_ino
    assert RunLock(lock_path, fake_nvim.pid).acquire() is None
    assert lock_path.stat().st_ino == before  # the same file: not removed and made again
    assert lock_content(lock_path) == {"pid": fake_nvim.pid, "host": HOST}
    lock.release()
    assert not lock_path.exists()


def test_a_lock_held_on_another_machine_is_never_taken_over(lock_path):
    write_lock(lock_path, finished_pid(), host="elsewhere.example")
    holder = RunLock(lock_path, 4242).acquire()
    assert holder is not None
    assert holder.host == "elsewhere.example"
    assert holder.describe() == f"Neovim pid {holder.pid} on elsewhere.example"
    assert lock_content(lock_path)["host"] == "elsewhere.example"


@pytest.mark.parametrize("content", ["", "{not json", '{"pid": "x"}', '["pid", 1]', '{"host": "h"}'])
def test_an_unreadable_lock_file_is_taken_over(lock_path, content):
    lock_path.parent.mkdir(parents=True)
    lock_path.write_text(content, encoding="utf-8")
    assert RunLock(lock_path, 4242).holder() is None
    assert RunLock(lock_path, 4242).acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}
