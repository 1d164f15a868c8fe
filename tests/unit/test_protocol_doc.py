""":help workflow-protocol says what protocol.py declares: every field, every method, the version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflow_nvim import protocol

HELP = Path(__file__).resolve().parents[2] / "doc" / "workflow.txt"
DECLARED = [
    protocol.Hello,
    protocol.Welcome,
    protocol.Params,
    protocol.Response,
    protocol.StepOpen,
    protocol.Push,
    protocol.AnnotationProgress,
    protocol.CommandOutput,
    protocol.CheckedStep,
    protocol.Diagnostics,
    protocol.Diagnostic,
]


def section() -> str:
    text = HELP.read_text(encoding="utf-8")
    start = text.index("*workflow-protocol*")
    end = text.find("\n====", start)
    return text[start : end if end >= 0 else len(text)]


def field_lists() -> list[set[str]]:
    """The names in each example block (``>`` ... ``<``) that lists fields: ``    name   what it is``."""
    lists = []
    for block in re.findall(r">\n(.*?)\n<", section(), re.S):
        names = set(re.findall(r"^    (\w+) {2,}\S", block, re.M))
        if names:
            lists.append(names)
    return lists


@pytest.mark.parametrize("declared", DECLARED, ids=lambda t: t.__name__)
def test_each_message_has_its_fields_listed_in_the_help(declared: type) -> None:
    fields = set(declared.__annotations__)
    lists = field_lists()
    if fields in lists:
        return
    closest = min(lists, key=lambda names: len(names ^ fields))
    pytest.fail(
        f"no field list in :help workflow-protocol is protocol.{declared.__name__}: "
        f"not in the help {sorted(fields - closest)}, not declared {sorted(closest - fields)}"
    )


def test_every_field_list_in_the_help_is_a_declared_message() -> None:
    declared = [set(t.__annotations__) for t in DECLARED]
    assert [names for names in field_lists() if names not in declared] == []


def test_the_help_has_the_methods_the_version_and_the_commands() -> None:
    text = section()
    assert [m for m in protocol.METHODS if not re.search(rf"^{m}\(", text, re.M)] == []
    assert f"This is protocol version {protocol.PROTOCOL}." in text
    assert f"the protocol version the front speaks ({protocol.PROTOCOL})" in text
    from workflow_nvim.session import Session

    command = text[text.index("command(name, Params)") : text.index("complete(kind")]
    assert [name for name in Session().commands if not re.search(rf"\b{name}\b", command)] == []


def test_the_module_docstring_points_at_the_help() -> None:
    assert protocol.__doc__ is not None and ":help workflow-protocol" in protocol.__doc__
