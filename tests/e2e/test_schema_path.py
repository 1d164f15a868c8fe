"""The schema's path, for a YAML language server's settings, from each editor (:help workflow-schema)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.vim import ROOT, Vim, needs_vim

from .conftest import Editor, Home


def test_neovim_gives_the_installed_schemas_absolute_path(nvim: Editor) -> None:
    path = nvim.exec_lua("return require('workflow').schema_path()")
    assert path == str((ROOT / "workflow.schema.json").resolve())
    assert json.loads(Path(path).read_text(encoding="utf-8"))["title"] == "workflow.nvim workflow"


@needs_vim
def test_vim_gives_the_same_path(tmp_path: Path, home: Home) -> None:
    result = Vim(tmp_path, {}).run("g:Keep('path', workflow#schema#Path())")
    assert result["path"] == str((ROOT / "workflow.schema.json").resolve())
