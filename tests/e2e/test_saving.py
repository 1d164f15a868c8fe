"""Saving step text: whole or not at all, UTF-8, and as :write does it everywhere else."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import Editor, Home, SmallDisk, git
from .test_steps import ESSAY


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def step_path(nvim: Editor) -> Path:
    return Path(nvim.current.buffer.name)


def test_a_full_disk_never_damages_the_saved_text(start_nvim: Any, essay: Path, small_disk: SmallDisk) -> None:
    nvim = start_nvim(wrap=small_disk.wrap)
    small_disk.attach(nvim)
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(small_disk.path / "runs"))
    nvim.cmd("WorkflowStart essay")
    path = step_path(nvim)
    nvim.type("A saved words<Esc>")
    nvim.cmd("write")
    on_disk = small_disk.here(path)
    assert on_disk.read_text(encoding="utf-8") == "Topic: saved words\n"

    small_disk.fill()
    # More than the blocks the file holds: writing it in place would need new ones.
    typed = " ".join(["more words"] * 1000)
    nvim.type(f"o{typed}<Esc>")

    nvim.clear_messages()
    nvim.cmd("write")
    assert nvim.messages() == "[workflow] the disk is full: free some space; your text is still in the buffer"
    assert on_disk.read_text(encoding="utf-8") == "Topic: saved words\n"
    assert "the disk is full" in nvim.error("WorkflowNext")  # the save before each command
    assert on_disk.read_text(encoding="utf-8") == "Topic: saved words\n"
    assert nvim.lines() == ["Topic: saved words", typed]
    assert nvim.current.buffer.options["modified"]
    assert nvim.state()["steps"][0]["done"] is False
    assert [p.name for p in on_disk.parent.iterdir() if p.name.endswith("tmp")] == []

    small_disk.free()
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert on_disk.read_text(encoding="utf-8") == f"Topic: saved words\n{typed}\n"
    assert nvim.state()["steps"][0]["done"] is True


MODELINE = """
name: modeline
title: A template with a modeline
steps:
  - id: notes
    title: Notes
    instructions: Write notes.
    template: |
      Notes:
      vim: set fileencoding=latin1 textwidth=7 :
  - id: more
    title: More
    instructions: More notes.
    template: |
      ${notes}
"""


def test_step_buffers_ignore_modelines_in_templates(nvim: Editor, home: Home) -> None:
    home.write_workflow("modeline", MODELINE)
    nvim.cmd("set modeline")  # the default for everyone but root
    nvim.cmd("WorkflowStart modeline")
    path = step_path(nvim)

    assert nvim.current.buffer.options["textwidth"] == 0
    assert nvim.current.buffer.options["fileencoding"] == "utf-8"
    nvim.cmd("edit")  # reading the file again does not apply it either
    assert nvim.current.buffer.options["textwidth"] == 0
    nvim.type("ggA café au lait, sans sucre<Esc>")
    assert nvim.lines()[0] == "Notes: café au lait, sans sucre"  # typed as is, not wrapped at 7 columns

    nvim.cmd("WorkflowNext")
    assert path.read_bytes().decode("utf-8").startswith("Notes: café au lait, sans sucre\n")
    assert nvim.state()["step"] == 2
    assert nvim.lines()[0] == "Notes: café au lait, sans sucre"
    assert nvim.current.buffer.options["textwidth"] == 0
    # After :bdelete the buffer is read anew when it is opened again.
    nvim.cmd("WorkflowGoto notes")
    nvim.cmd("bdelete")
    nvim.cmd(f"edit {path}")
    assert nvim.current.buffer.options["textwidth"] == 0


def test_write_replaces_the_step_file_and_behaves_like_write(nvim: Editor, essay: Path, home: Home) -> None:
    nvim.exec_lua(
        "vim.g.written = {}; vim.api.nvim_create_autocmd({'BufWritePre', 'BufWritePost'}, {pattern = '*.md',"
        " callback = function(ev) vim.g.written = vim.list_extend(vim.g.written, {ev.event}) end})"
    )
    nvim.cmd("WorkflowStart essay")
    path = step_path(nvim)
    inode = path.stat().st_ino
    nvim.type("A one<Esc>")

    nvim.cmd("write")
    assert path.read_text(encoding="utf-8") == "Topic: one\n"
    assert path.stat().st_ino != inode  # a new file took the old one's name
    assert nvim.eval("g:written") == ["BufWritePre", "BufWritePost"]
    assert not nvim.current.buffer.options["modified"]
    assert [p.name for p in path.parent.iterdir() if p.name.endswith("tmp")] == []
    nvim.type("u")  # the text on disk is newer than the buffer now
    assert nvim.current.buffer.options["modified"]
    nvim.type("<C-r>")
    assert not nvim.current.buffer.options["modified"]

    # Another file name: that file is written, the step stays unsaved (as for any buffer).
    nvim.type("A two<Esc>")
    other = home.project / "copy.md"
    nvim.cmd(f"write {other}")
    assert other.read_text(encoding="utf-8") == "Topic: one two\n"
    assert nvim.current.buffer.options["modified"]
    assert path.read_text(encoding="utf-8") == "Topic: one\n"

    # :update, with 'fixendofline' off and no end of line: what :write would write.
    nvim.cmd("setlocal nofixendofline noendofline")
    nvim.cmd("update")
    assert path.read_bytes() == b"Topic: one two"
    assert not nvim.current.buffer.options["modified"]


def test_write_refuses_a_file_changed_on_disk_unless_forced(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    path = step_path(nvim)
    nvim.type("A mine<Esc>")
    path.write_text("Topic: theirs\n", encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))

    nvim.clear_messages()
    nvim.cmd("write")
    assert nvim.messages() == f"[workflow] {path.name} changed on disk: :w! keeps your text, :e! takes the file"
    assert path.read_text(encoding="utf-8") == "Topic: theirs\n"
    nvim.cmd("write!")
    assert path.read_text(encoding="utf-8") == "Topic: mine\n"
    nvim.cmd("WorkflowNext")  # and the automatic saves go on
    assert nvim.state()["steps"][0]["done"] is True


def test_undo_history_survives_in_the_undofile(start_nvim: Any, essay: Path, home: Home) -> None:
    nvim = start_nvim()
    nvim.exec_lua("vim.o.undofile = true; vim.o.undodir = ...", str(home.root / "undo"))
    nvim.cmd("WorkflowStart essay")
    path = step_path(nvim)
    run = nvim.state()["run"]
    nvim.type("A first<Esc>")
    nvim.cmd("write")
    nvim.type("A second<Esc>")
    with contextlib.suppress(Exception):  # the connection closes under the request
        nvim.command("wq")

    again = start_nvim()
    again.exec_lua("vim.o.undofile = true; vim.o.undodir = ...", str(home.root / "undo"))
    again.cmd(f"WorkflowResume {run}")
    assert step_path(again) == path
    assert again.lines() == ["Topic: first second"]
    again.type("u")
    assert again.lines() == ["Topic: first"]
    assert again.current.buffer.options["modified"]  # the file holds newer text
    again.type("u")
    assert again.lines() == ["Topic:"]


def test_a_temporary_file_left_by_a_killed_editor_is_removed(start_nvim: Any, essay: Path) -> None:
    nvim = start_nvim()
    nvim.cmd("WorkflowStart essay")
    path = step_path(nvim)
    run_id = nvim.state()["run"]
    nvim.quit()
    run = path.parent
    dead_pid = 2**22 + 1  # above the largest pid Linux hands out
    dead = run / f".{path.name}.{dead_pid}.0badf00d.workflow-tmp"  # beside the file: git status shows it
    dead.write_text("half a text")
    dead_scratch = run / ".git" / "workflow-tmp" / f"{dead_pid}.0badf00d.workflow-tmp"
    dead_scratch.parent.mkdir(exist_ok=True)
    dead_scratch.write_text("half a text")
    alive = run / f".{path.name}.{os.getpid()}.0badf00d.workflow-tmp"  # a running process may be writing it
    alive.write_text("being written")
    assert dead.name in git(run, "status", "--porcelain", "--untracked-files=all")

    again = start_nvim()
    again.cmd(f"WorkflowResume {run_id}")
    assert step_path(again) == path
    assert not dead.exists()
    assert not dead_scratch.exists()
    assert alive.exists()
    # Its own saves go through the run's git directory, where git status never looks.
    assert again.eval("b:workflow_scratch") == str(dead_scratch.parent)
    again.type("A saved<Esc>")
    again.cmd("write")
    assert path.read_text(encoding="utf-8").endswith("saved\n")
    assert list(dead_scratch.parent.iterdir()) == []
