"""Instructions as paragraphs: what joins, what keeps its line, and that no word is lost."""

from __future__ import annotations

import re
import textwrap

import yaml
from hypothesis import given
from hypothesis import strategies as st
from workflow_nvim.reflow import reflow


def lines(text: str) -> list[str]:
    return reflow(textwrap.dedent(text).strip("\n")).split("\n")


def test_a_hard_wrapped_paragraph_becomes_one_line() -> None:
    assert lines("""
        Decide who you are writing for before deciding what to say. A post
        for everyone helps no one in particular.
    """) == [
        "Decide who you are writing for before deciding what to say. A post for everyone helps no one in particular."
    ]


def test_blank_lines_keep_paragraphs_apart() -> None:
    assert lines("""
        one
        two

        three
        four


        five
    """) == ["one two", "", "three four", "", "", "five"]


def test_list_items_keep_their_lines_and_take_their_continuations() -> None:
    assert lines("""
        Check:
        - the first point,
          which goes on
        - the second
        * a star
        + a plus
        1. numbered
           and more
        2) also numbered
        After the list.
    """) == [
        "Check:",
        "- the first point, which goes on",
        "- the second",
        "* a star",
        "+ a plus",
        "1. numbered and more",
        "2) also numbered After the list.",  # a lazy continuation, as in Markdown
    ]


def test_headings_code_quotes_tables_and_rules_keep_their_lines() -> None:
    assert lines("""
        # Heading
        text under
        it
            indented code
            more code
        ```
        fenced
        code
        ```
        > quoted
        > lines
        | a | b |
        | - | - |
        Setext
        ---
        end
    """) == [
        "# Heading",
        "text under it",
        "    indented code",
        "    more code",
        "```",
        "fenced",
        "code",
        "```",
        "> quoted",
        "> lines",
        "| a | b |",
        "| - | - |",
        "Setext",
        "---",
        "end",
    ]


def test_a_line_that_is_only_a_reference_keeps_its_line() -> None:
    assert lines("""
        Plan the path to your message:
        ${message}
        Give each section a heading, about ${topic}
        and more.
    """) == ["Plan the path to your message:", "${message}", "Give each section a heading, about ${topic} and more."]


def test_already_flowed_text_is_unchanged() -> None:
    text = "One paragraph on one line.\n\n- an item\n- another\n\n    code"
    assert reflow(text) == text
    assert reflow(reflow(text)) == reflow(text)


def test_block_and_folded_scalars_both_work() -> None:
    block = yaml.safe_load("i: |\n  one two\n  three\n\n  - item\n  - item two\n")["i"]
    assert reflow(block) == "one two three\n\n- item\n- item two\n"
    # YAML has folded the paragraph already (and a blank line less); its more-indented lines stay.
    folded = yaml.safe_load("i: >\n  one two\n  three\n\n  - item\n\n  - item two\n\n      code\n  end\n")["i"]
    assert reflow(folded) == folded == "one two three\n- item\n- item two\n\n    code\nend\n"


TEXT = st.lists(
    st.one_of(
        st.sampled_from(["", "  ", "- ", "* ", "1. ", "# ", "> ", "```", "---", "${a}", "    ", "\t"]),
        st.text(alphabet=st.sampled_from("ab -*#>`${}|.1\t"), max_size=12),
    ).flatmap(lambda head: st.text(alphabet="xyz .-", max_size=20).map(lambda tail: head + tail)),
    max_size=15,
).map("\n".join)


ITEM = re.compile(r"\s*[-*](\s|$)")


@given(TEXT)
def test_words_are_never_lost_added_or_reordered(text: str) -> None:
    assert reflow(text).split() == text.split()


@given(TEXT)
def test_blank_lines_and_list_items_are_kept(text: str) -> None:
    out = reflow(text).split("\n")
    assert sum(1 for line in out if not line.strip()) == sum(1 for line in text.split("\n") if not line.strip())
    items = [line.rstrip() for line in text.split("\n") if ITEM.match(line)]
    starts = [line for line in out if ITEM.match(line)]
    for item in items:  # each item starts a line of its own (inside a fence too, where nothing joins)
        assert any(line.startswith(item) for line in starts), item


@given(TEXT)
def test_reflowing_twice_changes_nothing_more(text: str) -> None:
    assert reflow(reflow(text)) == reflow(text)
