"""The front's copies of Python's tables, kept so that startup and <Tab> never start Python, agree with them."""

from __future__ import annotations

from workflow_nvim import options, protocol

from .conftest import Editor


def test_the_lua_command_table_is_protocols_field_by_field(nvim: Editor) -> None:
    lua = nvim.exec_lua("return require('workflow.commands')")
    python = [c._asdict() for c in protocol.COMMANDS]
    assert [c["name"] for c in lua] == [c["name"] for c in python]
    for ours, theirs in zip(lua, python, strict=True):
        assert ours == theirs, ours["name"]


def test_every_command_of_the_table_is_an_editor_command(nvim: Editor) -> None:
    defined = nvim.api.get_commands({})
    for c in protocol.COMMANDS:
        assert defined[c.command]["definition"] == c.desc
        assert defined[c.command]["nargs"] == ("0" if c.most == 0 else "*")
        assert defined[c.command]["range"] == ("%" if c.takes_range else None)
        assert defined[c.command]["bang"] == c.bang, c.command


def test_the_front_speaks_the_servers_protocol_version(nvim: Editor) -> None:
    assert nvim.exec_lua("return require('workflow.host').PROTOCOL") == protocol.PROTOCOL


def test_the_lua_option_schema_names_every_option_and_no_other(nvim: Editor) -> None:
    lua = nvim.exec_lua("return vim.tbl_keys(require('workflow.config').schema)")
    assert sorted(lua) == sorted(options.NAMES + options.FRONT_ONLY)
