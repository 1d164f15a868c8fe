"""doc/workflow.txt and the tutorial say what the code does, in lines that fit a help window."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml
from workflow_nvim.spec import STEP_KEYS, WORKFLOW_KEYS

ROOT = Path(__file__).resolve().parents[2]
HELP = ROOT / "doc" / "workflow.txt"
HELP_WIDTH = 78  # Vim's help files: 'textwidth' 78, tags right-aligned to it


def columns(line: str) -> int:
    """The screen columns ``line`` takes (wide characters count two, tabs go to the next 8)."""
    width = 0
    for c in line:
        if c == "\t":
            width += 8 - width % 8
        else:
            width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def test_no_help_line_is_wider_than_78_columns() -> None:
    lines = HELP.read_text(encoding="utf-8").splitlines()
    wide = [f"{n}: {columns(line)}: {line}" for n, line in enumerate(lines, 1) if columns(line) > HELP_WIDTH]
    assert wide == []


def help_section(title: str) -> str:
    """The text of a `Title ~` subsection of doc/workflow.txt, up to the next heading."""
    text = HELP.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(title)} ~\n(.*?)^(?:\S[^\n]* ~|=+)$", text, re.M | re.S)
    assert match, f"no '{title} ~' in {HELP.name}"
    return match[1]


def entries(section: str) -> set[str]:
    """The names an entry starts with: a word at the start of a line, then two spaces."""
    return set(re.findall(r"^([a-z_]+)  ", section, re.M))


def test_every_key_the_validator_accepts_has_an_entry_in_the_help() -> None:
    assert set(WORKFLOW_KEYS) - entries(help_section("Workflow keys")) == set()
    assert set(STEP_KEYS) - entries(help_section("Step keys")) == set()


def test_the_tutorial_lists_every_key_the_validator_accepts() -> None:
    tutorial = yaml.safe_load((ROOT / "workflows" / "tutorial.yaml").read_text(encoding="utf-8"))
    text = " ".join(" ".join(str(s.get("template", "")) for s in tutorial["steps"]).split())
    listed = re.search(r"Workflow keys: ([a-z_, ]+)\. Step keys: ([a-z_, ]+)\. Nothing else\.", text)
    assert listed, "the tutorial's rules list the keys: 'Workflow keys: ... Step keys: ... Nothing else.'"
    assert re.split(r",\s*", listed[1]) == list(WORKFLOW_KEYS)
    assert re.split(r",\s*", listed[2]) == list(STEP_KEYS)


def test_the_commands_section_speaks_to_users_not_of_the_protocol() -> None:
    text = HELP.read_text(encoding="utf-8")
    commands = text[text.index("*workflow-commands*") : text.index("*workflow-mappings*")]
    jargon = [w for w in ("Params.", "Response.", "the front ") if w in commands]
    assert jargon == [], "protocol words belong in :help workflow-protocol"
