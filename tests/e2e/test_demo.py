"""`make demo` as a new user meets it: started by tests/demo.sh, as the Makefile starts it, from a
copy of the checkout that no one ran :helptags in. :help works, the person works in a visible
directory, and a second launch resumes the tutorial where the first left it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pynvim
import pytest

from .conftest import ROOT, Editor, Home, nvim_binary, wait_for

SHIPPED = ("lua", "plugin", "doc", "rplugin", "workflows", "tests/init.lua", "tests/demo.sh", "tests/demo.lua")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The files a clone has (and no doc/tags: git ignores it)."""
    root = tmp_path / "clone"
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("tags", "__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def launch(checkout: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> Editor:
    """Neovim as `make demo` starts it (tests/demo.sh), on the step it opens."""
    monkeypatch.setenv("WORKFLOW_NVIM", nvim_binary())
    ed = Editor(pynvim.attach("child", argv=["sh", str(checkout / "tests" / "demo.sh"), "--embed", "--headless"]))
    assert wait_for(lambda: ed.state().get("run"), timeout=30), ed.messages()
    return ed


def test_help_works_in_the_demo(checkout: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    ed = launch(checkout, home, monkeypatch)
    try:
        assert ed.winbar().endswith("Step 1/8: Meet the step buffer")
        assert ed.call("getcwd") == str(checkout / "demo")  # visible, and kept by `make clean`
        assert (checkout / "doc" / "tags").is_file()
        for tag, line in [
            ("workflow", "workflow.nvim"),
            (":WorkflowResume", "*:WorkflowResume*"),
            ("workflow-yaml-model", "*workflow-yaml-model*"),
            ("g:workflow.runs_dir", "*g:workflow.runs_dir*"),
        ]:
            ed.cmd(f"help {tag}")  # E149 (no help for it) raises here
            assert Path(ed.current.buffer.name) == checkout / "doc" / "workflow.txt"
            assert line in ed.current.line
            ed.cmd("helpclose")
        assert ed.messages().count("Error") == 0, ed.messages()
    finally:
        ed.quit()


def test_a_second_demo_resumes_the_tutorial(checkout: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    ed = launch(checkout, home, monkeypatch)
    run = ed.state()["run"]
    ed.current.buffer[:] = ["# A task I repeat", "", "Reviewing a pull request."]
    ed.cmd("WorkflowNext")
    ed.settle()
    ed.quit()

    ed = launch(checkout, home, monkeypatch)
    assert ed.state()["run"] == run
    assert ed.winbar().endswith("Step 2/8: Type and save")
    assert "resumed run" in ed.messages()
    # :WorkflowResume offers the other runs, not this one (there is none)
    ed.clear_messages()
    ed.cmd("WorkflowResume")
    assert ed.messages().strip() == "[workflow] no unfinished run but the one open"
    assert ed.call("getcompletion", "WorkflowResume ", "cmdline") == []
    for _ in range(7):  # the rest of the tutorial, as it comes
        if ed.eval("b:workflow_step.id") == "run-a-command":  # a bundled workflow's command: trusted
            ed.cmd("WorkflowRun")
            wait_for(lambda: ed.lines()[-1].startswith("[exit 0 after "), timeout=30)
        ed.cmd("WorkflowNext")
    ed.settle()
    ed.quit()

    ed = launch(checkout, home, monkeypatch)  # the tutorial was finished: a new run
    try:
        assert ed.state()["run"] != run
        assert ed.winbar().endswith("Step 1/8: Meet the step buffer")
    finally:
        ed.quit()


def test_the_first_command_makes_the_help_tags_of_a_plain_clone(checkout: Path, home: Home) -> None:
    """A clone put on the runtimepath by hand (its tests/init.lua does only that), with no doc/tags."""
    argv = [nvim_binary(), "--embed", "--headless", "-i", "NONE", "-u", str(checkout / "tests" / "init.lua")]
    ed = Editor(pynvim.attach("child", argv=argv))
    try:
        assert ed.exec_lua("return vim.api.nvim_get_runtime_file('doc/workflow.txt', false)") == [
            str(checkout / "doc" / "workflow.txt")
        ]
        ed.cmd("WorkflowList")
        assert (checkout / "doc" / "tags").is_file()
        ed.cmd("help :WorkflowStart")
        assert Path(ed.current.buffer.name) == checkout / "doc" / "workflow.txt"
        assert "*:WorkflowStart*" in ed.current.line
    finally:
        ed.quit()
