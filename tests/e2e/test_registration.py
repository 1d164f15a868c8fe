"""The remote plugin registers itself; with a manifest it is used, never registered twice."""

from __future__ import annotations

import re

from .conftest import ROOT, Editor, Home

PLUGIN_PATH = str(ROOT / "rplugin" / "python3" / "workflow_nvim")


def hosts_with_plugin(nvim: Editor) -> dict[str, int]:
    counts = {}
    for host in ("python3", "workflow"):
        plugins = nvim.call("remote#host#PluginsForHost", host)
        counts[host] = sum(1 for p in plugins if p["path"] == PLUGIN_PATH)
    return counts


def test_nothing_python_happens_at_startup(nvim: Editor) -> None:
    assert [c for c in nvim.api.list_chans() if c.get("stream") == "job"] == []
    # plugin/workflow.lua only defines things: no module of ours is loaded until a command runs.
    assert (
        nvim.exec_lua("return vim.tbl_filter(function(m) return m:find('^workflow') end, vim.tbl_keys(package.loaded))")
        == []
    )
    assert hosts_with_plugin(nvim) == {"python3": 0, "workflow": 0}


def test_works_without_update_remote_plugins(nvim: Editor, home: Home) -> None:
    assert not (home.data / "rplugin.vim").exists()
    nvim.cmd("WorkflowStart tutorial")
    assert nvim.state()["workflow"] == "tutorial"
    assert hosts_with_plugin(nvim) == {"python3": 0, "workflow": 1}


def test_manifest_registration_is_used_and_not_doubled(start_nvim, home: Home) -> None:  # type: ignore[no-untyped-def]
    first = start_nvim()
    first.cmd("UpdateRemotePlugins")
    first.quit()
    manifest = (home.data / "rplugin.vim").read_text(encoding="utf-8")
    assert PLUGIN_PATH in manifest

    nvim = start_nvim()
    assert hosts_with_plugin(nvim) == {"python3": 1, "workflow": 0}
    nvim.cmd("WorkflowStart tutorial")
    assert nvim.state()["workflow"] == "tutorial"
    assert hosts_with_plugin(nvim) == {"python3": 1, "workflow": 0}


def test_lua_specs_match_what_pynvim_reports(start_nvim, home: Home) -> None:  # type: ignore[no-untyped-def]
    nvim = start_nvim()
    nvim.cmd("UpdateRemotePlugins")
    manifest = (home.data / "rplugin.vim").read_text(encoding="utf-8")
    ours = re.search(r"call remote#host#RegisterPlugin\('python3', '([^']+)', (\[.*?\]\))", manifest, re.S)
    assert ours and ours.group(1) == PLUGIN_PATH
    from_manifest = nvim.eval(re.sub(r"\n\s*\\", " ", ours.group(2)[:-1]))
    from_lua = nvim.exec_lua("return require('workflow.host').specs")
    assert from_manifest == from_lua
