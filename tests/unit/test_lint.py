"""Warnings (lint.py): located, said, and never in the way: a file with warnings loads and runs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from workflow_nvim import lint, spec
from workflow_nvim.diagnostics import problems_of_text
from workflow_nvim.spec import load_workflow

ROOT = Path(__file__).resolve().parents[2]


def warnings(text: str) -> list[tuple[int, int, str]]:
    problems, workflow = problems_of_text(textwrap.dedent(text), "/p/.workflows/trip.yaml")
    assert workflow is not None, [str(p) for p in problems]  # warnings never stop a workflow
    assert {p.severity for p in problems} <= {"warning"}
    return [(p.line, p.col, p.message) for p in problems]


TRIP = """\
title: Plan a trip
steps:
  - id: where
    title: Where
    instructions: Write where you go and why.
    template: |
      # Destination

      Why:
  - id: budget
    title: Budget
    instructions: {instructions}
    template: "Total:"
"""


def test_a_multi_line_step_pasted_mid_sentence_warns_where_the_reference_is() -> None:
    found = warnings(TRIP.format(instructions="Set a total budget for the trip to ${where}."))
    assert found == [
        (
            12,
            54,
            "'${where}' pastes the lines of step 'where' (its template has several) into the middle of this "
            "line: put ${where} on a line of its own in a `|` block",
        )
    ]
    # In a | block, the same line; the fix named is the line of its own.
    block = "|\n      Set a budget for:\n      the trip to ${where} soon."
    [(line, col, message)] = warnings(TRIP.format(instructions=block))
    assert (line, col) == (14, 19) and message.endswith("put ${where} on a line of its own")


def test_a_multi_line_step_on_a_line_of_its_own_or_a_one_line_step_mid_sentence_does_not_warn() -> None:
    assert warnings(TRIP.format(instructions="|\n      Set a total budget for the trip to:\n\n      ${where}")) == []
    one_line = TRIP.replace("      # Destination\n\n      Why:\n", "      Destination:\n")
    assert warnings(one_line.format(instructions="Set a total budget for the trip to ${where}.")) == []


def test_a_step_made_of_a_multi_line_one_is_multi_line_too() -> None:
    text = TRIP.format(instructions="Budget it.") + (
        "  - id: pack\n    title: Pack\n    instructions: Write what to pack for ${budget}.\n"
    )
    text = text.replace('template: "Total:"', 'template: "${where}"')
    [(line, _, message)] = warnings(text)
    assert line == 16 and message.startswith("'${budget}' pastes the lines of step 'budget'")


def test_an_empty_step_whose_instructions_never_say_what_to_write_warns() -> None:
    text = """\
    title: Reflect
    steps:
      - id: mood
        title: Mood
        instructions: How did today go?
    """
    assert warnings(text) == [
        (
            5,
            19,
            "step 'mood' starts empty (no template) and its instructions never say what to write "
            "(such as 'write', 'list', 'describe'): say what goes in it, or give it a template",
        )
    ]


@pytest.mark.parametrize(
    ("instructions", "template"),
    [
        ("How did today go? Jot down three words.", ""),  # a writing verb, in any form
        ("Listing what went well helps.", ""),
        ("How did today go?", "'Today:'"),  # it does not start empty
    ],
)
def test_an_empty_step_that_says_what_to_write_or_a_templated_one_does_not_warn(
    instructions: str, template: str
) -> None:
    text = f"title: Reflect\nsteps:\n  - id: mood\n    title: Mood\n    instructions: {instructions}\n"
    if template:
        text += f"    template: {template}\n"
    assert warnings(text) == []


def long_instructions(lines: int) -> str:
    """A | block of ``lines`` paragraphs, each of one line that fits in a small window."""
    body = "\n\n".join(f"      Write point {i} of the plan." for i in range(lines // 2 + 1))
    text = f"title: Plan\nsteps:\n  - id: plan\n    title: Plan\n    instructions: |\n{body}\n"
    reflowed = load_workflow_text(text).steps[0].instructions
    assert lint.wrapped_lines(reflowed.rstrip("\n"), lint.SMALL_WINDOW_WIDTH) == lines
    return text


def load_workflow_text(text: str) -> object:
    from workflow_nvim.yamlcheck import parse

    return parse(Path("plan.yaml"), text.encode(), text)


def test_instructions_a_small_window_cuts_warn_and_those_it_shows_whole_do_not() -> None:
    # The number the fronts use: half the window's height (view.lua, view.vim).
    for front in ("lua/workflow/view.lua", "autoload/workflow/view.vim"):
        source = (ROOT / front).read_text(encoding="utf-8")
        assert re.search(r"MAX_INSTRUCTION_SHARE = ([\d.]+)", source)[1] == str(lint.MAX_INSTRUCTION_SHARE)  # type: ignore[index]
    assert (lint.SMALL_WINDOW_WIDTH, lint.SMALL_WINDOW_LINES) == (78, 9)
    assert warnings(long_instructions(9)) == []
    assert warnings(long_instructions(11)) == [
        (
            5,
            19,
            "the instructions of step 'plan' take 11 lines at 78 columns: a 80x20 window shows 8, "
            "then '… more lines'; shorten them, or move the detail into the template",
        )
    ]


def test_one_long_paragraph_counts_as_the_lines_it_wraps_into() -> None:
    assert lint.wrapped_lines("word " * 100, 78) == 7
    assert lint.wrapped_lines("- " + "word " * 30, 20) == 10  # later lines under the item's text


def test_the_bundled_workflows_have_no_warnings() -> None:
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        problems, _ = problems_of_text(path.read_text(encoding="utf-8"), str(path))
        assert [str(p) for p in problems] == []


def test_a_file_with_warnings_loads(tmp_path: Path) -> None:
    path = tmp_path / "trip.yaml"
    path.write_text(TRIP.format(instructions="Set a total budget for the trip to ${where}."), encoding="utf-8")
    assert [s.id for s in load_workflow(path).steps] == ["where", "budget"]
    problems, _ = problems_of_text(path.read_text(encoding="utf-8"), str(path))
    assert str(problems[0]).startswith(f"{path}:12:54: warning: '${{where}}' pastes")


def test_a_new_rule_is_one_decorated_function() -> None:
    def shouting(steps: object, warn: lint.Warn) -> None:
        for source in steps:  # type: ignore[attr-defined]
            if source.step.title.isupper():
                warn(source.entries["title"][1], "a title in capitals shouts", None)

    lint.rule(shouting)
    try:
        found = warnings("title: T\nsteps:\n  - id: a\n    title: HELLO\n    instructions: Write it.\n")
    finally:
        lint.RULES.remove(shouting)
    assert found == [(4, 12, "a title in capitals shouts")]


def test_a_line_of_thousands_of_references_gets_at_most_the_listed_warnings() -> None:
    # tests/hostile.py's repeater, with a step of several lines: the rule stays linear in the line.
    head = (
        "title: Repeater\nsteps:\n  - id: a\n    title: A\n    instructions: Write anything.\n"
        "    template: |\n      one\n      two\n"
        "  - id: b\n    title: B\n    instructions: Read it back.\n    template: |\n      x "
    )
    problems, workflow = problems_of_text(head + "${a}" * 40_000 + "\n", "/p/repeater.yaml")
    assert workflow is not None
    assert len(problems) == spec.MAX_PROBLEMS + 1 and {p.severity for p in problems} == {"warning"}
    assert [(p.line, p.col) for p in problems[:2]] == [(13, 9), (13, 13)]
    assert (problems[-1].line, problems[-1].col) == (13, 9 + 4 * 100)
    assert problems[-1].message == "39900 more warnings from here on"


def test_past_a_hundred_warnings_the_rest_are_counted_in_one_last_line() -> None:
    step = "  - id: s{n}\n    title: S{n}\n    instructions: Think it over.\n"
    text = "title: Many\nsteps:\n" + "".join(step.format(n=n) for n in range(150))
    found = warnings(text)
    assert len(found) == spec.MAX_PROBLEMS + 1
    assert all("never say what to write" in m or "empty" in m for _, _, m in found[:-1]), found[0]
    line, _, last = found[-1]
    assert last == "50 more warnings from here on"
    assert line == 2 + 100 * 3 + 3  # the instructions of the 101st step
