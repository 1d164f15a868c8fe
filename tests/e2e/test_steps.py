"""Walking through a workflow in a real Neovim: buffers, instructions, moving, saving."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Editor, Home

ESSAY = """
name: essay
title: Write an essay
description: Three steps.
steps:
  - id: topic
    title: Pick a topic
    instructions: |
      Name the topic in one line.
      Keep it short.
    template: |
      Topic:
  - id: outline
    title: Outline
    instructions: |
      Outline the essay about:
      ${topic}
    template: |
      # Outline of ${topic}
      - point
    filetype: text
  - id: draft
    title: Draft
    instructions: Write it.
"""


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


def test_start_shows_first_step_with_instructions_and_progress(nvim: Editor, essay: Path, home: Home) -> None:
    nvim.cmd("WorkflowStart essay")

    assert nvim.lines() == ["Topic:"]
    name = Path(nvim.current.buffer.name)
    assert name.name == "01-topic.md"
    assert name.parent.parent == home.runs
    # The instructions' two lines are one paragraph: the window wraps it.
    assert nvim.virt_lines() == ["Step 1/3: Pick a topic", "Name the topic in one line. Keep it short.", ""]
    assert "Write an essay" in nvim.winbar() and "Step 1/3: Pick a topic" in nvim.winbar()
    assert nvim.current.buffer.options["filetype"] == "markdown"
    # The instructions sit above line 1, scrolled into view.
    assert nvim.eval("winsaveview().topfill") == 3


def test_next_fills_references_and_prev_returns(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    assert nvim.current.buffer.options["modified"]

    nvim.cmd("WorkflowNext")

    assert nvim.lines() == ["# Outline of Topic: trains", "- point"]
    assert Path(nvim.current.buffer.name).name == "02-outline.txt"  # named after its filetype
    assert nvim.virt_lines()[:3] == ["Step 2/3: Outline", "Outline the essay about:", "Topic: trains"]
    assert nvim.current.buffer.options["filetype"] == "text"
    state = nvim.state()
    assert state["step"] == 2
    assert [s["done"] for s in state["steps"]] == [True, False, False]

    nvim.cmd("WorkflowPrev")
    assert nvim.lines() == ["Topic: trains"]
    assert nvim.state()["step"] == 1
    # Going back does not re-render a step that already has text.
    nvim.cmd("WorkflowGoto outline")
    assert nvim.lines() == ["# Outline of Topic: trains", "- point"]


def test_typed_text_is_saved_when_leaving_the_step(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    first = Path(nvim.current.buffer.name)
    nvim.type("A sailing<Esc>")

    nvim.cmd("WorkflowNext")

    assert first.read_text(encoding="utf-8") == "Topic: sailing\n"


def test_text_survives_quitting_without_saving_and_reopening(start_nvim, essay: Path) -> None:  # type: ignore[no-untyped-def]
    nvim = start_nvim()
    nvim.cmd("WorkflowStart essay")
    path = Path(nvim.current.buffer.name)
    nvim.type("A unsaved words<Esc>")
    nvim.quit()  # :qa! with a modified buffer

    assert path.read_text(encoding="utf-8") == "Topic: unsaved words\n"
    again = start_nvim()
    again.cmd(f"edit {path}")
    assert again.lines() == ["Topic: unsaved words"]


def test_cannot_skip_ahead_of_the_first_unfinished_step(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    message = nvim.error("WorkflowGoto draft")
    assert message == "[workflow] step 'draft' is not reached yet: complete 'topic' first (:WorkflowNext)"
    assert Path(nvim.current.buffer.name).name == "01-topic.md"


def test_goto_by_number_and_status(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto 1")
    assert Path(nvim.current.buffer.name).name == "01-topic.md"
    nvim.cmd("WorkflowStatus")  # in a window of its own (see test_pages.py)
    out = "\n".join(nvim.lines())
    assert "Write an essay" in out
    assert "1/3 done" in out


def test_finishing_the_last_step(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowNext")
    nvim.clear_messages()
    nvim.cmd("WorkflowNext")
    nvim.settle()  # finished once the last commit has landed (the finish ref marks it)
    state = nvim.state()
    assert state["finished"] is True
    assert all(s["done"] for s in state["steps"])
    assert "finished" in nvim.messages().lower()


def test_workflow_state_matches_the_run(nvim: Editor, essay: Path, home: Home) -> None:
    assert nvim.state() == {}
    nvim.cmd("WorkflowStart essay")
    state = nvim.state()
    assert state["workflow"] == "essay"
    assert state["step"] == 1
    run_dir = Path(state["dir"])
    assert run_dir.parent == home.runs
    assert run_dir.name == state["run"]
    assert [(s["id"], s["title"], s["done"]) for s in state["steps"]] == [
        ("topic", "Pick a topic", False),
        ("outline", "Outline", False),
        ("draft", "Draft", False),
    ]
    assert (run_dir / "workflow.yaml").read_text(encoding="utf-8") == essay.read_text(encoding="utf-8")


def test_stop_keeps_files_and_detaches(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    path = Path(nvim.current.buffer.name)
    nvim.type("A kept<Esc>")
    nvim.cmd("WorkflowStop")
    assert nvim.state() == {}
    assert nvim.eval("get(b:, 'workflow_step', 0)") == 0
    assert nvim.virt_lines() == []
    assert path.read_text(encoding="utf-8") == "Topic: kept\n"
    assert "no workflow is running: start one with :WorkflowStart" in nvim.error("WorkflowNext")


def test_default_maps_only_in_step_buffers_and_can_be_switched_off(start_nvim, essay: Path) -> None:  # type: ignore[no-untyped-def]
    nvim = start_nvim()
    assert nvim.call("maparg", "<LocalLeader>n", "n") == ""
    nvim.cmd("WorkflowStart essay")
    assert nvim.call("maparg", "<LocalLeader>n", "n") == "<Plug>(WorkflowNext)"
    nvim.type("\\n")  # the default <LocalLeader> is a backslash
    assert nvim.state()["step"] == 2
    nvim.cmd("enew")
    assert nvim.call("maparg", "<LocalLeader>n", "n") == ""
    nvim.quit()

    off = start_nvim()
    off.cmd("let g:workflow = #{default_mappings: v:false}")
    off.cmd("WorkflowStart essay")
    assert off.call("maparg", "<LocalLeader>n", "n") == ""


def test_plug_mappings_exist_without_global_defaults(nvim: Editor) -> None:
    for name in ("Next", "Prev", "Status"):
        assert nvim.call("maparg", f"<Plug>(Workflow{name})", "n") == f"<Cmd>Workflow{name}<CR>"
    assert nvim.call("maparg", "<LocalLeader>n", "n") == ""
    assert nvim.call("maparg", "<LocalLeader>p", "n") == ""


def test_front_door_command_and_completion(nvim: Editor, essay: Path) -> None:
    assert nvim.call("getcompletion", "Workflow ", "cmdline") == [
        "annotate",
        "annotate_cancel",
        "annotate_clear",
        "cancel",
        "check",
        "export",
        "goto",
        "health",
        "install",
        "list",
        "log",
        "models",
        "new",
        "next",
        "prev",
        "refresh",
        "reopen",
        "resume",
        "revert",
        "run",
        "runs",
        "skip",
        "start",
        "status",
        "stop",
        "trust",
    ]
    names = nvim.call("getcompletion", "WorkflowStart ", "cmdline")
    assert "essay" in names and "blog-post" in names
    assert nvim.call("getcompletion", "Workflow start es", "cmdline") == ["essay"]
    nvim.cmd("Workflow start essay")
    assert nvim.call("getcompletion", "WorkflowGoto ", "cmdline") == ["topic", "1"]  # only steps it can open
    assert nvim.call("getcompletion", "WorkflowRevert ", "cmdline") == []
    nvim.cmd("WorkflowNext")
    assert nvim.call("getcompletion", "WorkflowGoto ", "cmdline") == ["topic", "1", "outline", "2"]
    assert nvim.call("getcompletion", "Workflow goto ou", "cmdline") == ["outline"]
    assert nvim.call("getcompletion", "Workflow revert ", "cmdline") == ["topic", "1"]


def test_unknown_subcommand_suggests_the_closest(nvim: Editor) -> None:
    assert "unknown subcommand 'strat', did you mean 'start'?" in nvim.error("Workflow strat essay")


def test_bad_option_names_the_field(nvim: Editor, essay: Path) -> None:
    nvim.cmd("let g:workflow = #{run_dir: '/tmp'}")
    message = nvim.error("WorkflowStart essay")
    assert "unknown option vim.g.workflow.run_dir, did you mean 'runs_dir'?" in message


def test_runs_dir_option(nvim: Editor, essay: Path, tmp_path: Path) -> None:
    nvim.exec_lua("require('workflow').setup({runs_dir = ...})", str(tmp_path / "my-runs"))
    nvim.cmd("WorkflowStart essay")
    assert Path(nvim.current.buffer.name).parent.parent == tmp_path / "my-runs"


@pytest.mark.parametrize("name", ["tutorial", "blog-post", "bug-report", "code-review"])
def test_bundled_workflows_start(nvim: Editor, name: str) -> None:
    nvim.cmd(f"WorkflowStart {name}")
    state = nvim.state()
    assert state["workflow"] == name
    assert len(state["steps"]) >= 3
    assert nvim.virt_lines()[0].startswith(f"Step 1/{len(state['steps'])}: ")
    assert len(nvim.virt_lines()) > 2


def test_starting_another_run_detaches_the_old_step_buffers(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    old = nvim.current.buffer
    nvim.cmd("WorkflowStart tutorial")
    assert nvim.eval(f"getbufvar({old.number}, 'workflow_step', 0)") == 0
    nvim.cmd(f"buffer {old.number}")
    assert nvim.virt_lines() == []
    assert nvim.call("maparg", "<LocalLeader>n", "n") == ""
    assert nvim.state()["workflow"] == "tutorial"


def test_going_back_to_line_one_shows_the_instructions_again(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.cmd("set lines=20")
    nvim.current.buffer.append([f"line {i}" for i in range(100)])
    nvim.type("G")
    assert nvim.eval("line('w0')") > 1
    nvim.type("gg")
    assert nvim.eval("winsaveview().topfill") == 3


def test_arguments_are_checked_with_workflow_messages(nvim: Editor, essay: Path) -> None:
    assert nvim.error("WorkflowStart") == "[workflow] :WorkflowStart takes a workflow name (<Tab> completes)"
    assert nvim.error("Workflow") == (
        "[workflow] which subcommand? :Workflow "
        "{annotate|annotate_cancel|annotate_clear|cancel|check|export|goto|health|install|list|log|models|new|next|prev|refresh|reopen|resume|revert|run|runs|skip|start|status|stop|trust}"
    )
    assert nvim.error("WorkflowGoto") == "[workflow] :WorkflowGoto takes a step id or number (<Tab> completes)"
    assert nvim.error("Workflow status extra") == "[workflow] :WorkflowStatus takes no argument"
    assert "did you mean" not in nvim.error("Workflow foo")
    nvim.cmd("WorkflowStart essay | let g:after_bar = 1")  # commands take | like built-in ones
    assert nvim.state()["workflow"] == "essay"
    assert nvim.eval("g:after_bar") == 1


def test_next_outside_a_step_buffer_opens_the_step_instead_of_completing_it(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    nvim.cmd("enew")
    nvim.cmd("WorkflowNext")
    assert Path(nvim.current.buffer.name).name == "01-topic.md"
    assert nvim.state()["steps"][0]["done"] is False


def test_a_window_that_cannot_switch_gets_a_split(nvim: Editor, essay: Path) -> None:
    nvim.cmd("set nohidden")
    nvim.cmd("enew")
    nvim.type("iunsaved scratch<Esc>")
    nvim.cmd("WorkflowStart essay")
    assert Path(nvim.current.buffer.name).name == "01-topic.md"
    assert len(nvim.windows) == 2
    assert nvim.state()["step"] == 1


def test_detached_buffers_lose_maps_and_winbar_everywhere(nvim: Editor, essay: Path) -> None:
    nvim.cmd("WorkflowStart essay")
    old = nvim.current.buffer.number
    nvim.cmd("enew")
    nvim.cmd("WorkflowStop")  # from another buffer
    nvim.cmd(f"buffer {old}")
    assert nvim.call("maparg", "<LocalLeader>n", "n") == ""
    assert nvim.winbar() == ""


def test_a_file_changed_on_disk_is_never_overwritten_silently(nvim: Editor, essay: Path) -> None:
    import os
    import time

    nvim.cmd("WorkflowStart essay")
    path = Path(nvim.current.buffer.name)
    nvim.type("A mine<Esc>")
    time.sleep(0.01)
    path.write_text("Topic: theirs\n")
    os.utime(path, (time.time() + 5, time.time() + 5))
    message = nvim.error("WorkflowNext")
    assert message == "[workflow] 01-topic.md changed on disk: :w! keeps your text, :e! takes the file"
    assert path.read_text() == "Topic: theirs\n"
    assert nvim.lines() == ["Topic: mine"]


def test_long_instructions_wrap_and_are_capped(nvim: Editor, home: Home) -> None:
    long_line = " ".join(["word"] * 60)
    many = "\n".join(f"      - line {i}" for i in range(80))
    home.write_workflow(
        "wordy",
        f"name: wordy\ntitle: Wordy\nsteps:\n  - id: a\n    title: A\n    instructions: |\n      {long_line}\n{many}\n",
    )
    nvim.cmd("set columns=80 lines=40")
    nvim.cmd("WorkflowStart wordy")
    shown = nvim.virt_lines()
    assert all(len(line) <= 80 for line in shown)
    assert shown[1].startswith("word word") and shown[2].startswith("word word")
    assert len(shown) < 25
    assert shown[-2].startswith("… ") and shown[-2].endswith("more lines: a taller window shows more")


PROSE = (
    "Decide who you are writing for before deciding what to say. A post for everyone helps no one in "
    "particular; a post for one kind of reader can answer the question they actually have. The able-to "
    "line matters most: name something the reader will be able to do afterwards, not only something "
    "they will understand."
)


def test_hard_wrapped_instructions_fill_a_narrow_window(nvim: Editor, home: Home) -> None:
    import textwrap

    wrapped = textwrap.fill(PROSE, 60)  # as an author's editor wraps it
    body = textwrap.indent(
        f"{wrapped}\n\n- a list item\n- another, which is long enough to be wrapped too\n\n{wrapped}", "      "
    )
    home.write_workflow(
        "prose", f"name: prose\ntitle: Prose\nsteps:\n  - id: a\n    title: A\n    instructions: |\n{body}\n"
    )
    nvim.cmd("set columns=50 lines=60")
    nvim.cmd("WorkflowStart prose")
    assert nvim.api.win_get_width(0) == 50
    shown = nvim.virt_lines()[1:-1]
    width = 50 - 2
    assert all(len(line) <= width for line in shown)
    paragraphs: list[list[str]] = [[]]
    for line in shown:
        if line == "":
            paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    prose = [paragraphs[0], paragraphs[2]]
    for lines in prose:
        assert " ".join(lines) == PROSE  # every word, in order
        assert [line for line in lines[:-1] if len(line) < width - 15] == [], lines  # filled, not ragged
    # A list item keeps its line; its wrapped end lines up under its text.
    assert paragraphs[1] == ["- a list item", "- another, which is long enough to be wrapped", "  too"]

    # The cap counts the lines as wrapped: what is shown and what is cut add up to them all.
    nvim.cmd("set lines=16")
    capped = nvim.virt_lines()[1:-1]
    assert capped[-1].startswith("… ") and capped[-1].endswith(" more lines: a taller window shows more")
    assert capped[:-1] == shown[: len(capped) - 1]
    assert len(capped) - 1 + int(capped[-1].split()[1]) == len(shown)
