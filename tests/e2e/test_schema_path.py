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


def test_the_helps_neovim_settings_map_workflow_files_to_the_schema(nvim: Editor) -> None:
    help_text = (ROOT / "doc" / "workflow.txt").read_text(encoding="utf-8")
    section = help_text[help_text.index("*workflow-schema*") :]
    code = section[section.index(">lua\n") + 5 : section.index("\n<", section.index(">lua\n"))]
    nvim.exec_lua(code)  # vim.lsp.config, then vim.lsp.enable: no YAML buffer is open, nothing starts
    schemas = nvim.exec_lua("return vim.lsp.config.yamlls.settings.yaml.schemas")
    assert schemas == {
        str((ROOT / "workflow.schema.json").resolve()): ["**/.workflows/*.yaml", "**/workflow.nvim/workflows/*.yaml"]
    }


@needs_vim
def test_the_helps_vim_settings_map_workflow_files_to_the_schema(tmp_path: Path, home: Home) -> None:
    help_text = (ROOT / "doc" / "workflow.txt").read_text(encoding="utf-8")
    section = help_text[help_text.index("*workflow-schema*") :]
    blocks = []
    for start in [i for i in range(len(section)) if section.startswith(">vim\n", i)][:2]:
        blocks.append(section[start + 5 : section.index("\n<", start)])
    script = tmp_path / "lsp.vim"
    # yegappan/lsp's LspAddServer, as far as this test needs it: it keeps what it is given.
    script.write_text(
        "function! LspAddServer(servers)\n  let g:servers = a:servers\nendfunction\n" + "\n".join(blocks) + "\n",
        encoding="utf-8",
    )
    result = Vim(tmp_path, {}).run(
        f"""
        execute 'source {script}'
        g:Keep('servers', g:servers)
        g:Keep('settings', g:lsp_settings)
        """
    )
    path = str((ROOT / "workflow.schema.json").resolve())
    assert result["servers"][0]["workspaceConfig"] == {"yaml": {"schemas": {path: ["**/.workflows/*.yaml"]}}}
    assert result["settings"]["yaml-language-server"]["workspace_config"]["yaml"]["schemas"] == {
        path: ["**/.workflows/*.yaml"]
    }
