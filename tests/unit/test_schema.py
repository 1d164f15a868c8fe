"""workflow.schema.json: made from the validator's own tables, up to date, and agreeing with it.

The schema is checked here with a small validator of the part of JSON Schema (draft-07) it uses
(``check`` below): no package is needed for it, and a keyword it does not know fails the test, so
that a schema that starts using one is checked by hand first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_nvim import schema, spec
from workflow_nvim.spec import WorkflowInvalid
from workflow_nvim.yamlcheck import parse

from tests.unit.conftest import BLOG

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "workflow.schema.json"
KNOWN = {
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "definitions",
    "items",
    "minItems",
    "pattern",
    "$ref",
}
TYPES = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
    "array": list,
    "object": dict,
}


def check(value: Any, node: dict[str, Any], root: dict[str, Any], where: str = "") -> list[str]:
    """The errors of ``value`` against the schema ``node`` (draft-07, the keywords in KNOWN)."""
    assert set(node) <= KNOWN, f"keywords this test does not check: {set(node) - KNOWN}"
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/definitions/")
        return check(value, root["definitions"][name], root, where)
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        is_bool = isinstance(value, bool)
        if not any(isinstance(value, TYPES[t]) and (t == "boolean" or not is_bool) for t in types):
            return [f"{where or '/'}: {type(value).__name__} is not {types}"]
    errors = []
    if "pattern" in node and isinstance(value, str) and not re.search(node["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {node['pattern']}")
    if isinstance(value, list):
        if len(value) < node.get("minItems", 0):
            errors.append(f"{where}: fewer than {node['minItems']} items")
        for i, item in enumerate(value):
            errors += check(item, node.get("items", {}), root, f"{where}/{i}")
    if isinstance(value, dict):
        properties = node.get("properties", {})
        errors += [f"{where}: '{key}' is required" for key in node.get("required", []) if key not in value]
        if node.get("additionalProperties") is False:
            errors += [f"{where}: '{key}' is not allowed" for key in value if key not in properties]
        for key, item in value.items():
            if key in properties:
                errors += check(item, properties[key], root, f"{where}/{key}")
    return errors


def schema_errors(text: str) -> list[str]:
    # YAML 1.2 as yaml-language-server reads it: "NO" stays text (PyYAML's 1.1 would make it false,
    # which the schema allows too: every value is read as text).
    return check(yaml.safe_load(text), json.loads(COMMITTED.read_text(encoding="utf-8")), schema.schema())


def validator_accepts(text: str, name: str = "wf") -> bool:
    try:
        parse(Path(f"{name}.yaml"), text.encode(), text)
    except WorkflowInvalid:
        return False
    return True


def test_the_committed_schema_is_what_the_command_makes() -> None:
    made = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "schema"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "rplugin" / "python3"), "PATH": "/usr/bin:/bin"},
    )
    assert made.stdout == COMMITTED.read_text(encoding="utf-8"), "run `make schema` and commit workflow.schema.json"
    assert made.stdout == schema.text()


def test_it_is_draft_07_with_every_key_of_the_validator_and_its_help() -> None:
    made = schema.schema()
    assert made["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert tuple(made["properties"]) == spec.WORKFLOW_KEYS
    assert tuple(made["required"]) == spec.REQUIRED_WORKFLOW_KEYS
    step = made["definitions"]["step"]
    assert tuple(step["properties"]) == spec.STEP_KEYS
    assert tuple(step["required"]) == spec.REQUIRED_STEP_KEYS
    for key, prop in [*made["properties"].items(), *step["properties"].items()]:
        assert len(prop.get("description", "")) > 20, f"{key} has no help (:help workflow-yaml-{key})"
        assert "|" not in prop["description"].replace("`|`", ""), prop["description"]  # no Vim markup
    assert step["properties"]["title"]["description"] == 'Required. A few words: "Outline".'


def test_the_bundled_workflows_and_blog_are_valid_by_the_schema() -> None:
    paths = sorted((ROOT / "workflows").glob("*.yaml"))
    assert paths
    for path in paths:
        assert schema_errors(path.read_text(encoding="utf-8")) == [], path.name
    assert schema_errors(BLOG) == []


ONE = "title: T\nsteps:\n  - id: a\n    title: A\n    instructions: Write it.\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (ONE.replace("instructions:", "intructions:"), "/steps/0: 'instructions' is required"),
        (ONE.replace("title: T\n", ""), ": 'title' is required"),
        (ONE + "colour: red\n", ": 'colour' is not allowed"),
        ("title: T\nsteps: []\n", "/steps: fewer than 1 items"),
        ("title: T\nsteps: one\n", "/steps: str is not ['array']"),
        (ONE.replace("id: a", "id: Step A"), "/steps/0/id: 'Step A' does not match ^[a-z][a-z0-9_-]{0,63}$"),
        (ONE.replace("title: A", "title: ''"), "/steps/0/title: '' does not match \\S"),
        (ONE.replace("title: A", "title:"), "/steps/0/title: NoneType is not ['string', 'number', 'boolean']"),
        (ONE + "    filetype: py thon\n", "/steps/0/filetype: 'py thon' does not match ^[A-Za-z0-9_.-]{1,64}$"),
        (ONE + "model: 'two words'\n", "/model: 'two words' does not match"),
        (ONE.replace("title: T", "title:\n  nested: map"), "/title: dict is not"),
    ],
)
def test_what_the_schema_refuses_the_validator_refuses(text: str, error: str) -> None:
    assert [e for e in schema_errors(text) if e.startswith(error)], schema_errors(text)
    assert not validator_accepts(text)


@pytest.mark.parametrize(
    "text",
    [
        ONE,
        ONE.replace("title: T", "title: NO"),  # text, whatever YAML 1.1 would make of it
        ONE.replace("title: T", "title: 2024"),
        ONE + "description:\nmodel: ' qwen2.5:7b '\n",
        ONE + "    template:\n    annotate: ''\n    filetype: text\n",
    ],
    ids=["plain", "no", "number", "empty-description", "empty-template"],
)
def test_what_the_validator_accepts_the_schema_accepts(text: str) -> None:
    assert validator_accepts(text)
    assert schema_errors(text) == []
