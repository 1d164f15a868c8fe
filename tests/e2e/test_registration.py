"""No remote plugin: nothing Python at startup, :UpdateRemotePlugins registers nothing of ours,
and a front and a server of different protocol versions say so in one line."""

from __future__ import annotations

from typing import Any

from workflow_nvim import protocol

from .conftest import ROOT, Editor, Home

PACKAGE_DIR = str(ROOT / "rplugin" / "python3" / "workflow_nvim")


def job_channels(nvim: Editor) -> list[dict[str, Any]]:
    return [c for c in nvim.api.list_chans() if c.get("stream") == "job"]


def test_nothing_python_happens_at_startup(nvim: Editor) -> None:
    assert job_channels(nvim) == []
    # plugin/workflow.lua only defines commands, from a data table: no other module of ours is loaded.
    loaded = nvim.exec_lua(
        "return vim.tbl_filter(function(m) return m:find('^workflow') end, vim.tbl_keys(package.loaded))"
    )
    assert loaded == ["workflow.commands"]
    assert nvim.exec_lua(
        "for _, c in ipairs(require('workflow.commands')) do"
        "  for _, v in pairs(c) do if type(v) == 'function' then return false end end "
        "end return true"
    )
    # No remote plugin host was asked for: the python3 provider was never loaded.
    assert nvim.eval("exists('g:loaded_python3_provider')") == 0
    assert nvim.call("exists", ":WorkflowStart") == 2


def test_update_remote_plugins_registers_nothing_and_a_workflow_runs_on_one_server(start_nvim: Any, home: Home) -> None:
    first = start_nvim()
    first.clear_messages()
    first.cmd("UpdateRemotePlugins")  # this checkout is on the runtime path, rplugin/python3/ and all
    said = first.messages()
    assert "rror" not in said and "Traceback" not in said, said
    first.quit()
    manifest = (home.data / "rplugin.vim").read_text(encoding="utf-8")
    assert "RegisterPlugin" not in manifest  # nothing of ours (or anyone's) to register
    assert PACKAGE_DIR not in manifest

    nvim = start_nvim()  # loads the manifest
    assert job_channels(nvim) == []
    nvim.cmd("WorkflowStart tutorial")
    assert nvim.state()["workflow"] == "tutorial"
    nvim.cmd("WorkflowNext!")  # over the tutorial's placeholder check
    nvim.settle()
    assert nvim.state()["step"] == 2
    channels = job_channels(nvim)
    assert len(channels) == 1, channels  # our server, and no python3 host beside it
    server = nvim.exec_lua("return require('workflow.host').running()")
    assert channels[0]["id"] == server["chan"]
    assert nvim.call("jobpid", server["chan"]) == server["pid"]
    assert nvim.eval("exists('g:loaded_python3_provider')") == 0


def test_a_front_and_a_server_of_different_protocol_versions_say_so_in_one_line(nvim: Editor) -> None:
    nvim.exec_lua("require('workflow.host').PROTOCOL = 99")
    message = nvim.error("WorkflowStart tutorial")  # one line, prefixed [workflow]
    assert message.startswith(f"[workflow] protocol 99 in the editor, {protocol.PROTOCOL} in Python: update")
    assert len(message) <= 80, message
    assert nvim.state() == {}  # nothing ran
    assert nvim.error("WorkflowList") == message  # and nothing will, with this server
    assert "Traceback" not in nvim.messages()
