"""Warnings: what loads, and runs, but will not read well. A warning never stops a workflow.

yamlcheck.py checks a file and finds its errors; then each rule in ``RULES`` looks at the
steps that were read, with the YAML nodes of their values (for where to say it), and calls
``warn`` for what it finds. Each warning is a Problem of severity "warning", located on its line
and column; the editor shows it as a diagnostic, ``validate`` prints it. A new rule (of a new key,
say) is a function decorated with ``@rule``; ``:help workflow-warnings`` lists them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from typing import Any, Callable, NamedTuple

from .reflow import reflow
from .spec import Step, StepTemplate, shown


class StepSource(NamedTuple):
    """A step as read, and where each of its keys and values is in the file."""

    step: Step
    entries: dict[str, tuple[Any, Any]]  # key -> (key node, value node): PyYAML nodes, with start_mark


# warn(node, message, offset): ``offset`` is a character of a text value's (None: the node's start).
Warn = Callable[[Any, str, "int | None"], None]
Rule = Callable[[Sequence[StepSource], Warn], None]

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    """Add ``fn`` to the rules every check runs, in the order they are defined."""
    RULES.append(fn)
    return fn


def run(steps: Sequence[StepSource], warn: Warn) -> None:
    for each in RULES:
        each(steps, warn)


def text_value(source: StepSource, key: str) -> Any | None:
    """The value node of ``key`` if it is text (a scalar), else None."""
    value = source.entries.get(key, (None, None))[1]
    return value if value is not None and hasattr(value, "style") else None


# -- a multi-line step pasted mid-line ----------------------------------------


def multi_line(steps: Sequence[StepSource]) -> set[str]:
    """The steps whose text has several lines, as far as the file tells: those whose template has
    two lines or more (the step's file starts as its template), or uses the text of such a step."""
    found: set[str] = set()
    for source in steps:
        template = source.step.template.strip("\n")
        if "\n" in template or (template and source.step.references() & found):
            found.add(source.step.id)
    return found


_ALONE = re.compile(r"\s*\$\{[a-z][a-z0-9_-]*\}\s*")


@rule
def references_mid_line(steps: Sequence[StepSource], warn: Warn) -> None:
    """``${id}`` of a multi-line step inside a line of text pastes all its lines mid-sentence."""
    several = multi_line(steps)
    if not several:
        return
    earlier: set[str] = set()
    for source in steps:
        usable = several & earlier
        for key in ("instructions", "template"):
            node = text_value(source, key)
            if node is None:
                continue
            value = node.value
            refs = [(offset, ref) for offset, ref in StepTemplate(value).references() if ref in usable]
            if not refs:  # (a later step's is an error already)
                continue
            # Which line each is on, and which lines are a reference alone: linear in the value, however
            # many references a line holds (a hostile file's line may hold tens of thousands).
            lines = value.split("\n")
            starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
            alone = {i for i, line in enumerate(lines) if _ALONE.fullmatch(line)}
            for offset, ref in refs:
                if bisect.bisect_right(starts, offset) - 1 in alone:
                    continue
                fix = "on a line of its own" + (" in a `|` block" if node.style != "|" else "")
                warn(
                    node,
                    f"'${{{ref}}}' pastes the lines of step '{ref}' (its template has several) "
                    f"into the middle of this line: put ${{{ref}}} {fix}",
                    offset,
                )
        earlier.add(source.step.id)


# -- a step that starts empty with no word of what to write -------------------

# Verbs that ask for text. The instructions of a step whose file starts empty should say what
# goes in it; with none of these words (in any form: "writes", "written", "listing") they
# likely do not.
WRITING_VERBS = (
    "add",
    "answer",
    "calculate",
    "choose",
    "cite",
    "collect",
    "compare",
    "compute",
    "copy",
    "count",
    "decide",
    "describe",
    "draft",
    "enter",
    "estimate",
    "explain",
    "fill",
    "gather",
    "give",
    "jot",
    "list",
    "name",
    "note",
    "outline",
    "paste",
    "pick",
    "plan",
    "propose",
    "put",
    "quote",
    "rank",
    "rate",
    "record",
    "reply",
    "rewrite",
    "say",
    "set",
    "sketch",
    "state",
    "suggest",
    "summarise",
    "summarize",
    "translate",
    "type",
    "write",
)
_IRREGULAR = ("chose", "chosen", "gave", "given", "said", "wrote", "written", "rewrote", "rewritten", "copied")


def _forms(verb: str) -> set[str]:
    """``verb`` and its regular forms: list, lists, listed, listing; note, noted, noting; jot, jotted."""
    stem = verb[:-1] if verb.endswith("e") else verb
    double = verb + verb[-1] if re.search(r"[^aeiou][aeiou][bdgklmnprt]\Z", verb) else verb
    return {verb, verb + "s", verb + "es", stem + "ed", stem + "ing", double + "ed", double + "ing"}


_WRITING_WORDS = frozenset({form for verb in WRITING_VERBS for form in _forms(verb)} | set(_IRREGULAR))


def says_what_to_write(instructions: str) -> bool:
    """Whether ``instructions`` use one of WRITING_VERBS, in any form."""
    return any(word in _WRITING_WORDS for word in re.findall(r"[a-z]+", instructions.lower()))


@rule
def nothing_to_write(steps: Sequence[StepSource], warn: Warn) -> None:
    """A step whose file starts empty, and whose instructions use none of WRITING_VERBS (a command
    step's text is its command's output: nothing to write)."""
    for source in steps:
        step = source.step
        node = text_value(source, "instructions")
        if node is None or step.template.strip() or not step.instructions.strip() or step.run:
            continue
        if says_what_to_write(step.instructions):
            continue
        warn(
            node,
            f"step '{shown(step.id)}' starts empty (no template) and its instructions never say what "
            "to write (such as 'write', 'list', 'describe'): say what goes in it, or give it a template",
            None,
        )


# -- instructions longer than a small window shows ----------------------------

# The fronts (lua/workflow/view.lua, autoload/workflow/view.vim) show the instructions above the
# text, wrapped to the window's width less 2, in at most MAX_INSTRUCTION_SHARE of its height less 2
# lines (the heading, the blank line after), at least 3; past that, "… N more lines". A small
# window here is 80 columns by 20 lines (a terminal of 24, less the command line, the status
# lines and Neovim's winbar): instructions that need more than SMALL_WINDOW_LINES lines are cut there.
MAX_INSTRUCTION_SHARE = 0.5
SMALL_WINDOW = (80, 20)
SMALL_WINDOW_WIDTH = SMALL_WINDOW[0] - 2
SMALL_WINDOW_LINES = max(3, int(SMALL_WINDOW[1] * MAX_INSTRUCTION_SHARE) - 2) + 1  # the fronts cut past room + 1


def wrapped_lines(text: str, width: int) -> int:
    """How many lines the fronts wrap ``text`` (one paragraph or list item a line) into at ``width``."""
    total = 0
    for line in text.split("\n"):
        lead = re.match(r"\s*(?:[-*+]\s+|\d+[.)]\s+)?", line)
        hang = min(len(lead.group() if lead else ""), width // 2)
        used, n = len(lead.group() if lead else ""), 1
        empty = True
        for word in line[used:].split():
            if not empty and used + 1 + len(word) > width:
                n += 1
                used = hang + len(word)
            else:
                used += len(word) + (0 if empty else 1)
            empty = False
        total += n
    return total


@rule
def instructions_cut_in_small_windows(steps: Sequence[StepSource], warn: Warn) -> None:
    """Instructions that a window of SMALL_WINDOW shows only in part."""
    for source in steps:
        node = text_value(source, "instructions")
        if node is None:
            continue
        n = wrapped_lines(reflow(source.step.instructions).rstrip("\n"), SMALL_WINDOW_WIDTH)
        if n > SMALL_WINDOW_LINES:
            columns, rows = SMALL_WINDOW
            warn(
                node,
                f"the instructions of step '{shown(source.step.id)}' take {n} lines at {SMALL_WINDOW_WIDTH} "
                f"columns: a {columns}x{rows} window shows {SMALL_WINDOW_LINES - 1}, then '… more lines'; "
                "shorten them, or move the detail into the template",
                None,
            )


# -- the text of an optional step, which may be skipped ------------------------


@rule
def references_optional(steps: Sequence[StepSource], warn: Warn) -> None:
    """``${id}`` of an optional step: when the person skips it (:WorkflowSkip), its text is empty."""
    optional = {source.step.id for source in steps if source.step.optional}
    if not optional:
        return
    for source in steps:
        for key in ("instructions", "template"):
            node = text_value(source, key)
            if node is None:
                continue
            for offset, ref in StepTemplate(node.value).references():
                if ref in optional and ref != source.step.id:
                    warn(
                        node,
                        f"step '{ref}' is optional: when it is skipped, '${{{ref}}}' is empty; "
                        "say so around it, or make the step not optional",
                        offset,
                    )
