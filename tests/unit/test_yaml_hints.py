"""YAML syntax errors that say what to do: PyYAML's words, then a hint, on the line where the problem
starts, with either parser (libyaml's and PyYAML's own say different words; the hints are the same)."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_nvim.spec import WorkflowInvalid
from workflow_nvim.yamlcheck import LOADERS, parse

HEAD = "title: Trip\nsteps:\n  - id: where\n    title: Where\n"


def syntax_error(text: str, loader: str) -> tuple[int, int, str]:
    with pytest.raises(WorkflowInvalid) as info:
        parse(Path("trip.yaml"), text.encode(), text, loader=LOADERS[loader])
    [problem] = info.value.problems
    assert problem.message.startswith("YAML syntax error: ")
    return problem.line, problem.col, problem.message


@pytest.fixture(params=sorted(LOADERS))
def loader(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_colon_in_a_plain_value_says_quote_it_or_use_a_block(loader: str) -> None:
    line, col, message = syntax_error(HEAD + "    instructions: Note: say where\n", loader)
    assert (line, col) == (5, 19)  # where the value starts
    assert message.endswith("; a ': ' in a value starts a key in YAML: quote the value or use `|`")
    # In a list item's first key too.
    line, col, message = syntax_error("title: Trip\nsteps:\n  - id: where\n    title: To: there\n", loader)
    assert (line, col) == (4, 12) and message.endswith("quote the value or use `|`")


def test_a_line_indented_under_a_value_says_line_it_up_or_quote(loader: str) -> None:
    line, col, message = syntax_error("title: Trip\nsteps:\n  - id: where\n     title: Where\n", loader)
    assert (line, col) == (4, 6)
    assert message.endswith(
        "; this line is indented more than the key above it, so it continues that key's value: "
        "line it up with the key, or if it is text with ': ' in it, quote the value or use `|`"
    )


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        (HEAD + "\tinstructions: Go\n", 5, 1),
        ("title: Trip\nsteps:\n  - id: where\n  \t  title: Where\n", 4, 3),
        (HEAD + "    instructions: |\n      Go\n\tthere\n", 7, 1),
    ],
    ids=["line-start", "after-spaces", "in-a-block"],
)
def test_a_tab_says_yaml_indents_with_spaces(loader: str, text: str, line: int, col: int) -> None:
    assert syntax_error(text, loader)[:2] == (line, col)
    assert syntax_error(text, loader)[2].endswith("; YAML indents with spaces only: replace the tab with spaces")


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        (HEAD + "    instructions: Go\n - id: back\n   title: Back\n   instructions: Come\n", 6, 2),
        (HEAD + "    instructions: Go\n   - id: back\n     title: Back\n", 6, 4),
        (HEAD + "   instructions: Go\n", 5, 4),
        (HEAD + "    instructions: Go\n  id: back\n", 6, 3),
    ],
    ids=["step-less-indented", "step-more-indented", "key-less-indented", "step-without-dash"],
)
def test_a_wrong_indent_under_steps_says_each_step_starts_with_a_dash(
    loader: str, text: str, line: int, col: int
) -> None:
    found = syntax_error(text, loader)
    assert found[:2] == (line, col)
    assert found[2].endswith(
        "; each step starts with `- ` at the same indent (column 3, as the first), "
        "and its keys line up under its first key"
    )


@pytest.mark.parametrize(
    ("text", "line", "col", "quote"),
    [
        ('title: "Trip\nsteps:\n  - id: where\n    title: Where\n', 1, 8, '"'),
        (HEAD.replace("title: Where", "title: 'Where") + "    instructions: Go\n", 4, 12, "'"),
    ],
    ids=["double", "single"],
)
def test_an_unclosed_quote_is_reported_where_it_opens(loader: str, text: str, line: int, col: int, quote: str) -> None:
    found = syntax_error(text, loader)
    assert found[:2] == (line, col)
    assert found[2] == (
        "YAML syntax error: found unexpected end of stream while scanning a quoted scalar; "
        f"the quote ({quote}) opened here is never closed: close it at the end of the value, or use `|`"
    )


def test_a_quote_closed_only_by_a_later_one_is_reported_where_it_opens(loader: str) -> None:
    text = 'title: "Trip\nsteps:\n  - id: where\n    title: "Where"\n    instructions: Go\n'
    line, col, message = syntax_error(text, loader)
    assert (line, col) == (1, 8)
    assert message.endswith(
        '; the quote (") opened here closes only on line 4: close it at the end of its value, or use `|`'
    )


def test_text_after_a_closing_quote_says_quote_the_whole_value(loader: str) -> None:
    line, col, message = syntax_error(HEAD.replace("title: Where", 'title: "Where" to'), loader)
    assert (line, col) == (4, 20)
    assert message.endswith("; a quoted value ends at its closing quote: quote the whole value, or use `|`")


def test_other_syntax_errors_keep_pyyamls_words_alone(loader: str) -> None:
    line, col, message = syntax_error("title: T\n---\ntitle: U\n", loader)
    assert (line, col) == (2, 1) and ";" not in message
