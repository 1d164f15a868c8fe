"""What a person sees when something is wrong: one line, what to do, nothing lost."""

from __future__ import annotations

import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from tests import hostile

from .conftest import Editor, Home, wait_for

GOOD = """
name: good
title: A good one
steps:
  - id: one
    title: One
    instructions: Do it.
"""

# (file body, expected message after "file:")
BAD_CASES = {
    "unknown-key": (
        "name: unknown-key\ntitle: T\nsteps:\n  - id: a\n    title: A\n    intructions: x\n",
        "6:5: unknown key 'intructions', did you mean 'instructions'?",
    ),
    "duplicate-key": (
        "name: duplicate-key\ntitle: T\ntitle: U\nsteps:\n  - id: a\n    title: A\n    instructions: x\n",
        "3:1: duplicate key 'title'",
    ),
    "duplicate-id": (
        "name: duplicate-id\ntitle: T\nsteps:\n"
        "  - id: a\n    title: A\n    instructions: x\n"
        "  - id: a\n    title: B\n    instructions: y\n",
        "7:9: duplicate step id 'a'",
    ),
    "later-ref": (
        "name: later-ref\ntitle: T\nsteps:\n"
        "  - id: a\n    title: A\n    instructions: x\n    template: |\n      see ${b}\n"
        "  - id: b\n    title: B\n    instructions: y\n",
        "8:11: 'template' of step 'a' refers to 'b', which is a later step (step 2)",
    ),
    "empty-steps": (
        "name: empty-steps\ntitle: T\nsteps: []\n",
        "3:8: 'steps' is empty: a workflow needs at least one step",
    ),
}


def write_bad(home: Home, name: str) -> Path:
    return home.write_workflow(name, BAD_CASES[name][0])


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_broken_workflow_gives_file_line_column(nvim: Editor, home: Home, name: str) -> None:
    path = write_bad(home, name)
    message = nvim.error(f"WorkflowStart {name}")
    expected_location, _, expected_text = BAD_CASES[name][1].partition(": ")
    assert f"{path}:{expected_location}: " in message
    assert expected_text in message
    assert nvim.state() == {}


def test_yaml_one_one_traps_stay_strings(nvim: Editor, home: Home) -> None:
    home.write_workflow(
        "norway",
        """
        name: norway
        title: NO
        steps:
          - id: on
            title: 1.10
            instructions: yes
        """,
    )
    nvim.cmd("WorkflowStart norway")
    state = nvim.state()
    assert state["title"] == "NO"
    assert state["steps"][0] == {**state["steps"][0], "id": "on", "title": "1.10"}
    assert nvim.virt_lines()[:2] == ["Step 1/1: 1.10", "yes"]


def test_a_broken_workflow_does_not_hide_the_others(nvim: Editor, home: Home) -> None:
    home.write_workflow("good", GOOD)
    bad = write_bad(home, "unknown-key")
    nvim.cmd("WorkflowList")
    out = page_text(nvim)
    assert "good" in out and "A good one" in out
    assert f"{bad}:6:5: unknown key 'intructions'" in out
    nvim.cmd("WorkflowStart good")
    assert nvim.state()["workflow"] == "good"


def watch_messages(nvim: Editor) -> None:
    """Keep every message from now on with its highlight, as a UI sees it (``shown`` reads them)."""
    nvim.exec_lua(
        """
        _G.test_messages = {}
        local ns = vim.api.nvim_create_namespace('test_messages')
        vim.ui_attach(ns, { ext_messages = true }, function(event, _, content)
          if event == 'msg_show' then
            for _, chunk in ipairs(content) do
              table.insert(_G.test_messages, { chunk[2], chunk[3] })
            end
          end
        end)
        """
    )


def shown(nvim: Editor) -> list[tuple[str, str]]:
    """(line, highlight group) of each line of the messages since ``watch_messages``."""
    nvim.cmd("redraw")  # a UI is told of messages when the screen is drawn
    out = []
    for text, hl in nvim.exec_lua("return _G.test_messages"):
        group = nvim.call("synIDattr", hl, "name") if hl else ""
        out += [(line, group) for line in text.splitlines() if line]
    return out


def page(nvim: Editor) -> list[tuple[str, str]]:
    """(line, highlight group) of each line of the page :WorkflowList or :WorkflowStatus opened."""
    assert nvim.current.buffer.name.startswith("workflow://")
    groups = {
        row: details.get("hl_group", "")
        for _id, row, _col, details in nvim.exec_lua(
            "return vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_get_namespaces().workflow_page, 0, -1,"
            " {details = true})"
        )
    }
    return [(line, groups.get(i, "")) for i, line in enumerate(nvim.lines())]


def page_text(nvim: Editor) -> str:
    return "\n".join(line for line, _ in page(nvim))


def test_the_problems_of_a_broken_workflow_are_shown_as_errors(nvim: Editor, home: Home) -> None:
    home.write_workflow("good", GOOD)
    bad = write_bad(home, "unknown-key")
    nvim.cmd("WorkflowList")
    lines = page(nvim)
    assert (f"  {bad}:6:5: unknown key 'intructions', did you mean 'instructions'?", "ErrorMsg") in [
        (text.split(" (keys of")[0], group) for text, group in lines
    ]
    assert [group for text, group in lines if text.startswith("good ")] == [""]


def test_list_shows_which_file_wins(nvim: Editor, home: Home) -> None:
    mine = home.write_workflow("blog-post", GOOD.replace("name: good", "name: blog-post"))
    nvim.cmd("WorkflowList")
    out = page_text(nvim)
    assert f"project: {mine.relative_to(home.project)}" in out  # relative to the working directory
    assert "shadows" in out and "workflows/blog-post.yaml" in out
    nvim.cmd("WorkflowStart blog-post")
    assert nvim.state()["title"] == "A good one"


def test_non_utf8_and_oversized_files(nvim: Editor, home: Home) -> None:
    folder = home.project / ".workflows"
    folder.mkdir()
    (folder / "latin.yaml").write_bytes(b"name: latin\ntitle: caf\xe9\n")
    (folder / "huge.yaml").write_bytes(b"name: huge\n" + b"#" * (1024 * 1024 + 1))
    latin = nvim.error("WorkflowStart latin")
    assert f"{folder / 'latin.yaml'}:2:11: " in latin and "UTF-8" in latin
    huge = nvim.error("WorkflowStart huge")
    assert str(folder / "huge.yaml") in huge and "1 MiB" in huge


def test_unknown_workflow_suggests_a_name(nvim: Editor) -> None:
    message = nvim.error("WorkflowStart blog-psot")
    assert message.startswith("[workflow] no workflow 'blog-psot', did you mean 'blog-post'?")


def test_unwritable_runs_dir_is_one_line_and_nothing_opens(nvim: Editor, home: Home, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        runs: Path = tmp_path / "a-file"
        runs.write_text("not a directory")
    else:
        runs = tmp_path / "locked"
        runs.mkdir()
        runs.chmod(stat.S_IRUSR | stat.S_IXUSR)
    home.write_workflow("good", GOOD)
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(runs))
    message = nvim.error("WorkflowStart good")
    assert str(runs) in message
    assert nvim.state() == {}


def test_internal_errors_are_logged_with_traceback(nvim: Editor, home: Home) -> None:
    log_file = home.log
    # A malformed request is a bug on our side, not the user's: it must be reported, not shown as a traceback.
    response = nvim.exec_lua("return require('workflow.host').call('start', {args = {'good'}, dirs = 5})")
    assert "\n" not in response["error"]
    assert response["error"].startswith("internal error in :Workflow start (TypeError")
    assert str(log_file) in response["error"]
    assert "Traceback (most recent call last)" in log_file.read_text(encoding="utf-8")


def host_pid(nvim: Editor) -> int:
    """The pid of the plugin's Python server (a child of Neovim)."""
    pid = nvim.exec_lua("local s = require('workflow.host').running(); return s and s.pid")
    assert pid, "no Python server running"
    assert int(nvim.call("jobpid", nvim.exec_lua("return require('workflow.host').running().job"))) == pid
    return int(pid)


def test_host_crash_keeps_text_and_the_next_command_restarts_it(nvim: Editor, home: Home) -> None:
    home.write_workflow("good", GOOD)
    nvim.cmd("WorkflowStart good")
    path = Path(nvim.current.buffer.name)
    nvim.type("itext typed before the crash<Esc>")
    os.kill(host_pid(nvim), signal.SIGKILL)
    wait_for(lambda: all(c.get("stream") != "job" for c in nvim.api.list_chans()))

    nvim.cmd("WorkflowStatus")  # a new server reopens the run, and says the last one stopped
    messages = nvim.messages()
    assert "the Python server had stopped (killed by signal 9); a new one took over" in messages
    status = page_text(nvim)
    assert "0/" in status and "good" in status  # the run's status, from git
    assert path.read_text(encoding="utf-8").startswith("text typed before the crash")


def fake_python(tmp_path: Path, modules: list[str]) -> Path:
    """A Python that can import only ``modules`` from the test venv (plus the stdlib)."""
    import importlib.util

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            (lib / name).symlink_to(origin.parent, target_is_directory=True)
        else:
            (lib / origin.name).symlink_to(origin)
    script = tmp_path / "python3"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={lib}:$PYTHONPATH exec {sys.base_prefix}/bin/python3 -S "$@"\n')
    script.chmod(0o755)
    return script


def test_missing_python_packages_name_the_install_command(start_nvim, home: Home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    python = fake_python(tmp_path, ["msgpack"])
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {python = ...}", str(python))  # the person's choice: no other is tried
    home.write_workflow("good", GOOD)
    message = nvim.error("WorkflowStart good")
    assert f"{python} (vim.g.workflow.python): missing Python packages" in message
    assert "pyyaml" in message and "gitpython" in message and "ollama" in message
    assert "-m pip install " in message and ":WorkflowInstall" in message
    assert "Traceback" not in nvim.messages()


def test_python_without_msgpack_says_how_to_fix(start_nvim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    python = fake_python(tmp_path, ["yaml"])
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {python = ...}", str(python))
    message = nvim.error("WorkflowList")
    assert "has no msgpack" in message
    assert ":WorkflowInstall" in message


def test_hostile_workflow_files_are_listed_with_their_problems(nvim: Editor, home: Home) -> None:
    """A cloned .workflows/ with a FIFO, a link to /dev/zero, an alias bomb and 500 levels of '['."""
    home.write_workflow("good", GOOD)
    folder = home.project / ".workflows"
    os.mkfifo(folder / "fifo.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "bomb.yaml").write_text(hostile.alias_bomb(), encoding="utf-8")
    (folder / "deep.yaml").write_text(hostile.deep_nesting(500), encoding="utf-8")
    nvim.cmd("set lines=60 columns=200")  # room for the whole list: no -- More -- prompt
    nvim.cmd("WorkflowList")
    out = page_text(nvim)
    assert "A good one" in out
    assert f"{folder / 'fifo.yaml'}:1:1: cannot read file: it is a FIFO, not a regular file" in out
    assert f"{folder / 'zero.yaml'}:1:1: cannot read file: it is a device, not a regular file" in out
    assert f"{folder / 'bomb.yaml'}:4:5: alias '*s': workflows do not allow YAML aliases" in out
    assert f"  and {hostile.alias_bomb().count('*s') - 5} more problems" in out
    assert f"{folder / 'deep.yaml'}:2:57: values nested more than 50 levels deep" in out
    message = nvim.error("WorkflowStart fifo")
    assert message == f"[workflow] {folder / 'fifo.yaml'}:1:1: cannot read file: it is a FIFO, not a regular file"
    nvim.cmd("WorkflowStart good")
    assert nvim.state()["workflow"] == "good"


def test_a_template_too_large_is_refused_and_the_run_goes_on(nvim: Editor, home: Home) -> None:
    home.write_workflow("repeater", hostile.repeater())  # step b: ${a} 47,000 times
    nvim.cmd("WorkflowStart repeater")
    nvim.type("i" + "x" * 4000 + "<Esc>")
    message = nvim.error("WorkflowNext")
    assert message == "[workflow] template of 'b' would be 179.1 MiB, over 1 MiB: shorten step 'a'"
    assert nvim.state()["step"] == 1
    nvim.type("0d$ishort<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert nvim.state()["step"] == 2
    assert nvim.lines() == ["short" * hostile.repeater().count("${a}")]
