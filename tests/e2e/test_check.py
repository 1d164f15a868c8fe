"""Live diagnostics while writing a workflow file, in a real Neovim and a real Vim 9, side by side.

Each scenario is written twice, one after the other: for Neovim (lua/workflow/check.lua:
vim.diagnostic in the namespace workflow_check) and for Vim (autoload/workflow/check.vim: signs in
the group workflow_check, the text at the end of the line, the location list "workflow check").
A workflow file in a project's .workflows/ is checked when it is opened, after a pause in typing
and when it is saved; any other YAML starts no Python unless the person runs :WorkflowCheck.
Typing in Vim is done in a real terminal (tmux): Vim runs TextChanged only from its main loop.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.vim import VIM, Tmux, Vim, needs_tmux, needs_vim

from .conftest import Editor, Home, wait_for

# A typo'd key (line 6) and a reference to a later step (line 13): two problems.
TWO_PROBLEMS = textwrap.dedent(
    """\
    name: essay
    title: An essay
    steps:
      - id: topic
        title: Topic
        tempalte: |
          # Topic
        instructions: Say what the essay is about.
      - id: outline
        title: Outline
        instructions: Outline it.
        template: |
          ${draft}
      - id: draft
        title: Draft
        instructions: Write it.
    """
)
TYPO_LINE, REFERENCE_LINE = 6, 13
TYPO = "unknown key 'tempalte', did you mean 'template'?"
REFERENCE = "refers to 'draft', which is a later step"

# An unclosed quote: the problem starts on line 2, where the quote opens (column 8), not at the end.
UNCLOSED = textwrap.dedent(
    """\
    name: essay
    title: "An essay
    steps:
      - id: topic
        title: Topic
        instructions: Say it.
    """
)

UNCLOSED_LINE, UNCLOSED_COL = 2, 8
UNCLOSED_SAYS = 'the quote (") opened here is never closed'

UNRELATED = "services:\n  web:\n    image: nginx\n"


def children(pid: int) -> list[str]:
    """The command lines of the processes ``pid`` started, and theirs."""
    out = []
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for kid in kids:
        try:
            out.append(Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
        out += children(int(kid))
    return out


# -- Neovim -------------------------------------------------------------------


def diagnostics(nvim: Editor, buf: int = 0) -> list[tuple[int, str, str]]:
    """(line, severity, message) of each diagnostic of the plugin's check in ``buf``, in line order."""
    return [
        (int(d["lnum"]) + 1, str(d["severity"]), str(d["message"]))
        for d in nvim.exec_lua(
            "local ns = vim.api.nvim_get_namespaces().workflow_check;"
            "local list = ns and vim.diagnostic.get(..., {namespace = ns}) or {};"
            "table.sort(list, function(a, b) return a.lnum < b.lnum end);"
            "return vim.tbl_map(function(d) return {lnum = d.lnum,"
            " severity = vim.diagnostic.severity[d.severity], message = d.message} end, list)",
            buf,
        )
    ]


def shown(nvim: Editor, count: int) -> list[tuple[int, str, str]]:
    """The diagnostics once there are ``count`` of them (what there is after a generous wait)."""
    wait_for(lambda: len(diagnostics(nvim)) == count, 20)
    return diagnostics(nvim)


def lines_of(found: list[tuple[int, str, str]]) -> list[int]:
    return [line for line, _, _ in found]


def test_two_problems_then_fixed_by_typing_and_by_saving_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim()
    nvim.cmd(f"edit {path}")
    found = shown(nvim, 2)
    assert lines_of(found) == [TYPO_LINE, REFERENCE_LINE], found
    assert found[0][1] == "ERROR" and TYPO in found[0][2]
    assert REFERENCE in found[1][2]
    # Each underlines just what is wrong: the key, the ${draft} (0-based, the end exclusive).
    spans = nvim.exec_lua(
        "return vim.tbl_map(function(d) return {d.col, d.end_col} end,"
        " vim.diagnostic.get(0, {namespace = require('workflow.check').ns}))"
    )
    assert sorted(spans) == [[4, 12], [6, 14]]
    # Typing fixes the typo: after the pause, without saving, its diagnostic is gone.
    nvim.type(f"{TYPO_LINE}G^cwtemplate<Esc>")
    assert nvim.current.buffer[TYPO_LINE - 1] == "    template: |"
    assert lines_of(shown(nvim, 1)) == [REFERENCE_LINE]
    assert nvim.current.buffer.options["modified"]
    # Saving checks too: with the pause made longer than the test, only :w can clear the other one.
    nvim.exec_lua("require('workflow.check').DEBOUNCE_MS = 600000")
    nvim.current.buffer[REFERENCE_LINE - 1] = "      ${topic}"
    nvim.cmd("write")
    assert shown(nvim, 0) == []
    assert "[workflow]" not in nvim.messages()  # live checks say nothing


def test_a_syntax_error_is_one_diagnostic_where_it_starts_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", UNCLOSED)
    nvim = start_nvim()
    nvim.cmd(f"edit {path}")
    [(line, severity, text)] = shown(nvim, 1)
    assert (line, severity) == (UNCLOSED_LINE, "ERROR")
    assert UNCLOSED_SAYS in text
    col = nvim.exec_lua("return vim.diagnostic.get(0, {namespace = require('workflow.check').ns})[1].col")
    assert col == UNCLOSED_COL - 1  # 0-based in Neovim: on the quote


def test_an_unrelated_yaml_starts_no_python_neovim(start_nvim: Any, home: Home) -> None:
    other = home.project / "docker-compose.yaml"
    other.write_text(UNRELATED, encoding="utf-8")
    nvim = start_nvim()
    nvim.cmd(f"edit {other}")
    nvim.type("Go  db:<Esc>")
    nvim.cmd("write")
    nvim.exec_lua("vim.wait(1000)")  # more than the pause after typing
    assert nvim.exec_lua("return require('workflow.host').running() == nil")
    assert not any("workflow_nvim" in c for c in children(nvim.call("getpid"))), children(nvim.call("getpid"))
    assert diagnostics(nvim) == []
    # The same Neovim checks a workflow file: the server starts then, and not before.
    nvim.cmd(f"edit {home.write_workflow('essay', TWO_PROBLEMS)}")
    assert len(shown(nvim, 2)) == 2
    assert any("workflow_nvim" in c for c in children(nvim.call("getpid")))


def test_workflow_check_on_any_buffer_draws_says_and_stays_live_neovim(start_nvim: Any, home: Home) -> None:
    draft = home.project / "essay.yaml"  # not in a search directory
    draft.write_text(TWO_PROBLEMS, encoding="utf-8")
    nvim = start_nvim()
    nvim.cmd(f"edit {draft}")
    assert nvim.exec_lua("return require('workflow.host').running() == nil")
    nvim.clear_messages()
    nvim.cmd("WorkflowCheck")
    assert lines_of(diagnostics(nvim)) == [TYPO_LINE, REFERENCE_LINE]  # drawn at once
    said = nvim.messages().strip()
    assert said.startswith(f"[workflow] 2 errors: line {TYPO_LINE}: unknown key 'tempalte'"), said
    assert "\n" not in said
    # From now on it is live: fixing the typo clears its diagnostic after the pause.
    nvim.type(f"{TYPO_LINE}G^cwtemplate<Esc>")
    assert lines_of(shown(nvim, 1)) == [REFERENCE_LINE]
    # Wiped, it is checked no more and its diagnostics are gone.
    buf = nvim.current.buffer.number
    nvim.cmd("bwipeout!")
    assert nvim.exec_lua("return require('workflow.check').is_live(...)", buf) is False
    assert nvim.exec_lua("return #vim.diagnostic.get(nil, {namespace = require('workflow.check').ns})") == 0


def test_live_checks_turned_off_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {check_live = false}")
    nvim.cmd(f"edit {path}")
    nvim.exec_lua("vim.wait(500)")
    assert nvim.exec_lua("return require('workflow.host').running() == nil")
    nvim.cmd("WorkflowCheck")  # on demand still
    assert lines_of(diagnostics(nvim)) == [TYPO_LINE, REFERENCE_LINE]
    assert nvim.exec_lua("return require('workflow.check').is_live(0)") is False
    nvim.exec_lua("vim.g.workflow = {check_live = 1}")
    assert "check_live must be true or false" in nvim.error("WorkflowCheck")


def test_a_burst_of_typing_is_checked_once_after_the_pause_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim()
    nvim.cmd(f"edit {path}")
    assert len(shown(nvim, 2)) == 2
    # Count the pushes as they reach the plugin (the server calls host.receive for each).
    nvim.exec_lua(
        "_G.pushes = {}; local host = require('workflow.host'); local receive = host.receive;"
        "host.receive = function(msg) if msg.diagnostics then table.insert(_G.pushes, msg.diagnostics.tick) end"
        " return receive(msg) end"
    )
    for _ in range(8):  # keys closer together than the pause
        nvim.type("Go# more<Esc>")
        nvim.exec_lua("vim.wait(100)")
    wait_for(lambda: nvim.exec_lua("return #_G.pushes") > 0, 20)
    nvim.exec_lua("vim.wait(1000)")  # more than the pause again: nothing else comes
    assert nvim.exec_lua("return _G.pushes") == [nvim.exec_lua("return vim.b.changedtick")]


def test_a_push_older_than_what_is_shown_is_dropped_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim()
    nvim.cmd(f"edit {path}")
    assert len(shown(nvim, 2)) == 2
    stale = {"buf": nvim.current.buffer.number, "items": [], "summary": "ok: essay, 3 steps"}
    tick = nvim.exec_lua("return vim.b.workflow_check.tick")
    # As the server pushes it: the problems of an older text, which had none.
    nvim.exec_lua("require('workflow.host').receive({diagnostics = ...})", {**stale, "tick": tick - 1})
    assert len(diagnostics(nvim)) == 2
    nvim.exec_lua("require('workflow.host').receive({diagnostics = ...})", {**stale, "tick": tick})
    assert diagnostics(nvim) == []  # the same text's newer answer is drawn: an empty list clears


def test_no_python_is_said_once_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {python = '/nonexistent/python3'}")
    nvim.cmd(f"edit {path}")
    wait_for(lambda: "live check" in nvim.messages(), 20)
    for _ in range(2):
        nvim.type("Go# more<Esc>")
        nvim.exec_lua("vim.wait(600)")  # past the pause
    nvim.cmd("write")
    said = [line for line in nvim.messages().splitlines() if "[workflow]" in line]
    assert said == ["[workflow] live check: /nonexistent/python3 (vim.g.workflow.python): not an executable file"]
    assert diagnostics(nvim) == []


def test_a_plugin_loaded_late_checks_the_files_already_open_neovim(start_nvim: Any, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    nvim = start_nvim(extra=("--cmd", "let g:loaded_workflow = 1"))  # as if a plugin manager held it back
    nvim.cmd(f"edit {path}")
    assert nvim.exec_lua("return package.loaded['workflow.check'] == nil")
    nvim.cmd("unlet g:loaded_workflow | runtime plugin/workflow.lua")  # loaded on the YAML file (lazy.lua)
    assert lines_of(shown(nvim, 2)) == [TYPO_LINE, REFERENCE_LINE]


# -- Vim ----------------------------------------------------------------------

VIM_HELPERS = """
def g:Problems(): list<any>
  return workflow#check#Problems()->mapnew((_, p) => [p.line, p.severity, p.note])
enddef
def g:Signs(): list<any>
  return sign_getplaced(bufnr(), {group: 'workflow_check'})[0].signs->mapnew((_, s) => [s.lnum, s.name])
    ->sort((a, b) => a[0] - b[0])
enddef
def g:Texts(): list<any>
  return prop_list(1, {end_lnum: -1})->filter((_, p) => p.type =~ '^workflow_check_')
    ->mapnew((_, p) => [p.lnum, p.type])->sort((a, b) => a[0] - b[0])
enddef
def g:Loclist(): list<any>
  return getloclist(0)->mapnew((_, i) => [i.lnum, i.col, i.type, i.text])
enddef
def g:Shown(count: number): list<any>
  g:WaitFor(() => len(workflow#check#Problems()) == count)
  return g:Problems()
enddef
"""


def vim_run(tmp_path: Path, body: str, **options: Any) -> dict[str, Any]:
    return Vim(tmp_path, options).run(VIM_HELPERS + body)


@needs_vim
def test_two_problems_then_fixed_by_saving_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        edit {path}
        g:Keep('found', g:Shown(2))
        g:Keep('signs', g:Signs())
        g:Keep('texts', g:Texts())
        g:Keep('loclist', g:Loclist())
        g:Keep('title', getloclist(0, {{title: 0}}).title)
        # A script's changes run no TextChanged (only Vim's main loop does): :w alone checks here.
        setline({TYPO_LINE}, '    template: |')
        write
        g:Keep('saved', g:Shown(1))
        setline({REFERENCE_LINE}, '      ${{topic}}')
        write
        g:Keep('fixed', g:Shown(0))
        g:Keep('after', [g:Signs(), g:Texts(), g:Loclist()])
        g:Keep('said', g:Said())
        """,
    )
    found = result["found"]
    assert [p[0] for p in found] == [TYPO_LINE, REFERENCE_LINE], found
    assert found[0][1] == "error" and TYPO in found[0][2] and REFERENCE in found[1][2]
    assert result["signs"] == [[TYPO_LINE, "WorkflowNoteError"], [REFERENCE_LINE, "WorkflowNoteError"]]
    assert result["texts"] == [[TYPO_LINE, "workflow_check_error"], [REFERENCE_LINE, "workflow_check_error"]]
    assert [i[:3] for i in result["loclist"]] == [[TYPO_LINE, 5, "E"], [REFERENCE_LINE, 7, "E"]]
    assert result["title"] == "workflow check"
    assert [p[0] for p in result["saved"]] == [REFERENCE_LINE]
    assert result["fixed"] == [] and result["after"] == [[], [], []]
    assert not any("[workflow]" in line for line in result["said"]), result["said"]


@needs_tmux
def test_two_problems_then_fixed_by_typing_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    vim = Vim(tmp_path)
    term = Tmux(vim, columns=160, command=f"{VIM} -Nu {vim.init()} -i NONE {path}")
    term.start()
    try:
        screen = term.wait_for("● unknown key 'tempalte'")
        row = next(i for i, line in enumerate(screen) if "tempalte: |" in line)
        assert "● unknown key 'tempalte'" in screen[row], screen
        assert screen[row].startswith("E "), screen[row]  # the sign
        assert any("${draft}" in line and REFERENCE in line for line in screen), screen
        term.keys(f"{TYPO_LINE}G^cwtemplate", "Escape")
        # After the pause, without saving: the typo's text is gone, the reference's stays.
        wait_for(lambda: not any("unknown key" in line for line in term.screen()), 20)
        screen = term.screen()
        assert not any("unknown key" in line for line in screen), screen
        assert any("template: |" in line for line in screen), screen
        assert any(REFERENCE in line for line in screen), screen
        assert not any("Press ENTER" in line for line in screen), screen
    finally:
        term.stop()


@needs_vim
def test_a_syntax_error_is_one_diagnostic_where_it_starts_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", UNCLOSED)
    result = vim_run(tmp_path, f"edit {path}\ng:Keep('found', g:Shown(1))\ng:Keep('loclist', g:Loclist())")
    [[line, severity, text]] = result["found"]
    assert (line, severity) == (UNCLOSED_LINE, "error")
    assert UNCLOSED_SAYS in text
    assert [i[:3] for i in result["loclist"]] == [[UNCLOSED_LINE, UNCLOSED_COL, "E"]]  # on the quote


@needs_vim
def test_an_unrelated_yaml_starts_no_python_vim(tmp_path: Path, home: Home) -> None:
    other = home.project / "docker-compose.yaml"
    other.write_text(UNRELATED, encoding="utf-8")
    workflow = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        edit {other}
        append('$', '  db:')
        write
        sleep 1
        g:Keep('running', !empty(workflow#host#Running()))
        g:Keep('live', workflow#check#IsLive())
        edit {workflow}
        g:Keep('found', len(g:Shown(2)))
        g:Keep('then', !empty(workflow#host#Running()))
        """,
    )
    assert result["running"] is False and result["live"] is False
    assert result["found"] == 2 and result["then"] is True


@needs_vim
def test_workflow_check_on_any_buffer_draws_says_and_stays_live_vim(tmp_path: Path, home: Home) -> None:
    draft = home.project / "essay.yaml"
    draft.write_text(TWO_PROBLEMS, encoding="utf-8")
    result = vim_run(
        tmp_path,
        f"""
        edit {draft}
        g:Keep('before', !empty(workflow#host#Running()))
        # A location list of the person's own, which the check's must not replace.
        setloclist(0, [], ' ', {{title: 'mine', items: [{{bufnr: bufnr(), lnum: 1, text: 'my note'}}]}})
        g:Said()
        WorkflowCheck
        g:Keep('found', g:Problems())
        g:Keep('said', g:Said())
        g:Keep('lists', range(1, getloclist(0, {{nr: '$'}}).nr)
          ->mapnew((_, n) => getloclist(0, {{nr: n, title: 0}}).title))
        setline({TYPO_LINE}, '    template: |')
        write
        g:Keep('saved', g:Shown(1))
        g:Keep('mine', getloclist(0, {{nr: 1, items: 0}}).items->mapnew((_, i) => i.text))
        var buf = bufnr()
        bwipeout!
        g:Keep('live', workflow#check#IsLive(buf))
        g:Keep('gone', workflow#check#Problems(buf))
        """,
    )
    assert result["before"] is False
    assert [p[0] for p in result["found"]] == [TYPO_LINE, REFERENCE_LINE]
    [said] = result["said"]
    assert said.startswith(f"[workflow] 2 errors: line {TYPO_LINE}: unknown key 'tempalte'"), said
    assert result["lists"] == ["mine", "workflow check"]
    assert [p[0] for p in result["saved"]] == [REFERENCE_LINE]  # live from then on: :w checks
    assert result["mine"] == ["my note"]
    assert result["live"] is False and result["gone"] == []


@needs_vim
def test_live_checks_turned_off_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        edit {path}
        sleep 500m
        g:Keep('running', !empty(workflow#host#Running()))
        WorkflowCheck
        g:Keep('found', g:Problems())
        g:Keep('live', workflow#check#IsLive())
        g:workflow.check_live = 'no'
        g:Said()
        WorkflowCheck
        g:Keep('said', g:Said())
        """,
        check_live=False,
    )
    assert result["running"] is False
    assert [p[0] for p in result["found"]] == [TYPO_LINE, REFERENCE_LINE]
    assert result["live"] is False
    assert result["said"] == ["[workflow] g:workflow.check_live must be true or false, got 'no'"]


@needs_vim
def test_a_burst_of_typing_is_checked_once_after_the_pause_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        edit {path}
        g:Shown(2)
        # Count the pushes as they reach the plugin (host.On's handler, then the plugin's own).
        g:pushes = []
        workflow#host#On('diagnostics', (d) => {{
          g:pushes->add(d.tick)
          workflow#check#Update(d)
        }})
        for i in range(8)  # changes closer together than the pause (Vim's main loop runs TextChanged)
          append('$', '# more')
          doautocmd TextChanged
          sleep 100m
        endfor
        g:WaitFor(() => len(g:pushes) > 0)
        sleep 1
        g:Keep('pushes', g:pushes)
        g:Keep('tick', b:changedtick)
        """,
    )
    assert result["pushes"] == [result["tick"]]


@needs_vim
def test_a_push_older_than_what_is_shown_is_dropped_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        edit {path}
        g:Shown(2)
        var stale = {{buf: bufnr(), items: [], summary: 'ok: essay, 3 steps'}}
        var tick = b:workflow_check.tick
        # As the server's push reaches it: the problems of an older text, which had none.
        workflow#check#Update(extend(copy(stale), {{tick: tick - 1}}))
        g:Keep('older', len(g:Problems()))
        workflow#check#Update(extend(copy(stale), {{tick: tick}}))
        g:Keep('same', [g:Problems(), g:Signs(), g:Texts(), g:Loclist()])
        """,
    )
    assert result["older"] == 2
    assert result["same"] == [[], [], [], []]  # the same text's newer answer is drawn: an empty list clears


@needs_vim
def test_no_python_is_said_once_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        &columns = 200
        g:Said()
        edit {path}
        g:WaitFor(() => execute('messages') =~ 'live check')
        doautocmd TextChanged
        sleep 600m
        write
        g:Keep('said', g:Said()->filter((_, l) => l =~ '\\[workflow\\]'))
        g:Keep('found', g:Problems())
        """,
        python="/nonexistent/python3",
    )
    assert result["said"] == ["[workflow] live check: /nonexistent/python3 (g:workflow.python): not an executable file"]
    assert result["found"] == []


@needs_vim
def test_a_plugin_loaded_late_checks_the_files_already_open_vim(tmp_path: Path, home: Home) -> None:
    path = home.write_workflow("essay", TWO_PROBLEMS)
    result = vim_run(
        tmp_path,
        f"""
        autocmd! workflow_check
        edit {path}
        g:Keep('before', !empty(workflow#host#Running()))
        unlet g:loaded_workflow
        runtime plugin/workflow.vim
        g:Keep('found', g:Shown(2))
        """,
    )
    assert result["before"] is False
    assert [p[0] for p in result["found"]] == [TYPO_LINE, REFERENCE_LINE]


@pytest.mark.parametrize("where", ["user", "legacy", "path"])
def test_the_search_directories_are_catalogs_in_both_editors(
    start_nvim: Any, tmp_path: Path, home: Home, where: str, vim_required: None
) -> None:
    """A file in each of catalog.default_dirs (but the bundled) is live in both; one beside them is not."""
    from workflow_nvim import catalog

    extra = home.root / "more"
    if where == "path":
        extra.mkdir()
        path = extra / "essay.yml"
        path.write_text(TWO_PROBLEMS, encoding="utf-8")
    else:
        path = home.write_workflow("essay", TWO_PROBLEMS, where=where)
    dirs = [d.path for d in catalog.default_dirs(home.project, [str(extra)] if where == "path" else [])]
    assert path.parent in dirs
    beside = path.parent.parent / "essay.yaml"
    options = {"paths": [str(extra)]} if where == "path" else {}
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = ...", options or {"check_live": True})
    assert nvim.exec_lua("return require('workflow.check').qualifies(...)", str(path)) is True
    assert nvim.exec_lua("return require('workflow.check').qualifies(...)", str(beside)) is False
    result = vim_run(
        tmp_path,
        f"g:Keep('in', workflow#check#Qualifies({str(path)!r}, g:workflow))\n"
        f"g:Keep('beside', workflow#check#Qualifies({str(beside)!r}, g:workflow))",
        **options,
    )
    assert result == {"errors": [], "in": True, "beside": False}
