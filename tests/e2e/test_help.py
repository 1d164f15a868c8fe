""":help workflow covers every command, map, option and YAML key; :helptags runs clean."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from workflow_nvim.protocol import COMMANDS
from workflow_nvim.spec import STEP_KEYS, WORKFLOW_KEYS

from tests.vim import Vim, needs_vim

from .conftest import ROOT, Editor


@pytest.fixture
def tags(nvim: Editor, tmp_path: Path) -> set[str]:
    doc = tmp_path / "doc"
    shutil.copytree(ROOT / "doc", doc, ignore=shutil.ignore_patterns("tags"))
    nvim.clear_messages()
    nvim.cmd(f"helptags {doc}")  # raises on duplicate tags and other errors
    assert nvim.messages().strip() == ""
    return {line.split("\t", 1)[0] for line in (doc / "tags").read_text(encoding="utf-8").splitlines()}


def test_every_command_has_a_tag(nvim: Editor, tags: set[str]) -> None:
    commands = [name for name in nvim.api.get_commands({}) if name.startswith("Workflow")]
    assert len(commands) >= 8
    assert [c for c in commands if f":{c}" not in tags] == []


def test_every_command_of_the_protocol_is_documented(tags: set[str]) -> None:
    assert [c.command for c in COMMANDS if f":{c.command}" not in tags] == []
    text = (ROOT / "doc" / "workflow.txt").read_text(encoding="utf-8")
    listed = re.search(r"\(subcommands: ([^)]*)\)", text)
    assert listed, ":Workflow's entry lists its subcommands"
    assert re.split(r",\s+", listed[1].strip()) == [c.name for c in COMMANDS]


def test_every_plug_map_has_a_tag(nvim: Editor, tags: set[str]) -> None:
    plugs = [m["lhs"] for m in nvim.api.get_keymap("n") if m["lhs"].startswith("<Plug>(Workflow")]
    assert len(plugs) >= 3
    assert [p for p in plugs if p not in tags] == []


def test_every_default_map_has_a_tag(nvim: Editor, tags: set[str]) -> None:
    defaults = nvim.exec_lua("return vim.tbl_map(function(m) return m[1] end, require('workflow.view').default_maps)")
    assert [lhs for lhs in defaults if f"workflow_{lhs}" not in tags] == []


def test_every_option_has_a_tag(nvim: Editor, tags: set[str]) -> None:
    options = nvim.exec_lua("return vim.tbl_keys(require('workflow.config').schema)")
    assert len(options) >= 3
    assert [o for o in options if f"g:workflow.{o}" not in tags] == []


def test_every_yaml_key_has_a_tag(tags: set[str]) -> None:
    wanted = {f"workflow-yaml-{k}" for k in WORKFLOW_KEYS}
    wanted |= {f"workflow-yaml-{k}" for k in STEP_KEYS if k != "title"} | {"workflow-yaml-step-title"}
    assert sorted(wanted - tags) == []


def test_api_and_highlights_have_tags(nvim: Editor, tags: set[str]) -> None:
    assert "WorkflowState()" in tags
    groups = [g for g in nvim.api.get_hl(0, {}) if g.startswith("Workflow")]
    assert len(groups) >= 4
    assert [g for g in groups if f"hl-{g}" not in tags] == []


@needs_vim
def test_vims_highlights_have_tags(tmp_path: Path, tags: set[str]) -> None:
    # Vim's own groups too (plugin/workflow.vim): :WorkflowHealth's, the notes' signs.
    result = Vim(tmp_path).run("g:Keep('groups', getcompletion('Workflow', 'highlight'))")
    groups = result["groups"]
    assert "WorkflowHealthOk" in groups and "WorkflowNoteError" in groups
    assert [g for g in groups if f"hl-{g}" not in tags] == []


def test_help_opens(nvim: Editor) -> None:
    nvim.cmd("set runtimepath+=" + str(ROOT))
    nvim.cmd("helptags " + str(ROOT / "doc"))
    nvim.cmd("help :WorkflowStart")
    assert nvim.current.buffer.options["filetype"] == "help"
    assert "*:WorkflowStart*" in nvim.current.line
