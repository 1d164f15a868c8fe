"""Annotation in the Vim 9 front (autoload/workflow/annotate.vim), in a real Vim on the real server,
against the loopback test Ollama (tests/ollama_server.py): the scenarios of test_annotate.py.

Notes are signs in the group workflow_annotate, their text at the end of the line (text properties
of type workflow_note_{severity}) and the window's location list; progress arrives as pushes while
the script sleeps, as it does while a person types.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vim import VIM, Tmux, Vim, needs_vim

from ..ollama_server import FakeOllama, Script, answer, flood, free_port, split
from .conftest import Home, git, wait_for
from .test_steps import ESSAY

pytestmark = needs_vim

TEXT = ["# My post", "", "Trains is fast.", "They goes everywhere.", "The end."]
NOTES = [
    {"line": 3, "severity": "error", "note": "Subject and verb disagree: 'Trains are'."},
    {"line": 4, "severity": "warning", "note": "'They go'."},
]

# vim9script helpers for the scripts below: a buffer with TEXT, waiting for the answer, and what
# is shown: [line, sign name] of each sign, [line, type, text] of each note's text.
HELPERS = f"""
enew
setline(1, {TEXT!r})
def g:Done(): bool
  return !empty(get(b:, 'workflow_annotation', {{}}))
enddef
def g:Signs(): list<any>
  return sign_getplaced(bufnr(), {{group: 'workflow_annotate'}})[0].signs
    ->mapnew((_, s) => [s.lnum, s.name])->sort()
enddef
def g:Texts(): list<any>
  return prop_list(1, {{end_lnum: -1}})->filter((_, p) => p.type =~ '^workflow_note_')
    ->mapnew((_, p) => [p.lnum, p.type])->sort()
enddef
def g:Loclist(): list<any>
  return getloclist(0)->mapnew((_, i) => [i.lnum, i.type, i.text])
enddef
"""


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=("tiny:latest",)) as server:
        yield server


def vim_for(tmp_path: Path, home: Home, url: str, **extra: Any) -> Vim:
    return Vim(tmp_path, {"runs_dir": str(home.root / "runs"), "ollama_host": url, "model": "tiny:latest", **extra})


def run(vim: Vim, body: str) -> dict[str, Any]:
    return vim.run(HELPERS + body)


def test_notes_are_signs_end_of_line_text_and_the_location_list(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.script = Script(chunks=split(answer(NOTES, "Two grammar slips.")))
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        g:Said()
        WorkflowAnnotate
        g:Keep('done', g:WaitFor(g:Done))
        g:Keep('signs', g:Signs())
        g:Keep('texts', g:Texts())
        g:Keep('notes', workflow#annotate#Notes())
        g:Keep('loclist', g:Loclist())
        g:Keep('title', getloclist(0, {title: 0}).title)
        g:Keep('annotation', b:workflow_annotation)
        g:Keep('said', g:Said())
        cursor(1, 1)
        lfirst
        g:Keep('lfirst', line('.'))
        lnext
        g:Keep('lnext', line('.'))
        """,
    )
    assert result["done"] is True
    assert result["signs"] == [[3, "WorkflowNoteError"], [4, "WorkflowNoteWarning"]]
    # (Vim 9.0's prop_list() does not give a property's text: the screen test reads it)
    assert result["texts"] == [[3, "workflow_note_error"], [4, "workflow_note_warning"]]
    assert result["notes"] == [{**n, "line": n["line"]} for n in NOTES]
    assert result["loclist"] == [[3, "E", NOTES[0]["note"]], [4, "W", NOTES[1]["note"]]]
    assert result["title"] == "workflow notes"
    assert result["annotation"] == {
        "model": "tiny:latest",
        "notes": 2,
        "summary": "Two grammar slips.",
        "incomplete": False,
        "covered": [1, 5],
    }
    assert "[workflow] tiny:latest: 2 notes: Two grammar slips." in result["said"]
    assert (result["lfirst"], result["lnext"]) == (3, 4)
    assert ollama.chats()[0]["model"] == "tiny:latest"


def test_notes_follow_a_line_added_above_while_the_model_streams(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.script = Script(chunks=split(answer(NOTES)), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        g:Keep('progress', prop_list(1)->filter((_, p) => p.type == 'workflow_annotate_progress')->len())
        g:Keep('running', workflow#annotate#Running())
        normal! ggOA new first line
        g:Keep('done', g:WaitFor(g:Done))
        g:Keep('signs', g:Signs())
        g:Keep('texts', g:Texts())
        g:Keep('loclist', g:Loclist()->mapnew((_, i) => i[0]))
        g:Keep('after', [prop_list(1)->filter((_, p) => p.type == 'workflow_annotate_progress')->len(),
          workflow#annotate#Running()])
        normal! ggdd
        g:Keep('signs_dd', g:Signs())
        """,
    )
    assert result["progress"] == 1 and result["running"] is True  # the spinner, at the end of line 1
    assert result["signs"] == [[4, "WorkflowNoteError"], [5, "WorkflowNoteWarning"]]
    assert result["texts"] == [[4, "workflow_note_error"], [5, "workflow_note_warning"]]
    assert result["loclist"] == [4, 5]
    assert result["after"] == [0, False]
    assert result["signs_dd"] == [[3, "WorkflowNoteError"], [4, "WorkflowNoteWarning"]]


def test_a_range_and_an_instruction(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.script = Script(chunks=[answer([{"line": 4, "severity": "info", "note": "ok"}])])
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        :3,4WorkflowAnnotate check the grammar
        g:WaitFor(g:Done)
        g:Keep('signs', g:Signs())
        g:Keep('said', g:Said())
        Workflow models please
        g:Keep('error', g:Said())
        """,
    )
    prompt = ollama.chats()[0]["messages"][1]["content"]
    assert "3: Trains is fast." in prompt and "4: They goes everywhere." in prompt
    assert "1: # My post" not in prompt and "5: The end." not in prompt
    assert "The person asks: check the grammar" in prompt
    assert result["signs"] == [[4, "WorkflowNoteInfo"]]
    assert result["error"] == ["[workflow] :WorkflowModels takes no argument"]


def test_cancel_mid_stream_closes_the_connection(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        g:WaitFor(() => workflow#annotate#Notes()->len() > 0 || g:Done())
        g:Said()
        WorkflowAnnotateCancel
        g:Keep('said', g:Said())
        g:Keep('running', workflow#annotate#Running())
        g:Keep('progress', prop_list(1)->filter((_, p) => p.type == 'workflow_annotate_progress')->len())
        sleep 300m
        g:Keep('later', g:Said())
        WorkflowAnnotateCancel
        g:Keep('again', g:Said())
        """,
    )
    assert ollama.client_closed.wait(5)
    assert result["said"] == ["[workflow] annotation cancelled"]
    assert result["running"] is False and result["progress"] == 0
    assert result["later"] == []  # nothing more arrives from the cancelled request
    assert result["again"] == ["[workflow] no annotation is running in this buffer"]


def test_ollama_down_is_one_line(tmp_path: Path, home: Home) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(
        vim_for(tmp_path, home, url),
        """
        &columns = 200
        g:Said()
        WorkflowAnnotate
        g:WaitFor(() => execute('messages') =~ 'nothing is listening')
        g:Keep('said', g:Said())
        g:Keep('running', workflow#annotate#Running())
        """,
    )
    [line] = result["said"]
    assert line == (
        f"[workflow] nothing is listening at {url}: start Ollama (`ollama serve`), "
        "or install it from https://ollama.com/download"
    )
    assert result["running"] is False


def test_a_missing_model_is_one_line(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.models = ["tiny:latest", "other:7b"]
    result = run(
        vim_for(tmp_path, home, ollama.url, model="llama3.2"),
        """
        &columns = 200
        g:Said()
        WorkflowAnnotate
        g:WaitFor(() => execute('messages') =~ 'not on the Ollama server')
        g:Keep('said', g:Said())
        """,
    )
    [line] = result["said"]
    assert line == (
        "[workflow] model 'llama3.2' is not on the Ollama server (the server has: tiny:latest, other:7b): "
        "run `ollama pull llama3.2`"
    )


def test_clear_removes_signs_text_loclist_and_the_summary(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.script = Script(chunks=[answer(NOTES)])
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        g:WaitFor(g:Done)
        g:Keep('before', [g:Signs()->len(), g:Texts()->len(), g:Loclist()->len()])
        WorkflowAnnotateClear
        g:Keep('after', [g:Signs(), g:Texts(), g:Loclist(), exists('b:workflow_annotation')])
        """,
    )
    assert result["before"] == [2, 2, 2]
    assert result["after"] == [[], [], [], False]


def test_a_long_summary_is_one_line_that_fits_and_kept_whole(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    prose = " ".join(f"Sentence {i} of a model that will not stop talking about the text." for i in range(60))
    ollama.script = Script(chunks=split(prose))
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        g:Said()
        WorkflowAnnotate
        g:WaitFor(g:Done)
        g:Keep('said', g:Said())
        g:Keep('annotation', b:workflow_annotation)
        g:Keep('columns', &columns)
        """,
    )
    [line] = result["said"]
    assert line.startswith("[workflow] tiny:latest: 0 notes (incomplete): (not the JSON asked for) Sent")
    assert line.endswith("…") and len(line) < result["columns"]
    assert result["annotation"]["summary"].startswith("(not the JSON asked for) Sentence 0 of a model")
    assert result["annotation"]["incomplete"] is True


def test_the_annotated_event_and_models_menu(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    ollama.models = ["tiny:latest", "other:7b"]
    ollama.script = Script(chunks=[answer(NOTES, "Two slips.")])
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        autocmd User WorkflowAnnotated g:annotated = deepcopy(g:workflow_event)
        WorkflowAnnotate
        g:WaitFor(g:Done)
        g:Keep('event', g:annotated)
        g:Keep('buf', bufnr())
        WorkflowModels
        var menu = popup_list()
        g:Keep('menu', menu->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
        popup_filter_menu(menu[0], 'j')
        popup_filter_menu(menu[0], "\\<CR>")
        g:Keep('model', g:workflow.model)
        g:Keep('said', g:Said())
        """,
    )
    event = result["event"]
    assert (event["notes"], event["summary"], event["model"], event["buf"]) == (
        2,
        "Two slips.",
        "tiny:latest",
        result["buf"],
    )
    assert result["menu"] == [["tiny:latest", "other:7b"]]
    assert result["model"] == "other:7b"
    assert result["said"][-1] == "[workflow] annotations now use other:7b"


def test_completing_a_step_waits_for_its_annotation(tmp_path: Path, home: Home, ollama: FakeOllama) -> None:
    home.write_workflow("essay", ESSAY)
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        &columns = 200
        WorkflowStart essay
        WorkflowAnnotate
        g:Said()
        WorkflowNext
        g:Keep('refused', g:Said())
        WorkflowAnnotateCancel
        WorkflowNext
        g:Settle()
        g:Keep('state', g:WorkflowState().steps[0].done)
        """,
    )
    assert result["refused"] == [
        "[workflow] the model is still annotating 01-topic.md: wait for it, or :WorkflowAnnotateCancel there"
    ]
    assert result["state"] is True


@pytest.mark.skipif(shutil.which("tmux") is None, reason="no tmux")
def test_in_a_terminal_notes_show_in_colour_follow_a_deleted_line_and_the_menu_sets_the_model(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.models = ["tiny:latest", "other:7b"]
    ollama.script = Script(chunks=split(answer(NOTES, "Two slips.")))
    post = home.project / "post.md"
    post.write_text("\n".join(TEXT) + "\n", encoding="utf-8")
    vim = vim_for(tmp_path, home, ollama.url)
    term = Tmux(vim, columns=100, command=f"{VIM} -Nu {vim.init()} -i NONE {post}")
    term.start()
    try:
        term.wait_for("The end.")
        term.keys(":set t_Co=256", "Enter", ":WorkflowAnnotate", "Enter")
        screen = term.wait_for("'They go'.")
        assert not any("Press ENTER" in line for line in screen), screen
        assert "tiny:latest: 2 notes: Two slips." in screen[-1], screen
        # The sign column (E, W), the line, then its note.
        assert screen[2].startswith("E ") and "Trains is fast.  ● Subject and verb disagree" in screen[2], screen
        assert screen[3].startswith("W ") and "They goes everywhere.  ● 'They go'." in screen[3], screen
        coloured = term.tmux("capture-pane", "-e", "-p", "-t", "0").splitlines()
        assert "\x1b[" in coloured[2].split("Trains is fast.")[1], coloured[2]  # the note has a colour
        # A deleted line's note moves to the line that takes its place, as in Neovim.
        term.keys("3Gdd")

        def on_line_3() -> list[str] | None:
            s = term.screen()
            return s if "They goes everywhere." in s[2] and "Subject and verb" in s[2] else None

        screen = wait_for(on_line_3) or term.screen()
        assert "'They go'." in screen[2], screen
        term.keys(":lopen", "Enter")
        screen = term.wait_for("|3 col 1 error|")
        assert any("|3 col 1 warning|" in line for line in screen), screen
        term.keys(":lclose", "Enter", ":WorkflowModels", "Enter")
        screen = term.wait_for("other:7b")
        assert any("Model for :WorkflowAnnotate (now tiny:latest)" in line for line in screen), screen
        term.keys("j", "Enter")
        screen = term.wait_for("annotations now use other:7b")
        assert not any("Press ENTER" in line for line in screen), screen
    finally:
        term.stop()


def test_a_flood_of_notes_shows_the_limit_and_vim_keeps_answering(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.script = Script(chunks=flood(3_000), delay=0.001)  # a trickle: many batches
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        &columns = 200
        g:Said()
        WorkflowAnnotate
        var pauses = 0
        var longest = 0.0
        while !g:Done() && pauses < 3000
          var start = reltime()
          sleep 10m  # the pushes are handled here, as while a person types
          longest = [longest, reltimefloat(reltime(start))]->sort('f')[-1]
          pauses += 1
        endwhile
        g:Keep('pauses', pauses)
        g:Keep('longest', longest)
        g:Keep('signs', g:Signs()->len())
        g:Keep('texts', g:Texts()->len())
        g:Keep('loclist', g:Loclist()->len())
        g:Keep('said', g:Said())
        g:Keep('dropped', b:workflow_annotation.dropped)
        """,
    )
    assert result["pauses"] > 1
    assert result["signs"] == result["texts"] == result["loclist"] == 200
    assert "[workflow] tiny:latest: 200 notes (2800 more notes dropped): Many notes." in result["said"]
    assert result["dropped"] == 2800
    # A generous bound: this guards against Vim stopping for the notes (seconds), not speed.
    assert result["longest"] < 1.0, result["longest"]


def test_wiping_the_buffer_cancels_quietly_and_a_second_request_replaces_the_first(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        g:WaitFor(() => workflow#annotate#Notes()->len() > 0)
        g:Said()
        var buf = bufnr()
        bwipeout!
        sleep 300m
        g:Keep('wiped', g:Said())
        g:Keep('running', workflow#annotate#Running(buf))
        """,
    )
    assert result["running"] is False, result
    assert ollama.client_closed.wait(5)
    assert result["wiped"] == []
    ollama.client_closed.clear()
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        sleep 300m
        g:Said()
        WorkflowAnnotate
        g:Keep('said', g:Said())
        g:WaitFor(() => len(g:Signs()) >= 2)
        g:Keep('signs', g:Signs()[: 0])
        WorkflowAnnotateCancel
        """,
    )
    assert ollama.client_closed.wait(5)  # the first one's connection
    assert "[workflow] the previous annotation of this buffer was cancelled" in result["said"]
    assert result["signs"] == [[3, "WorkflowNoteError"]]


def test_the_notes_have_a_colour_each_in_16_and_256_colours_light_and_dark(tmp_path: Path, home: Home) -> None:
    result = Vim(tmp_path).run(
        """
        var names = ['Error', 'Warning', 'Info', 'Hint']->mapnew((_, s) => 'WorkflowNote' .. s)
        for background in ['light', 'dark']
          &background = background
          doautocmd OptionSet background  # as Vim does once started (-S runs during startup)
          g:Keep(background, names->mapnew((_, n) => hlget(n, true)[0]->get('ctermfg', '')))
        endfor
        highlight WorkflowNoteInfo ctermfg=5
        &background = 'light'
        doautocmd OptionSet background
        g:Keep('yours', hlget('WorkflowNoteInfo', true)[0].ctermfg)
        g:Keep('scripts', execute('scriptnames')->split("\\n")->filter((_, l) => l =~ 'autoload/workflow'))
        """
    )
    assert result["light"] == ["1", "3", "4", "2"]
    assert result["dark"] == ["9", "11", "12", "10"]
    assert result["yours"] == "5"  # a colour you set stays
    assert result["scripts"] == []  # defined at startup, without loading the front


def test_the_location_list_keeps_in_step_with_edits_and_its_place(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.script = Script(chunks=[answer(NOTES)])
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        g:WaitFor(g:Done)
        lfirst
        lnext
        g:Keep('at', [line('.'), getloclist(0, {idx: 0}).idx])
        normal! ggOabove
        doautocmd TextChanged  # as typing does (-es has no typing)
        g:Keep('moved', [g:Loclist()->mapnew((_, i) => i[0]), getloclist(0, {idx: 0}).idx])
        normal! 4Gdd
        doautocmd TextChanged
        g:Keep('deleted', [g:Signs(), g:Texts(), g:Loclist()->mapnew((_, i) => i[0])])
        g:Keep('lists', getloclist(0, {nr: '$'}).nr)
        """,
    )
    assert result["at"] == [4, 2]
    assert result["moved"] == [[4, 5], 2]  # the same list, the same entry
    # Line 4 (the error's) deleted: its note moves to the line that took its place, as in Neovim.
    signs, texts, loclist = result["deleted"]
    assert signs == [[4, "WorkflowNoteError"], [4, "WorkflowNoteWarning"]]
    assert texts == [[4, "workflow_note_error"], [4, "workflow_note_warning"]]
    assert loclist == [4, 4]
    assert result["lists"] == 1  # one list of notes, replaced, not a new one per change


def test_a_note_for_a_line_deleted_while_the_model_streams_lands_on_the_next(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    ollama.script = Script(chunks=split(answer(NOTES)), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowAnnotate
        normal! ggOA new first line
        :4delete
        g:Keep('early', workflow#annotate#Notes())  # typed before the first note came
        g:WaitFor(g:Done)
        g:Keep('signs', g:Signs())
        g:Keep('lines', getline(1, '$'))
        """,
    )
    assert result["early"] == []
    # "Trains is fast." (line 3 asked about) is gone: its note is on the line that took its place.
    assert result["signs"] == [[4, "WorkflowNoteError"], [4, "WorkflowNoteWarning"]]
    assert result["lines"][3] == "They goes everywhere."


def test_the_models_menu_marks_a_model_that_runs_elsewhere_and_choosing_it_is_not_consent(
    tmp_path: Path, home: Home
) -> None:
    with FakeOllama(models=("tiny:latest", "gpt-oss:120b-cloud"), remote={"gpt-oss:120b-cloud": "gpt-oss:120b"}) as o:
        result = run(
            vim_for(tmp_path, home, o.url),
            """
            &columns = 200
            g:Said()
            WorkflowModels
            var menu = popup_list()
            g:Keep('menu', menu->mapnew((_, id) => getbufline(winbufnr(id), 1, '$')))
            popup_filter_menu(menu[0], 'j')
            popup_filter_menu(menu[0], "\\<CR>")
            g:Keep('model', g:workflow.model)
            g:Keep('said', g:Said())
            g:workflow.allow_remote = true
            WorkflowModels
            popup_filter_menu(popup_list()[0], "\\<Esc>")
            g:Keep('kept', g:workflow.model)
            """,
        )
    assert result["menu"] == [["tiny:latest", "gpt-oss:120b-cloud (runs on ollama.com)"]]
    assert result["model"] == "gpt-oss:120b-cloud"
    assert result["said"] == [
        "[workflow] annotations now use gpt-oss:120b-cloud, which runs on ollama.com: set g:workflow.allow_remote"
    ]
    assert result["kept"] == "gpt-oss:120b-cloud"  # Escape chooses nothing


def test_in_a_step_the_prompt_has_its_context_and_the_notes_are_committed(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    home.write_workflow(
        "essay",
        ESSAY.replace(
            "    filetype: text\n",
            "    filetype: text\n    annotate: |\n      Check that every point serves the topic.\n",
        ),
    )
    ollama.script = Script(chunks=[answer([{"line": 2, "severity": "hint", "note": "Name a second point."}])])
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        WorkflowStart essay
        normal! A trains
        WorkflowNext
        WorkflowAnnotate
        g:WaitFor(g:Done)
        g:Keep('signs', g:Signs())
        g:Keep('dir', g:WorkflowState().dir)
        WorkflowNext
        g:Settle()
        """,
    )
    prompt = ollama.chats()[0]["messages"][1]["content"]
    assert "Step: Outline" in prompt and "Check that every point serves the topic." in prompt
    assert "Earlier step 'Pick a topic':\nTopic: trains" in prompt
    assert result["signs"] == [[2, "WorkflowNoteHint"]]
    run_dir = Path(result["dir"])
    notes = json.loads((run_dir / "02-outline.notes.json").read_text())
    assert notes["notes"] == [{"line": 2, "severity": "hint", "note": "Name a second point."}]
    assert git(run_dir, "show", "--name-only", "--format=", "HEAD").split() == [
        ".start/02-outline.copies.json",
        ".start/02-outline.txt",
        "02-outline.notes.json",
        "02-outline.txt",
    ]


def test_a_step_can_be_completed_after_the_server_died_mid_annotation(
    tmp_path: Path, home: Home, ollama: FakeOllama
) -> None:
    home.write_workflow("essay", ESSAY)
    ollama.script = Script(chunks=split(answer(NOTES) * 20), delay=0.05)
    result = run(
        vim_for(tmp_path, home, ollama.url),
        """
        &columns = 200
        WorkflowStart essay
        WorkflowAnnotate
        var job = workflow#host#Running().job
        job_stop(job, 'kill')
        g:WaitFor(() => job_status(job) == 'dead' && empty(workflow#host#Running()))
        # At once, without a command: the progress goes, and one line says why.
        g:Keep('progress', prop_list(1)->filter((_, p) => p.type == 'workflow_annotate_progress')->len())
        g:Keep('said', g:Said())
        g:Keep('running', workflow#annotate#Running())
        WorkflowNext
        g:Settle()
        g:Keep('done', g:WorkflowState().steps[0].done)
        """,
    )
    assert result["running"] is False and result["progress"] == 0
    assert "[workflow] the Python server stopped (killed by SIGKILL): annotation ended; run it again" in result["said"]
    assert result["done"] is True
