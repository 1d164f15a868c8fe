"""The log buffer of the Vim 9 front (autoload/workflow/log.vim), in a real Vim on the real server:
the lines Python writes, <CR> for a step's text at a commit, d for its diff, q to close (as
tests/e2e/test_history.py's log test does in Neovim)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vim import Vim, needs_vim

from .conftest import Home, git
from .test_steps import ESSAY

pytestmark = needs_vim


@pytest.fixture
def vim(tmp_path: Path, home: Home) -> Vim:
    home.write_workflow("essay", ESSAY)
    return Vim(tmp_path, {"runs_dir": str(home.root / "runs")})


def test_the_log_buffer_shows_each_commit_its_text_and_its_diff(vim: Vim) -> None:
    result = vim.run(
        r"""
        WorkflowStart essay
        g:Keep('dir', g:WorkflowState().dir)
        WorkflowLog
        g:Keep('empty', getline(1, '$'))
        normal q
        normal! A first
        WorkflowNext
        normal! Go- trains are fast
        WorkflowNext
        WorkflowGoto 1
        normal! ccTopic: second
        WorkflowNext
        g:Settle()
        g:Said()
        WorkflowLog
        g:Keep('log', [getline(1, '$'), bufname(), &modifiable, &buftype, line('.'), winnr('$')])
        cursor(4, 1)  # the first commit: step 1's first version
        execute "normal \<CR>"
        g:Keep('text', [getline(1, '$'), &filetype, bufname()])
        normal q
        g:Keep('back', bufname())
        execute "normal d"
        g:Keep('first_diff', [getline(1, '$'), &filetype])
        normal q
        cursor(2, 1)  # the revision
        execute "normal d"
        g:Keep('diff', getline(1, '$'))
        normal q
        cursor(3, 1)  # step 2
        execute "normal \<CR>"
        g:Keep('outline', getline(1, '$'))
        normal q
        normal q
        g:Keep('closed', [bufname(), winnr('$'), bufexists('workflow://log/' .. g:WorkflowState().run)])
        g:Keep('said', g:Said())
        """
    )
    assert result["empty"][1:] == ["no step completed yet: :WorkflowNext commits the current step"]
    d = Path(result["dir"])
    hashes = git(d, "log", "--format=%h").split()
    lines, name, modifiable, buftype, cursor, windows = result["log"]
    assert lines[0].startswith("Write an essay, run ") and lines[0].endswith("(<CR> text, d diff, q close)")
    assert lines[1].startswith(hashes[0]) and lines[1].endswith("1/3 Pick a topic (revised)")
    assert lines[2].startswith(hashes[1]) and lines[2].endswith("2/3 Outline")
    assert lines[3].startswith(hashes[2]) and lines[3].endswith("1/3 Pick a topic")
    assert len(lines) == 4
    assert name.startswith("workflow://log/") and modifiable == 0 and buftype == "nofile"
    assert (cursor, windows) == (2, 2)  # on the newest commit, in a window of its own

    text, filetype, shown = result["text"]
    assert text == ["Topic: first"] and filetype == "markdown"
    assert shown.startswith("workflow://") and shown.endswith("/01-topic.md")
    assert result["back"] == name
    # A first completion: what the person wrote into the step's starting text (.start/).
    first_diff, filetype = result["first_diff"]
    assert filetype == "git"
    assert "-Topic:" in first_diff and "+Topic: first" in first_diff
    diff = "\n".join(result["diff"])
    assert "-Topic: first" in diff and "+Topic: second" in diff
    assert result["outline"][-1] == "- trains are fast"
    closed_name, closed_windows, exists = result["closed"]
    assert not closed_name.startswith("workflow://") and closed_windows == 1 and exists == 0
    assert result["said"] == []
