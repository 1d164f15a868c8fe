"""The LuaCATS types say what the code holds: every option, and every field the server sends.

They are copies (of config.lua's schema, and of protocol.py's TypedDicts, the contract), so a test
keeps each in step with its original.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflow_nvim import protocol

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "lua" / "workflow"

FIELD = re.compile(r"---@field (\w+)(\??) (\S+)")


def lua_classes() -> dict[str, dict[str, str]]:
    """class name -> {field -> its Lua type}, from every ---@class block in lua/workflow/."""
    classes: dict[str, dict[str, str]] = {}
    for path in sorted(LUA.glob("*.lua")):
        current: dict[str, str] | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"---@class (?:\(\w+\) )?([\w.]+)", line)
            if m:
                current = classes.setdefault(m.group(1), {})
                continue
            f = FIELD.match(line)
            if current is not None and f:
                current[f.group(1)] = f.group(3)
            elif not line.startswith("---"):
                current = None
    return classes


def schema_options() -> set[str]:
    text = (LUA / "config.lua").read_text(encoding="utf-8")
    block = re.search(r"^M\.schema = \{\n(.*?)^\}", text, re.S | re.M)
    assert block, "config.lua has no M.schema table"
    return set(re.findall(r"^  (\w+) = \{", block.group(1), re.M))


@pytest.mark.parametrize("name", ["workflow.Config", "workflow.Options"])
def test_the_config_classes_name_every_option(name: str) -> None:
    assert set(lua_classes()[name]) == schema_options()


MIRRORED = [
    protocol.StepOpen,
    protocol.Response,
    protocol.AnnotationProgress,
    protocol.Push,
    protocol.CheckedStep,
    protocol.Diagnostics,
    protocol.Diagnostic,
]


@pytest.mark.parametrize("typed", MIRRORED, ids=lambda t: t.__name__)
def test_the_lua_types_of_what_the_server_sends_mirror_protocol_py(typed: type) -> None:
    fields = lua_classes()[f"workflow.{typed.__name__}"]
    assert sorted(fields) == sorted(typed.__annotations__)
    # A field that holds another declared message names its Lua class.
    for name, annotation in typed.__annotations__.items():
        if annotation in {t.__name__ for t in MIRRORED}:
            assert fields[name].startswith(f"workflow.{annotation}"), (name, fields[name])


def test_protocol_lua_is_only_types() -> None:
    """Nothing requires it (tests/unit/test_lua_layers.py): loading it must cost and do nothing."""
    code = [
        line
        for line in (LUA / "protocol.lua").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("--")
    ]
    assert code == ["return {}"]
