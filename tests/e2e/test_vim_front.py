"""The Vim 9 front (plugin/workflow.vim, autoload/workflow/*.vim) in a real Vim, on the real server.

Each test drives ``vim -es`` scripts through tests/vim.py with fresh XDG directories (the ``home``
fixture); what a person would see is read back from Vim (buffers, text properties, :messages) and
from disk and git. One test looks at a real terminal through tmux.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from workflow_nvim import options, protocol

from tests.vim import ROOT, VIM, Tmux, Vim, needs_tmux, needs_vim

from ..pythons import wheels_fixture  # noqa: F401
from .conftest import Home, SmallDisk, git, wait_for
from .test_install import SHORT, bare  # noqa: F401
from .test_saving import MODELINE
from .test_steps import ESSAY

pytestmark = needs_vim


@pytest.fixture
def essay(home: Home) -> Path:
    return home.write_workflow("essay", ESSAY)


@pytest.fixture
def vim(tmp_path: Path, home: Home) -> Vim:
    return Vim(tmp_path, {"runs_dir": str(home.root / "runs")})


def test_startup_sources_no_autoload_file_and_defines_every_command(vim: Vim) -> None:
    result = vim.run(
        """
        g:Keep('scripts', execute('scriptnames')->split("\\n"))
        g:Keep('commands', execute('command Workflow'))
        g:Keep('plugs', ['Next', 'Prev', 'Status', 'Annotate', 'AnnotateCancel']
          ->mapnew((_, n) => maparg($'<Plug>(Workflow{n})', 'n')))
        for background in ['light', 'dark']
          &background = background
          g:Keep(background, [hlget('WorkflowInstructions', true)[0], hlget('Normal', true)[0]])
        endfor
        """
    )
    plugs = ("Next", "Prev", "Status", "Annotate", "AnnotateCancel")
    assert result["plugs"] == [f"<Cmd>Workflow{n}<CR>" for n in plugs]
    # The instructions have a colour of their own in 16 and 256 colours, never Normal's.
    for background in ("light", "dark"):
        instructions, normal = result[background]
        assert instructions.get("ctermfg") not in (None, "", normal.get("ctermfg")), instructions
        assert instructions.get("guifg"), instructions
    ours = [line for line in result["scripts"] if str(ROOT) in line]
    assert len(ours) == 1 and ours[0].endswith("/plugin/workflow.vim"), ours  # not workflow.lua, no autoload
    for c in protocol.COMMANDS:
        assert re.search(rf"\b{c.command}\b", result["commands"]), c.command


def test_neovim_leaves_plugin_workflow_vim_at_once(nvim: Any) -> None:
    scripts = [line.split(": ", 1)[1].strip() for line in nvim.command_output("scriptnames").splitlines()]
    ours = [Path(s).name for s in scripts if Path(s).expanduser().parent == ROOT / "plugin"]
    assert ours == ["workflow.vim", "workflow.lua"]
    assert nvim.command_output("messages").strip() == ""  # no error from the Vim file
    assert nvim.api.get_commands({})["WorkflowStart"]["definition"] == "Start a workflow by name"  # the Lua one


def test_the_vim_command_table_is_protocols_field_by_field(vim: Vim) -> None:
    result = vim.run(
        """
        g:Keep('table', workflow#commands#Get())
        g:Keep('protocol', workflow#host#PROTOCOL)
        g:Keep('schema', keys(workflow#config#SCHEMA))
        """
    )
    assert result["table"] == [c._asdict() for c in protocol.COMMANDS]
    assert result["protocol"] == protocol.PROTOCOL
    assert sorted(result["schema"]) == sorted(options.NAMES + options.FRONT_ONLY)
    # plugin/workflow.vim defines each as the table says (as plugin/workflow.lua does).
    plugin = (ROOT / "plugin" / "workflow.vim").read_text(encoding="utf-8")
    for c in protocol.COMMANDS:
        [line] = [x for x in plugin.splitlines() if re.search(rf"^command! .* {c.command} ", x)]
        assert ("-nargs=0" if c.most == 0 else "-nargs=*") in line
        assert ("-bar" in line) == (c.most != -1)
        assert ("-range=%" in line) == c.takes_range
        assert ("-bang" in line) == c.bang, c.command
        assert f"workflow#command#Run('{c.name}'" in line


def test_start_type_next_prev_goto_status_revert(vim: Vim, home: Home, essay: Path) -> None:
    result = vim.run(
        """
        WorkflowStart essay
        g:Keep('first', [bufname(), getline(1, '$'), g:Above(), b:workflow_instructions.instructions, &statusline])
        g:Keep('start_said', g:Said())
        normal! A trains
        WorkflowNext
        g:Keep('second', [bufname(), getline(1, '$'), g:Above()])
        g:Settle()
        g:Keep('next_said', g:Said())
        g:Keep('state', g:WorkflowState())
        WorkflowPrev
        g:Keep('prev', [bufname(), getline(1, '$')])
        WorkflowGoto outline
        g:Keep('goto', bufname())
        WorkflowGoto 1
        g:Keep('goto1', bufname())
        g:Said()
        WorkflowStatus
        g:Keep('status', popup_list()->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        g:Keep('status_said', g:Said())
        WorkflowGoto 2
        normal! Go- another
        WorkflowNext
        g:Settle()
        WorkflowRevert topic
        g:Keep('reverted', [bufname(), g:WorkflowState().step, g:Said()])
        g:Keep('buffers', getbufinfo({buflisted: 1})->mapnew((_, b) => fnamemodify(b.name, ':t')))
        """
    )
    path, lines, above, instructions, statusline = result["first"]
    d = Path(path).parent
    assert Path(path).name == "01-topic.md" and d.parent == home.root / "runs"
    assert lines == ["Topic:"]
    count, types, height = above
    # The title, the instructions (one paragraph), a blank line: all text_align 'above' line 1.
    assert types == ["workflow_instructions_title", "workflow_instructions", "workflow_instructions"]
    assert count == height == 3
    assert instructions == ["Name the topic in one line. Keep it short."]
    assert "Write an essay · Step 1/3: Pick a topic" in statusline
    assert re.fullmatch(r"\[workflow\] started run \d{8}-\d{6}-essay \(3 steps\)", result["start_said"][-1])

    second, lines2, _ = result["second"]
    assert Path(second).name == "02-outline.txt"
    assert lines2 == ["# Outline of Topic: trains", "- point"]
    assert "[workflow] step 1 'Pick a topic' done" in result["next_said"]
    assert result["state"]["step"] == 2 and result["state"]["steps"][0]["done"] is True
    assert Path(result["prev"][0]).name == "01-topic.md" and result["prev"][1] == ["Topic: trains"]
    assert Path(result["goto"]).name == "02-outline.txt"
    assert Path(result["goto1"]).name == "01-topic.md"
    # The status is several lines: they go to a popup, never to a Press-ENTER prompt.
    [status] = result["status"]
    assert any("Pick a topic" in line for line in status), status
    assert result["status_said"] == []

    assert git(d, "log", "--format=%s").splitlines() == [
        "essay: back to 1/3 Pick a topic",
        "essay: kept unfinished 3/3 Draft",
        "essay: 2/3 Outline",
        "essay: 1/3 Pick a topic",
    ]
    assert git(d, "show", "HEAD~1:01-topic.md") == "Topic: trains\n"
    reverted, step, said = result["reverted"]
    assert Path(reverted).name == "01-topic.md" and step == 1
    assert said[-1].startswith("[workflow] back at step 1, 2-3 pending again; kept: :WorkflowLog"), said
    assert "02-outline.txt" not in result["buffers"]  # pending again: its buffer is gone


def test_quit_mid_step_and_resume_in_a_new_vim(vim: Vim, essay: Path) -> None:
    first = vim.run(
        """
        WorkflowStart essay
        normal! A unsaved words
        g:Keep('run', g:WorkflowState().run)
        g:Keep('modified', &modified)
        g:Keep('where', [expand('%:p'), b:workflow_scratch])
        """
    )  # the script ends with :qa!
    assert first["modified"] == 1
    # What a Vim killed mid-write would leave: its temporary files, beside the step and in the scratch place.
    path, scratch = (Path(p) for p in first["where"])
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = finished.pid
    stale = [path.parent / f".{path.name}.{dead}.0badf00d.workflow-tmp", scratch / f"{dead}.0badf00d.workflow-tmp"]
    for file in stale:
        file.write_text("half a save")
    second = vim.run(
        f"""
        WorkflowResume {first["run"]}
        g:Keep('lines', getline(1, '$'))
        g:Keep('above', g:Above())
        """
    )
    assert second["lines"] == ["Topic: unsaved words"]
    assert second["above"][0] == 3
    assert [file for file in stale if file.exists()] == []


def test_completion_and_one_line_errors(vim: Vim, essay: Path) -> None:
    result = vim.run(
        """
        g:Keep('subs', getcompletion('Workflow ', 'cmdline'))
        g:Keep('names', getcompletion('WorkflowStart es', 'cmdline'))
        g:Keep('sub_names', getcompletion('Workflow start ', 'cmdline'))
        g:Said()
        Workflow strat
        g:Keep('unknown', g:Said())
        WorkflowStart
        g:Keep('missing', g:Said())
        WorkflowStart nope
        g:Keep('nope', g:Said())
        g:Keep('mode', mode())
        """
    )
    assert result["subs"] == sorted(c.name for c in protocol.COMMANDS)
    assert result["names"] == ["essay"]
    assert "essay" in result["sub_names"]
    [unknown] = result["unknown"]
    assert unknown.startswith("[workflow] unknown subcommand 'strat', did you mean 'start'?")
    assert len(unknown) < 80
    assert result["missing"] == ["[workflow] :WorkflowStart takes a workflow name (<Tab> completes)"]
    [nope] = result["nope"]
    assert nope.startswith("[workflow] ") and "nope" in nope


def test_a_run_started_in_vim_goes_on_in_neovim_and_back(vim: Vim, home: Home, essay: Path, start_nvim: Any) -> None:
    runs = str(home.root / "runs")
    started = vim.run(
        """
        WorkflowStart essay
        normal! A from vim
        WorkflowNext
        normal! Go- typed in vim
        g:Settle()
        g:Keep('run', g:WorkflowState().run)
        """
    )
    run = started["run"]
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", runs)
    nvim.cmd(f"WorkflowResume {run}")
    assert nvim.lines() == ["# Outline of Topic: from vim", "- point", "- typed in vim"]
    nvim.type("Go- typed in neovim<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    d = Path(nvim.state()["dir"])
    nvim.quit()
    back = vim.run(
        f"""
        WorkflowResume {run}
        g:Keep('state', g:WorkflowState())
        g:Keep('name', bufname())
        """
    )
    assert back["state"]["step"] == 3 and [s["done"] for s in back["state"]["steps"]] == [True, True, False]
    assert Path(back["name"]).name == "03-draft.md"
    assert git(d, "show", "HEAD:02-outline.txt").endswith("- typed in vim\n- typed in neovim\n")


def test_an_in_project_run_leaves_the_persons_staged_changes_alone(tmp_path: Path, essay: Path, project: Path) -> None:
    vim = Vim(tmp_path, {"runs_dir": str(project / ".workflow-runs")})
    result = vim.run(
        """
        WorkflowStart essay
        normal! A sailing
        WorkflowNext
        g:Settle()
        g:Keep('dir', g:WorkflowState().dir)
        """
    )
    d = Path(result["dir"])
    rel = d.relative_to(project).as_posix()
    assert git(project, "show", "--name-only", "--format=", "HEAD").split() == [
        f"{rel}/.start/01-topic.md",
        f"{rel}/.start/run.json",
        f"{rel}/01-topic.md",
        f"{rel}/workflow.yaml",
    ]
    assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert git(project, "diff", "--cached", "notes.txt").count("+two (staged)") == 1
    assert git(project, "diff", "--name-only").split() == ["code.py"]
    assert (project / "code.py").read_text() == "x = 2  # unstaged\n"


@needs_tmux
def test_in_a_terminal_the_instructions_show_above_line_1_and_nothing_waits_for_enter(vim: Vim, essay: Path) -> None:
    term = Tmux(vim)
    term.start()
    try:
        term.wait_for("~")
        term.keys(":WorkflowStart essay", "Enter")
        screen = term.wait_for("Topic:")
        top = [line.rstrip() for line in screen[:4]]
        assert top == ["Step 1/3: Pick a topic", "Name the topic in one line. Keep it short.", "", "Topic:"], screen
        term.keys(":set laststatus=2", "Enter")  # the progress line is the window's status line
        screen = term.wait_for("Write an essay · Step 1/3: Pick a topic")
        assert "Write an essay · Step 1/3: Pick a topic" in screen[-2], screen
        term.keys(":set ruler showcmd", "Enter", ":Workflow strat", "Enter")  # less room on the last line
        screen = term.wait_for("unknown subcommand")
        assert not any("Press ENTER" in line for line in screen), screen
        term.keys(":WorkflowStatus", "Enter")
        screen = term.wait_for("Pick a topic ")
        assert not any("Press ENTER" in line for line in screen), screen
        term.keys("Escape", "ggOopened above", "Escape")  # the instructions stay on top

        def top(first: str) -> bool:
            return [line.rstrip() for line in term.screen()[:4]][::3] == ["Step 1/3: Pick a topic", first]

        assert wait_for(lambda: top("opened above")), term.screen()
        term.keys("ggdd")
        assert wait_for(lambda: top("Topic:")), term.screen()
        term.keys("A words", "Escape", ":WorkflowNext", "Enter")
        screen = term.wait_for("Step 2/3: Outline")
        assert not any("Press ENTER" in line for line in screen), screen
        assert wait_for(lambda: any("'Pick a topic' done" in line for line in term.screen()))
    finally:
        term.stop()


def test_resume_without_a_run_id_offers_a_popup_menu(vim: Vim, essay: Path) -> None:
    first = vim.run(
        """
        WorkflowStart essay
        normal! A menus
        g:Keep('run', g:WorkflowState().run)
        """
    )
    result = vim.run(
        """
        WorkflowResume
        var menus = popup_list()
        g:Keep('menu', menus->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        popup_close(menus[0], 1)  # as <CR> on the first entry does
        g:Keep('lines', getline(1, '$'))
        g:Keep('run', g:WorkflowState().run)
        """
    )
    [menu] = result["menu"]
    assert menu[0].startswith(f"{first['run']}  Write an essay  0/3 done, next: ")
    assert result["run"] == first["run"]
    assert result["lines"] == ["Topic: menus"]


def test_user_events_carry_their_data_in_g_workflow_event(vim: Vim, essay: Path) -> None:
    result = vim.run(
        """
        g:seen = []
        autocmd User WorkflowStarted g:seen->add(['started', g:workflow_event.workflow])
        autocmd User WorkflowStepCompleted g:seen->add(['completed', g:workflow_event.id])
        WorkflowStart essay
        WorkflowNext
        g:Settle()
        g:Keep('seen', g:seen)
        """
    )
    assert result["seen"] == [["started", "essay"], ["completed", "topic"]]


def test_step_buffers_are_saved_whole_and_never_over_a_change_on_disk(vim: Vim, essay: Path) -> None:
    result = vim.run(
        """
        WorkflowStart essay
        var path = expand('%:p')
        g:Keep('maps', [maparg('<LocalLeader>n', 'n'), maparg('<LocalLeader>p', 'n'), maparg('<LocalLeader>s', 'n')])
        execute 'set undofile undodir=' .. fnameescape(fnamemodify(path, ':h:h:h') .. '/undo')
        mkdir(&undodir, 'p')
        normal! A saved
        write
        g:Keep('written', [readfile(path), &modified, filereadable(undofile(path))])
        g:Keep('temporary', glob(fnamemodify(path, ':h') .. '/.*workflow-tmp', true, true))
        normal! ggdG
        write
        g:Keep('emptied', getfsize(path))
        setline(1, '')
        write
        g:Keep('one_empty_line', getfsize(path))
        setline(1, 'Topic: saved')
        write
        sleep 1100m  # a new modification time
        writefile(['Changed elsewhere'], path)
        normal! A again
        set hidden
        enew  # leaving it saves it: not over the other change
        g:Keep('kept', [readfile(path), getbufvar(bufnr(path), '&modified')])
        g:Keep('said', g:Said())
        """
    )
    assert result["maps"] == ["<Plug>(WorkflowNext)", "<Plug>(WorkflowPrev)", "<Plug>(WorkflowStatus)"]
    assert result["written"] == [["Topic: saved"], 0, 1]  # and its undo file, as :write makes it
    assert (result["emptied"], result["one_empty_line"]) == (0, 1)  # as Vim's own :write
    assert result["temporary"] == []
    assert result["kept"] == [["Changed elsewhere"], 1]
    assert "[workflow] 01-topic.md changed on disk: :w! keeps your text, :e! takes the file" in result["said"]


def test_step_buffers_ignore_modelines_in_templates(vim: Vim, home: Home) -> None:
    """Vim's twin of test_saving.py's: a template's modeline sets nothing, on opening or on reading again."""
    home.write_workflow("modeline", MODELINE)
    result = vim.run(
        """
        set modeline modelines=5
        WorkflowStart modeline
        var path = expand('%:p')
        g:Keep('path', path)
        g:Keep('opened', [&l:modeline, &l:textwidth, &l:fileencoding])
        edit
        g:Keep('read_again', [&l:textwidth, &l:fileencoding])
        normal! ggA café au lait, sans sucre
        WorkflowNext
        g:Settle()
        g:Keep('next', [g:WorkflowState().step, bufname()])
        execute 'edit ' .. fnameescape(path)
        g:Keep('reopened', [getline(1), &l:textwidth])
        """
    )
    assert result["opened"] == [0, 0, "utf-8"]
    assert result["read_again"] == [0, "utf-8"]
    # typed as is, not wrapped at 7 columns, and saved as UTF-8
    assert Path(result["path"]).read_bytes().decode("utf-8").startswith("Notes: café au lait, sans sucre\n")
    step, name = result["next"]
    assert step == 2 and Path(name).name == "02-more.md"
    assert result["reopened"] == ["Notes: café au lait, sans sucre", 0]


def test_a_full_disk_never_damages_the_saved_text(tmp_path: Path, essay: Path, small_disk: SmallDisk) -> None:
    """Vim's twin of test_saving.py's: a failed save keeps the file whole and says the disk is full."""
    if small_disk.outside != small_disk.path:
        pytest.skip("Vim is not started in the disk's own mount namespace: run as root (as CI does)")
    vim = Vim(tmp_path, {"runs_dir": str(small_disk.path / "runs")})
    typed = " ".join(["more words"] * 1000)  # more than the blocks the file holds: in place, it needs new ones
    result = vim.run(
        f"""
        WorkflowStart essay
        var path = expand('%:p')
        g:Keep('path', path)
        normal! A saved words
        write
        g:Keep('saved', readfile(path))
        system('cat /dev/zero > {small_disk.path / "filler"}')
        append(1, '{typed}')
        g:Said()
        write
        g:Keep('full', [readfile(path), &modified, g:Said()])
        WorkflowNext
        g:Keep('next', [readfile(path), g:WorkflowState().steps[0].done, g:Said()])
        g:Keep('temporary', glob(fnamemodify(path, ':h') .. '/.*workflow-tmp', true, true))
        delete('{small_disk.path / "filler"}')
        WorkflowGoto 1
        WorkflowNext
        g:Settle()
        g:Keep('freed', [readfile(path), g:WorkflowState().steps[0].done])
        """
    )
    full = "[workflow] the disk is full: free some space; your text is still in the buffer"
    assert result["saved"] == ["Topic: saved words"]
    lines, modified, said = result["full"]
    assert (lines, modified) == (["Topic: saved words"], 1)
    assert said[-1] == full
    lines, done, said = result["next"]
    assert (lines, done) == (["Topic: saved words"], False)
    assert any("the disk is full" in line for line in said), said
    assert result["temporary"] == []
    assert result["freed"] == [["Topic: saved words", typed], True]


LONG = """
name: long
title: Long
description: One step with long instructions.
steps:
  - id: one
    title: One
    instructions: |
      - {words}
      - short
""".format(words=" ".join(["word"] * 60))


def test_instructions_are_wrapped_to_the_window_and_again_when_it_changes(vim: Vim, home: Home) -> None:
    home.write_workflow("long", LONG)
    result = vim.run(
        """
        WorkflowStart long
        g:Keep('wide', [g:Above()[0], winwidth(0)])
        vsplit
        vertical resize 40
        doautocmd WinResized  # what a screen's redraw triggers (a terminal test sees it happen)
        g:Keep('narrow', [g:Above()[0], winwidth(0)])
        only
        resize 12
        doautocmd WinResized
        g:Keep('short', [g:Above()[0], winheight(0)])
        """
    )
    wide, width = result["wide"]
    narrow, narrow_width = result["narrow"]
    assert narrow_width == 40 < width
    assert narrow > wide > 4, result
    # A short window: at most half of it, with a line saying how many more there are.
    short, height = result["short"]
    assert short <= height // 2 + 1, result


@needs_tmux
def test_in_a_terminal_instructions_wrap_under_their_list_marker_and_again_on_resize(vim: Vim, home: Home) -> None:
    home.write_workflow("long", LONG)
    term = Tmux(vim, columns=80, lines=30)
    term.start()
    try:
        term.wait_for("~")
        term.keys(":WorkflowStart long", "Enter")
        screen = term.wait_for("- short")
        block = screen[1 : screen.index("- short")]
        assert block[0].startswith("- word word") and all(line.startswith("  word") for line in block[1:]), screen
        assert all(len(line.rstrip()) <= 78 for line in block)
        term.tmux("resize-window", "-t", "0", "-x", "50")

        def rewrapped() -> list[str]:
            s = term.screen()
            return s if "- short" in s and s.index("- short") - 1 > len(block) else []

        screen = wait_for(rewrapped, 20) or term.screen()
        assert "- short" in screen, screen
        narrow = screen[1 : screen.index("- short")]
        assert len(narrow) > len(block), screen
        assert all(len(line.rstrip()) <= 48 for line in narrow), screen
    finally:
        term.stop()


def test_the_python_is_chosen_as_in_neovim_and_the_choice_cached(tmp_path: Path, home: Home, essay: Path) -> None:
    # The plugin's own environment, where :WorkflowInstall makes it (here: the test's Python).
    own = home.root / "data" / "workflow.nvim" / "venv" / "bin" / "python"
    own.parent.mkdir(parents=True)
    own.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    own.chmod(0o755)
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    del vim.options["python"]
    result = vim.run(
        """
        WorkflowList
        g:Keep('running', workflow#host#Running().python)
        """
    )
    assert result["running"] == str(own)
    cached = json.loads((home.root / "cache" / "workflow.nvim" / "python.json").read_text())["vim"]
    assert (cached["python"], cached["origin"]) == (str(own), "the plugin's own environment")

    # Named by the person: that one or a clear no, never another one behind their back.
    vim.options["python"] = "/no/such/python"
    result = vim.run(
        """
        WorkflowList
        g:Keep('said', g:Said())
        g:Keep('running', workflow#host#Running())
        """
    )
    assert result["said"] == ["[workflow] /no/such/python (g:workflow.python): not an executable file"]
    assert result["running"] == {}


def test_a_server_that_died_is_replaced_at_the_next_command(vim: Vim, essay: Path) -> None:
    result = vim.run(
        """
        WorkflowStart essay
        var job = workflow#host#Running().job
        job_stop(job, 'kill')
        g:WaitFor(() => job_status(job) == 'dead')
        g:Said()
        WorkflowStatus
        g:Keep('said', g:Said())
        g:Keep('status', popup_list()->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        g:Keep('alive', workflow#host#Running()->has_key('job'))
        """
    )
    [status] = result["status"]
    assert status[0].startswith("the Python server had stopped (killed by SIGKILL); a new one took over")
    assert result["alive"] == 1


@pytest.mark.usefixtures("bare")  # on PATH, a python3 without any package; pip installs offline
def test_install_in_vim_then_a_workflow_with_the_python_it_made(tmp_path: Path, home: Home) -> None:
    home.write_workflow("short", SHORT)
    vim = Vim(tmp_path, {"runs_dir": str(home.root / "runs")})
    del vim.options["python"]
    result = vim.run(
        """
        WorkflowStart short
        g:Keep('before', g:Said())
        WorkflowInstall
        g:Keep('running', workflow#install#Running())
        g:Keep('answers', 1 + 1)  # Vim is not blocked meanwhile
        g:Keep('done', g:WaitFor(() => !workflow#install#Running(), 600.0))
        g:Keep('said', g:Said())
        WorkflowStart short
        g:Keep('python', workflow#host#Running().python)
        g:Keep('name', expand('%:t'))
        """
    )
    assert result["before"] == ["[workflow] no Python with the needed packages: run :WorkflowInstall"]
    assert result["running"] == 1 and result["done"] == 1
    venv = home.root / "data" / "workflow.nvim" / "venv"
    said = [line for line in result["said"] if line.startswith("[workflow]")]
    assert said[0].startswith("[workflow] installing with ")  # the path, cut to the screen
    assert said[-1].startswith("[workflow] installed: ")
    assert result["python"] == str(venv / "bin" / "python")
    assert result["name"] == "01-one.md"


def test_list_and_stop(vim: Vim, essay: Path) -> None:
    result = vim.run(
        """
        WorkflowList
        g:Keep('list', popup_list()->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        popup_clear()
        WorkflowStart essay
        normal! A stopped
        g:Keep('statusline', workflow#state#Statusline())
        normal! ggOa line above
        doautocmd TextChanged  # as typing does (-es has no typing)
        g:Keep('opened_above', [g:Above()[0], prop_list(2)->len()])
        &undolevels = &undolevels  # an undo break, as between two typed commands
        normal! ggdd
        doautocmd TextChanged
        g:Keep('deleted', [g:Above()[0], getline(1)])
        normal! u
        doautocmd TextChanged
        g:Keep('undone', [g:Above()[0], prop_list(1, {end_lnum: -1})->len(), getline(1, '$')])
        normal! ggdd
        g:Said()
        WorkflowLog
        g:Keep('later', [g:Said(), getline(1, '$'), bufname()])
        normal q
        WorkflowStop
        g:Keep('after', [exists('b:workflow_step'), g:Above()[0], &statusline, maparg('<LocalLeader>n', 'n')])
        g:Keep('state', g:WorkflowState())
        g:Keep('file', readfile(expand('%:p')))
        help workflow-vim
        g:Keep('help', [&filetype, getline('.')])
        """
    )
    assert result["statusline"] == "essay 1/3"
    # The instructions stay above the first line, whatever happens to it.
    assert result["opened_above"] == [3, 0]
    assert result["deleted"] == [3, "Topic: stopped"]
    assert result["undone"] == [3, 3, ["a line above", "Topic: stopped"]]  # no second copy below
    said, log, name = result["later"]
    # The log in a buffer of its own (tests/e2e/test_vim_log.py tries its maps).
    assert said == []
    assert log[0].startswith("Write an essay, run ") and "0 commits" in log[0]
    assert name.startswith("workflow://log/")
    assert result["help"][0] == "help" and "*workflow-vim*" in result["help"][1]
    [listed] = result["list"]
    assert any("essay" in line for line in listed), listed
    assert result["after"] == [0, 0, "", ""]  # a plain file buffer again
    assert result["state"] == {}
    assert result["file"] == ["Topic: stopped"]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The files a clone has, and no doc/tags (git ignores it): no one ran :helptags there."""
    root = tmp_path / "clone"
    shipped = ("autoload", "plugin", "doc", "rplugin", "workflows", "tests/init.vim", "tests/demo-vim.sh")
    for name in (*shipped, "tests/demo.vim"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("tags", "__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


@needs_tmux
@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
def test_make_demo_vim_opens_the_tutorial_with_help_and_a_second_one_resumes_it(
    vim: Vim, tmp_path: Path, clone: Path, size: tuple[int, int]
) -> None:
    env = {"WORKFLOW_DEMO_STATE": str(tmp_path / "demo-state"), "WORKFLOW_DEMO_DIR": str(tmp_path / "demo")}
    for step in ("start", "resume"):
        term = Tmux(vim, *size, command=str(clone / "tests" / "demo-vim.sh"), env=env)
        term.start()
        try:
            screen = term.wait_for("Step 1/")
            assert screen[0].rstrip() == "Step 1/8: Meet the step buffer", (step, screen)  # the first step, on top
            assert "Learn workflow.nvim · Step 1/8" in screen[-2], (step, screen)  # the status line
            assert not any("Press ENTER" in line or "Error" in line for line in screen), screen
            if step == "start":
                assert (clone / "doc" / "tags").is_file()  # made by the first command
                term.keys(":help workflow-vim", "Enter")
                screen = term.wait_for("VIM 9")
                assert any(line.endswith("workflow-vim") and "VIM 9" in line for line in screen), screen
                term.keys(":helpclose", "Enter")
                term.keys("ggA words", "Escape", ":qa!", "Enter")  # saved as Vim leaves
                assert wait_for(lambda t=term: not t.alive())
            else:
                assert any("words" in line for line in screen), screen
        finally:
            term.stop()


def test_a_run_open_in_neovim_opens_read_only_in_vim(vim: Vim, home: Home, essay: Path, start_nvim: Any) -> None:
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(home.root / "runs"))
    nvim.cmd("WorkflowStart essay")
    run = nvim.state()["run"]
    result = vim.run(
        f"""
        WorkflowResume {run}
        g:Keep('buffer', [&readonly, &modifiable, getline(1, '$')])
        g:Keep('state', g:WorkflowState())
        g:Keep('said', g:Said())
        WorkflowNext
        g:Keep('next', g:Said()[-1])
        """
    )
    assert result["buffer"] == [True, False, ["Topic:"]]  # look, do not write: Neovim has it
    assert result["state"]["readonly"] is True
    # Cut to the screen, a message keeps what matters: it comes first.
    assert result["said"][-1].startswith(f"[workflow] resumed run {run}: 0/3 done; read-only here: Neo")
    assert result["next"].startswith(f"[workflow] run {run} is read-only here: Neovim pid")


def test_a_run_started_in_vim_in_the_default_places_is_listed_and_resumed_in_neovim(
    tmp_path: Path, home: Home, essay: Path, start_nvim: Any
) -> None:
    vim = Vim(tmp_path)  # no runs_dir: the plugin's own places, which the server finds itself
    started = vim.run(
        """
        WorkflowStart essay
        normal! A by default
        WorkflowNext
        g:Settle()
        g:Keep('state', g:WorkflowState())
        g:Keep('argv', readfile($'/proc/{workflow#host#Running().pid}/cmdline', 'b'))
        """
    )
    run, d = started["state"]["run"], Path(started["state"]["dir"])
    assert d.parent == home.runs == home.root / "data" / "workflow.nvim" / "runs"
    assert str(home.log) in started["argv"][0].split("\n")  # --log: the state place's workflow.log
    nvim = start_nvim()  # no vim.g.workflow either
    assert nvim.call("getcompletion", "WorkflowResume ", "cmdline") == [run]
    nvim.cmd(f"WorkflowResume {run}")
    assert nvim.state()["dir"] == str(d)
    assert nvim.lines() == ["# Outline of Topic: by default", "- point"]


def python_wrapper(path: Path) -> Path:
    """A stand-in for an environment's interpreter: the test's Python, which has the packages."""
    path.parent.mkdir(parents=True)
    path.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def test_vim_and_neovim_share_the_cached_python_each_with_its_own_choice(
    tmp_path: Path, home: Home, essay: Path, start_nvim: Any
) -> None:
    cache = home.root / "cache" / "workflow.nvim" / "python.json"
    # Neovim's older environment is a candidate in both editors; the plugin's own is not made yet.
    older = str(python_wrapper(home.root / "data" / "nvim" / "workflow" / "venv" / "bin" / "python"))
    # What an earlier version kept: one choice, Neovim's, for the whole file. Read as no choice.
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"candidates": ["/gone"], "python": "/gone", "origin": "?", "stamp": "x"}))
    vim = Vim(tmp_path)
    del vim.options["python"]
    running = "g:Keep('python', workflow#host#Running().python)"
    assert vim.run(f"WorkflowList\n{running}")["python"] == older
    assert list(json.loads(cache.read_text())) == ["vim"]
    vim_choice = json.loads(cache.read_text())["vim"]
    assert (vim_choice["python"], vim_choice["candidates"][1]) == (older, older)

    nvim = start_nvim()
    nvim.cmd("WorkflowList")
    assert nvim.exec_lua("return require('workflow.host').running().python") == older
    nvim.quit()
    both = json.loads(cache.read_text())
    assert both["vim"] == vim_choice  # Neovim left Vim's choice alone
    assert both["neovim"]["python"] == older and both["neovim"]["candidates"] != vim_choice["candidates"]

    # The plugin's own environment appears: a new probe would choose it. Neither editor probes
    # again while its own choice holds (same candidates, same interpreter file).
    python_wrapper(home.venv / "bin" / "python")
    assert vim.run(f"WorkflowList\n{running}")["python"] == older
    nvim = start_nvim()
    nvim.cmd("WorkflowList")
    assert nvim.exec_lua("return require('workflow.host').running().python") == older
    nvim.quit()
    assert json.loads(cache.read_text()) == both
    # Forgetting (as :WorkflowInstall does) drops that editor's choice only.
    assert vim.run(f"workflow#host#Forget()\nWorkflowList\n{running}")["python"] == str(home.venv / "bin" / "python")
    after = json.loads(cache.read_text())
    assert after["neovim"] == both["neovim"] and after["vim"]["python"] == str(home.venv / "bin" / "python")


def test_workflow_health_draws_the_doctors_checks_in_a_window(tmp_path: Path, home: Home, essay: Path) -> None:
    home.write_workflow("broken", "name: broken\nsteps: [")
    vim = Vim(tmp_path)
    result = vim.run(
        """
        Workflow health
        g:Keep('name', bufname())
        g:Keep('lines', getline(1, '$'))
        g:Keep('props', range(1, line('$'))
          ->mapnew((_, n) => prop_list(n)->mapnew((_, p) => [n, p.col, p.length, p.type])))
        g:Keep('windows', winnr('$'))
        g:Keep('said', g:Said())
        WorkflowHealth
        g:Keep('again', [winnr('$'), line('$') == len(g:result.lines)])
        normal q
        g:Keep('closed', [winnr('$'), bufexists('workflow://health')])
        """
    )
    lines = result["lines"]
    assert result["name"] == "workflow://health" and result["windows"] == 2
    assert result["said"] == []  # all in the window, no Press-ENTER
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings[:3] == ["Vim", "Options", "Python"] and {"git", "Places", "Workflows"} <= set(headings)
    # The version a person looks up: "Included patches: 1-1378" is 9.0.1378, though
    # Debian's build carries later fixes that make v:versionlong 9002142.
    assert VIM is not None
    version = subprocess.run([VIM, "--version"], capture_output=True, text=True, check=True).stdout
    major = re.search(r"VIM - Vi IMproved (\d+\.\d+)", version)
    upto = re.search(r"Included patches: 1-(\d+)", version)
    assert major and upto
    vim_line = next(line for line in lines if line.startswith("- OK Vim "))
    assert vim_line.startswith(f"- OK Vim {major[1]}.{upto[1]} "), vim_line
    assert "- OK g:workflow is valid" in lines
    # The Python: the one named, chosen; no other tried behind the person's back.
    assert f"- OK chosen: {sys.executable} (g:workflow.python)" in lines
    assert any(line.startswith("- ERROR") and "broken" in line for line in lines), lines
    assert any(line.startswith(f"- OK runs directory: {home.runs}") for line in lines), lines
    # The level word in its colour, each heading as a title.
    props = {(n, col, length, kind) for line in result["props"] for n, col, length, kind in line}
    ok = lines.index(f"- OK chosen: {sys.executable} (g:workflow.python)") + 1
    assert (ok, 3, 2, "WorkflowHealthOk") in props
    [broken] = [n for n, line in enumerate(lines, 1) if line.startswith("- ERROR") and "broken" in line]
    assert (broken, 3, 5, "WorkflowHealthError") in props
    assert (lines.index("## Python") + 1, 1, 9, "WorkflowHealthHeading") in props
    assert result["again"] == [2, True]  # made again in the same window
    assert result["closed"] == [1, 0]  # q closes it, and the scratch buffer goes


def test_workflow_health_says_which_pythons_were_passed_over_and_why(tmp_path: Path, home: Home) -> None:
    python_wrapper(home.venv / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")  # a broken environment
    vim = Vim(tmp_path, {"nope": 1})
    del vim.options["python"]
    result = vim.run("WorkflowHealth\ng:Keep('lines', getline(1, '$'))")
    lines = result["lines"]
    [option] = [line for line in lines if "nope" in line]
    assert option.startswith("- ERROR unknown option g:workflow.nope")
    own = home.venv / "bin" / "python"
    [passed] = [line for line in lines if line.startswith(f"- passed over {own}")]
    assert passed == f"- passed over {own} (the plugin's own environment): exit code 3"
    assert any(line.startswith("- OK chosen: ") for line in lines) or any(
        line.startswith("- ERROR no Python with the packages") for line in lines
    ), lines
