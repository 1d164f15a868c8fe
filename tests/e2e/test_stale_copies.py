"""A step whose template copied an earlier step's text says so when that step is revised later
(:help workflow-stale), in Neovim and in Vim, and :WorkflowRefresh updates the copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.vim import Tmux, Vim, needs_tmux, needs_vim

from .conftest import Editor, Home, wait_for
from .test_steps import ESSAY

STALE = "'Pick a topic' changed after this step copied it: :WorkflowRefresh updates the copy"


def said_above(nvim: Editor) -> str:
    """The lines above line 1, as one text (the window wraps the long ones)."""
    return " ".join(nvim.virt_lines())


def revise_the_topic(nvim: Editor) -> None:
    """Complete the topic and the outline (which copies it), then the topic again with other text."""
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    assert nvim.lines() == ["# Outline of Topic: trains", "- point"]
    assert "changed after" not in said_above(nvim)  # a copy just made is current
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto topic")
    nvim.type("A at night<Esc>")
    nvim.cmd("WorkflowNext")  # revised: back to the draft, which copies nothing
    assert Path(nvim.current.buffer.name).name == "03-draft.md"
    assert "changed after" not in said_above(nvim)


def test_neovim_says_a_copy_is_out_of_date_after_a_restart_and_refresh_updates_it(start_nvim: Any, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    nvim = start_nvim()
    revise_the_topic(nvim)
    nvim.cmd("WorkflowGoto outline")
    assert STALE in said_above(nvim)
    hl = nvim.exec_lua(
        "local ns = vim.api.nvim_get_namespaces().workflow;"
        "local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})[1];"
        "return m[4].virt_lines[#m[4].virt_lines - 1][1][2]"
    )
    assert hl == "WorkflowStale"
    run = nvim.state()["run"]
    nvim.quit()

    nvim = start_nvim()  # :qa! and a new Neovim: the line is read from the run's files
    nvim.cmd(f"WorkflowResume {run}")
    nvim.cmd("WorkflowGoto outline")
    assert STALE in said_above(nvim)
    nvim.clear_messages()
    nvim.cmd("WorkflowRefresh")
    assert nvim.lines() == ["# Outline of Topic: trains at night", "- point"]
    outline = Path(nvim.current.buffer.name)
    assert outline.read_text(encoding="utf-8") == "# Outline of Topic: trains at night\n- point\n"  # saved
    assert "changed after" not in said_above(nvim)
    assert "[workflow] updated the copy of 'Pick a topic' (u undoes)" in nvim.messages()
    nvim.type("u")
    assert nvim.lines() == ["# Outline of Topic: trains", "- point"]


def test_refresh_opens_the_new_text_beside_a_copy_the_person_edited(nvim: Editor, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("1s/trains/planes/")  # the copy, edited
    nvim.cmd("WorkflowGoto topic")
    nvim.type("A at night<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto outline")
    assert STALE in said_above(nvim)
    nvim.cmd("WorkflowRefresh")
    assert nvim.lines() == ["# Outline of Topic: planes", "- point"]  # untouched
    assert "changed after" not in said_above(nvim)
    windows = nvim.exec_lua(
        "return vim.tbl_map(function(w) local b = vim.api.nvim_win_get_buf(w);"
        "return {vim.api.nvim_buf_get_name(b), vim.wo[w].diff, vim.api.nvim_buf_get_lines(b, 0, -1, false)} end,"
        "vim.api.nvim_tabpage_list_wins(0))"
    )
    assert [w[1] for w in windows] == [True, True]
    assert windows[1][0].endswith("workflow://1 Pick a topic (now)")
    assert windows[1][2] == ["Topic: trains at night"]
    assert Path(nvim.current.buffer.name).name == "02-outline.txt"


def test_words_typed_onto_the_end_of_a_copy_make_it_edited_so_refresh_leaves_them(nvim: Editor, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    nvim.cmd("WorkflowStart essay")
    nvim.type("A trains<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("1s/$/, by sea/")  # the copy stays whole; the person's words follow it on its line
    nvim.cmd("WorkflowGoto topic")
    nvim.type("A at night<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.cmd("WorkflowGoto outline")
    nvim.cmd("WorkflowRefresh")
    assert nvim.lines() == ["# Outline of Topic: trains, by sea", "- point"]  # untouched: compared instead
    assert [nvim.call("getwinvar", w, "&diff") for w in (1, 2)] == [1, 1]


@needs_tmux
def test_vim_says_a_copy_is_out_of_date_and_refresh_updates_it(tmp_path: Path, home: Home, start_nvim: Any) -> None:
    home.write_workflow("essay", ESSAY)
    vim = Vim(tmp_path)
    first = vim.run(
        """
        WorkflowStart essay
        normal! A trains
        WorkflowNext
        g:Keep('fresh', prop_list(1)->mapnew((_, p) => p.type))
        WorkflowNext
        WorkflowGoto topic
        normal! A at night
        WorkflowNext
        g:Keep('draft', prop_list(1)->mapnew((_, p) => p.type))
        WorkflowGoto outline
        g:Keep('stale', prop_list(1)->filter((_, p) => p.type == 'workflow_instructions_stale'))
        g:Keep('run', g:WorkflowState().run)
        g:Keep('dir', g:WorkflowState().dir)
        """
    )
    assert "workflow_instructions_stale" not in first["fresh"] + first["draft"]
    assert len(first["stale"]) == 2  # the line, wrapped to the window

    term = Tmux(vim)  # what a person sees, after :qa! and a new Vim
    term.start()
    try:
        term.wait_for("~")
        term.keys(f":WorkflowResume {first['run']}", "Enter", ":WorkflowGoto outline", "Enter")
        screen = " ".join(line.strip() for line in term.wait_for("# Outline of Topic: trains"))
        assert STALE in screen, screen
        term.keys(":WorkflowRefresh", "Enter")
        screen = term.wait_for("# Outline of Topic: trains at night")
        assert "updated the copy of 'Pick a topic' (u undoes)" in screen[-1], screen
        assert "changed after" not in " ".join(screen), screen
        assert [line.rstrip() for line in screen[:5]] == [
            "Step 2/3: Outline",
            "Outline the essay about:",
            "Topic: trains at night",  # instructions are filled in afresh each time
            "",
            "# Outline of Topic: trains at night",
        ], screen
        outline = Path(first["dir"]) / "02-outline.txt"
        assert outline.read_text(encoding="utf-8") == "# Outline of Topic: trains at night\n- point\n"  # saved
        term.keys("u")
        assert wait_for(lambda: "# Outline of Topic: trains" in [line.rstrip() for line in term.screen()])
        term.keys("Escape", ":w", "Enter", ":qa!", "Enter")
        assert wait_for(lambda: not term.alive(), 30)
    finally:
        term.stop()

    nvim = start_nvim()  # and in the other editor: the copy was refreshed (its undo is the person's own edit)
    nvim.cmd(f"WorkflowResume {first['run']}")
    nvim.cmd("WorkflowGoto outline")
    assert nvim.lines() == ["# Outline of Topic: trains", "- point"]
    assert "changed after" not in said_above(nvim)


@needs_vim
def test_vim_opens_the_new_text_beside_a_copy_the_person_edited(tmp_path: Path, home: Home) -> None:
    home.write_workflow("essay", ESSAY)
    result = Vim(tmp_path).run(
        """
        WorkflowStart essay
        normal! A trains
        WorkflowNext
        :1s/trains/planes/
        WorkflowGoto topic
        normal! A at night
        WorkflowNext
        WorkflowGoto outline
        WorkflowRefresh
        g:Keep('lines', getline(1, '$'))
        g:Keep('current', expand('%:t'))
        g:Keep('windows', getwininfo()->mapnew((_, w) => [bufname(w.bufnr), getwinvar(w.winid, '&diff'),
          getbufline(w.bufnr, 1, '$')]))
        """
    )
    assert result["lines"] == ["# Outline of Topic: planes", "- point"]
    assert result["current"] == "02-outline.txt"
    assert [w[1] for w in result["windows"]] == [1, 1]
    assert result["windows"][1][0] == "workflow://1 Pick a topic (now)"
    assert result["windows"][1][2] == ["Topic: trains at night"]
