"""``python -m workflow_nvim schema``: the JSON Schema of workflow files, made from the validator's tables.

``workflow.schema.json`` at the plugin's root is this command's output (``make schema`` writes it;
tests/unit/test_schema.py proves the file is up to date). The keys, which are required, which may
be empty, which are lists, and the patterns their values must match are spec.py's own tables, the
ones the validator checks with; each key's description is its entry in ``:help workflow-yaml``
(doc/workflow.txt), so that hover text in an editor says what the help says. Draft-07: what
yaml-language-server supports ("JSON Schema 7 and below").

The schema checks less than the validator: not the ``${id}`` references, nor that a workflow's
``name`` is its file's, nor duplicate keys or ids. ``:WorkflowCheck`` and ``validate`` do.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .spec import (
    BOOL_KEYS,
    CHECK_KEYS,
    KEY_PATTERNS,
    LIST_KEYS,
    MAY_BE_EMPTY_KEYS,
    REQUIRED_STEP_KEYS,
    REQUIRED_WORKFLOW_KEYS,
    STEP_KEYS,
    WORKFLOW_KEYS,
)

HELP = Path(__file__).resolve().parents[3] / "doc" / "workflow.txt"
FILE_NAME = "workflow.schema.json"

# Every value is read as text ("title: NO" is the title "NO"): a YAML 1.2 number or boolean is
# text too. A key with a pattern (a name, an id) is a string: no number matches one.
_TEXT = ["string", "number", "boolean"]


def key_help(section: str, next_section: str, text: str) -> dict[str, str]:
    """Each key's entry in the help between the headings ``section`` and ``next_section``, as one line."""
    body = text[text.index(f"\n{section} ~\n") : text.index(f"\n{next_section} ~\n")]
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body.split("\n"):
        entry = re.match(r"([a-z_]+) {2,}(\S.*)", line)
        if entry:
            current = entries.setdefault(entry[1], [])
            current.append(entry[2])
        elif current is not None and line.startswith(" " * 16) and not line.strip().startswith("*"):
            current.append(line.strip())
        else:
            current = None
    return {key: _plain(" ".join(lines)) for key, lines in entries.items()}


def _plain(text: str) -> str:
    """Help text without Vim's markup: ``|:WorkflowStart|`` is ``:WorkflowStart``, a link to a
    section is ``:help workflow-privacy``."""
    return re.sub(
        r"\|([^|\s]+)\|", lambda m: m[1] if m[1][:1] in ":'" or m[1].startswith("g:") else f":help {m[1]}", text
    )


def _pattern(key: str) -> str:
    """A key's pattern as JSON Schema writes it (ECMA 262: ``$`` for Python's ``\\Z``)."""
    core = KEY_PATTERNS[key].pattern.removesuffix(r"\Z")
    if key in MAY_BE_EMPTY_KEYS:
        return rf"^\s*(?:{core})?\s*$"
    return f"^{core}$"


def _check(docs: dict[str, str], description: str) -> dict[str, Any]:
    """``check``: a mapping of checks, or false."""
    props: dict[str, Any] = {}
    for key in CHECK_KEYS:
        prop: dict[str, Any] = {"description": docs[key]} if docs.get(key) else {}
        if key in BOOL_KEYS:
            prop["type"] = "boolean"
        elif key == "headings":
            prop.update({"type": "array", "minItems": 1, "items": {"type": list(_TEXT)}})
        elif key == "min_words":
            prop["type"] = ["number", "string"]
        else:
            prop.update({"type": "string", "pattern": r"\S"})
        props[key] = prop
    check: dict[str, Any] = {"description": description} if description else {}
    check.update({"type": ["object", "boolean"], "properties": props, "additionalProperties": False})
    return check


def _property(key: str, description: str, checks: dict[str, str] | None = None) -> dict[str, Any]:
    if key == "check":
        return _check(checks or {}, description)
    prop: dict[str, Any] = {"description": description} if description else {}
    if key in BOOL_KEYS:
        prop["type"] = "boolean"
        return prop
    if key in LIST_KEYS:
        prop.update({"type": "array", "minItems": 1, "items": {"$ref": f"#/definitions/{LIST_KEYS[key]}"}})
        return prop
    types = ["string"] if key in KEY_PATTERNS else list(_TEXT)
    if key in MAY_BE_EMPTY_KEYS:
        types.append("null")  # "description:" with nothing after it
    prop["type"] = types[0] if len(types) == 1 else types
    if key in KEY_PATTERNS:
        prop["pattern"] = _pattern(key)
    elif key not in MAY_BE_EMPTY_KEYS:
        prop["pattern"] = r"\S"  # some text (a number or boolean always is)
    return prop


def _object(
    keys: tuple[str, ...], required: tuple[str, ...], docs: dict[str, str], title: str, checks: dict[str, str]
) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "properties": {key: _property(key, docs.get(key, ""), checks) for key in keys},
        "required": list(required),
        "additionalProperties": False,
    }


def schema(help_text: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a workflow file (draft-07)."""
    text = HELP.read_text(encoding="utf-8") if help_text is None else help_text
    workflow_docs = key_help("Workflow keys", "Step keys", text)
    step_docs = key_help("Step keys", "Using earlier steps: ${id}", text)
    check_docs = key_help("Checks", "Strict checking", text)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "description": "A workflow for workflow.nvim: a title and a list of steps (:help workflow-yaml). "
        "Generated by `python -m workflow_nvim schema` from the plugin's validator: do not edit.",
        **_object(WORKFLOW_KEYS, REQUIRED_WORKFLOW_KEYS, workflow_docs, "workflow.nvim workflow", check_docs),
        "definitions": {"step": _object(STEP_KEYS, REQUIRED_STEP_KEYS, step_docs, "A step", check_docs)},
    }


def text() -> str:
    """The schema as workflow.schema.json holds it."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """``schema``: print the schema."""
    if argv:
        print("usage: python -m workflow_nvim schema > workflow.schema.json", file=sys.stderr)
        return 2
    if not HELP.is_file():
        print(f"schema: {HELP} is missing: run it in a checkout of the plugin", file=sys.stderr)
        return 1
    sys.stdout.write(text())
    return 0
