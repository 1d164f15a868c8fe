"""The run lock: one editor (Neovim or Vim) works on a run; a lock whose editor is gone does not stay stuck."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from workflow_nvim.lock import Holder, RunLock, boot_id, process_start

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
    assert lock_content(lock_path) == {
        "pid": fake_nvim.pid,
        "host": HOST,
        "start": process_start(fake_nvim.pid),
        "boot": boot_id(),
        "editor": "Neovim",
    }
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


# -- any editor, whatever its program is called -------------------------------------


@pytest.fixture
def vim() -> Iterator[subprocess.Popen[bytes]]:
    """A real Vim, waiting for Ex commands on its input."""
    from tests.vim import VIM, require

    require(VIM, "vim")
    assert VIM is not None
    program = VIM
    proc = subprocess.Popen(
        [program, "-Nu", "NONE", "-i", "NONE", "-es"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def running_as(directory: Path, name: str) -> subprocess.Popen[bytes]:
    """A live process whose program is called ``name``: a copy of sleep."""
    program = directory / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    proc = subprocess.Popen([str(program), "30"])
    comm = Path(f"/proc/{proc.pid}/comm")
    deadline = time.monotonic() + 5
    while comm.read_text(encoding="utf-8").strip() != name[:15]:  # the kernel renames it a moment later
        assert time.monotonic() < deadline, f"process {proc.pid} is not called {name}"
        time.sleep(0.001)
    return proc


def test_a_live_vim_keeps_its_lock(lock_path, vim):
    assert RunLock(lock_path, vim.pid).acquire() is None
    assert lock_content(lock_path) == {
        "pid": vim.pid,
        "host": HOST,
        "start": process_start(vim.pid),
        "boot": boot_id(),
        "editor": "Vim",
    }
    holder = RunLock(lock_path, 4242).acquire()  # a Neovim (or another Vim) opens the same run
    assert holder is not None and holder.pid == vim.pid
    assert holder.alive()
    assert holder.describe() == f"Vim pid {vim.pid}"
    assert lock_content(lock_path)["pid"] == vim.pid
    vim.kill()
    vim.wait()
    assert not holder.alive()
    assert RunLock(lock_path, 4242).acquire() is None


@pytest.mark.parametrize(
    ("program", "said"),
    [("vi", "Vim"), ("view", "Vim"), ("gvim", "Vim"), ("nvim-0.11", "Neovim"), ("my-editor", "editor")],
)
def test_an_editor_keeps_its_lock_whatever_its_program_is_called(lock_path, tmp_path, program, said):
    proc = running_as(tmp_path, program)
    try:
        assert RunLock(lock_path, proc.pid).acquire() is None
        holder = RunLock(lock_path, 4242).acquire()
        assert holder is not None and holder.alive()
        assert holder.describe() == f"{said} pid {proc.pid}"
    finally:
        proc.kill()
        proc.wait()


def test_the_editor_can_say_its_own_name(lock_path, tmp_path):
    proc = running_as(tmp_path, "ed-9")
    try:
        assert RunLock(lock_path, proc.pid, editor="Vim").acquire() is None
        assert RunLock(lock_path, 4242).holder().describe() == f"Vim pid {proc.pid}"
    finally:
        proc.kill()
        proc.wait()


def test_a_pid_now_of_a_process_started_at_another_time_is_stale(lock_path, fake_nvim):
    # The editor that took the lock is gone and its pid went to another process (here: named
    # nvim too, which the old rule would have believed).
    start = process_start(fake_nvim.pid)
    lock_path.parent.mkdir(parents=True)
    lock_path.write_text(
        json.dumps({"pid": fake_nvim.pid, "host": HOST, "start": start - 1, "boot": boot_id(), "editor": "Vim"})
    )
    holder = RunLock(lock_path, 4242).holder()
    assert holder == Holder(fake_nvim.pid, HOST, start - 1, boot_id(), "Vim")
    assert not holder.alive()
    assert RunLock(lock_path, 4242).acquire() is None
    assert lock_content(lock_path) == {"pid": 4242, "host": HOST}  # 4242 is no process: nothing more known


def test_a_lock_taken_before_a_reboot_is_stale(lock_path, fake_nvim):
    start = process_start(fake_nvim.pid)
    lock_path.parent.mkdir(parents=True)
    lock_path.write_text(json.dumps({"pid": fake_nvim.pid, "host": HOST, "start": start, "boot": "another-boot"}))
    assert not RunLock(lock_path, 4242).holder().alive()
    assert RunLock(lock_path, 4242).acquire() is None


def test_an_old_lock_of_a_vim_process_is_stale_as_before(lock_path, vim):
    # Before start times were kept only Neovim took locks: a {pid, host} lock is Neovim's.
    write_lock(lock_path, vim.pid)
    assert RunLock(lock_path, 4242).holder().describe() == f"Neovim pid {vim.pid}"
    assert not RunLock(lock_path, 4242).holder().alive()
