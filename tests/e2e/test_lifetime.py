"""The server's lifetime: a child of its Neovim, gone when Neovim goes, replaced when it dies."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

from tests.processes import gone

from .conftest import Editor, Home, git, wait_for
from .test_errors import host_pid
from .test_history import in_project, slow_hook, trailers
from .test_steps import ESSAY


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])


def started(nvim: Editor, home: Home) -> int:
    """Start the essay workflow; the server's pid."""
    home.write_workflow("essay", ESSAY)
    nvim.cmd("WorkflowStart essay")
    return host_pid(nvim)


def test_the_server_is_a_child_of_neovim_and_goes_with_qa(start_nvim: Any, home: Home) -> None:
    nvim = start_nvim()
    server = started(nvim, home)
    assert parent(server) == nvim.call("getpid")
    nvim.quit()
    assert wait_for(lambda: gone(server)), "the server outlived :qa!"


def test_the_server_goes_when_neovim_is_killed(start_nvim: Any, home: Home) -> None:
    nvim = start_nvim(own_session=True)
    server = started(nvim, home)
    nvim_pid = nvim.call("getpid")
    os.kill(nvim_pid, signal.SIGKILL)  # no VimLeave, no jobstop: only its end of the pipe closes
    assert wait_for(lambda: gone(server)), "the server outlived a killed Neovim"
    with contextlib.suppress(Exception):
        nvim.nvim.close()


def test_the_server_killed_mid_commit_loses_nothing_typed(start_nvim: Any, home: Home, project: Path) -> None:
    """kill -9 of the server while a step commit waits in a hook, and while the person types on:
    the next command starts another server, which makes that commit and goes on."""
    marker = home.root / "hook-ran"
    hook = slow_hook(project, marker)
    nvim = start_nvim()
    in_project(nvim, project)
    server = started(nvim, home)
    run_id = nvim.state()["run"]
    nvim.type("A gliders<Esc>")
    nvim.cmd("WorkflowNext")
    assert wait_for(marker.exists)  # the commit of step 1 is in flight
    nvim.type("Gitypes while it commits<Esc>")  # in step 2, not yet saved

    os.kill(server, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(marker.read_text()), signal.SIGKILL)  # its hook, which held the commit
    hook.unlink()
    assert wait_for(lambda: gone(server))
    wait_for(lambda: nvim.exec_lua("return require('workflow.host').running() == nil"))

    nvim.cmd("WorkflowNext")  # a new server reopens the run from git and completes step 2
    nvim.settle()
    said = nvim.messages()
    assert "the Python server had stopped (killed by signal 9); a new one took over" in said
    assert "step 1 'Pick a topic' was not committed when Neovim quit: committed now (" in said
    assert host_pid(nvim) != server
    assert trailers(project) == ["2/3 outline", "1/3 topic"]
    d = project / ".workflow-runs" / run_id
    assert git(project, "show", f"HEAD~1:{(d / '01-topic.md').relative_to(project)}") == "Topic: gliders\n"
    (outline,) = d.glob("02-outline.*")
    assert "types while it commits" in git(project, "show", f"HEAD:{outline.relative_to(project)}")
    assert nvim.state()["step"] == 3
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]  # the person's own, only
