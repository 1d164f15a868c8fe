"""The YAML side of workflow files: composing a file into nodes, within bounds, and checking them.

spec.py holds what a workflow is and reads the files; this module, which imports PyYAML
(~20 ms), is imported only when a file is validated: a file validated before is read from
spec.py's cache of validated workflows instead (see spec.load_workflow).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, ClassVar

import yaml

from . import lint
from .lint import StepSource
from .spec import (
    _MAP_TAG,
    _NULLS,
    _SEQ_TAG,
    _STR_TAG,
    CHECK_KEYS,
    DEFAULT_FILETYPE,
    FILETYPE_RE,
    MAX_NESTING,
    MAX_NODES,
    MAX_PROBLEMS,
    MAY_BE_EMPTY_KEYS,
    MODEL_RE,
    NAME_RE,
    NAME_RULE,
    REQUIRED_STEP_KEYS,
    REQUIRED_WORKFLOW_KEYS,
    STEP_KEYS,
    SUGGESTION_BUDGET,
    TEMPLATED_STEP_KEYS,
    WORKFLOW_KEYS,
    CheckSpec,
    Problem,
    Step,
    StepTemplate,
    Workflow,
    WorkflowInvalid,
    count,
    did_you_mean,
    env_name,
    shown,
)


class _OverLimit(yaml.composer.ComposerError):
    """A file over MAX_NESTING or MAX_NODES: a problem of the file, found while composing."""


class _StandardTags:
    """Every untagged node gets the standard tag of its kind: no implicit types, so ``NO`` stays text.

    What PyYAML's resolver does with no implicit resolvers, without its
    lookups: it is called for every node.
    """

    TAGS: ClassVar[dict[type, str]] = {
        yaml.ScalarNode: _STR_TAG,
        yaml.SequenceNode: _SEQ_TAG,
        yaml.MappingNode: _MAP_TAG,
    }

    def resolve(self, kind: type, value: object, implicit: object) -> str:
        return self.TAGS[kind]


class _BoundedComposer(_StandardTags, yaml.composer.Composer):
    """PyYAML's composer, in Python whichever parser feeds it, with a workflow file's limits.

    It stops at ``MAX_NESTING`` levels (it recurses once per level: long
    before Python's recursion limit) and at ``MAX_NODES`` values, so the work
    is bounded before the tree is built, not after; and it notes where each
    YAML alias is, for parse to refuse them. Aliases are refused, not
    followed: an alias is the only way a file can hold more values than it has
    text (a list of a thousand ``*s`` is a thousand steps, each with all the
    problems of ``&s``), and a value shared by several steps would have its
    ``${id}`` references checked again for each of them. A step reached twice
    is a duplicate anyway, and a workflow is read by people: the value
    written out is what they read.
    """

    def __init__(self, stream: str) -> None:
        """Each loader starts its parser and PyYAML's composer, then this (``stream`` is theirs)."""
        self.depth = 0
        self.nodes = 0
        self.aliases: list[tuple[Any, str]] = []  # (mark, anchor) of the first MAX_PROBLEMS + 1
        self.alias_count = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        if self.depth >= MAX_NESTING:
            problem = f"values nested more than {MAX_NESTING} levels deep (a workflow needs 4)"
            raise _OverLimit(None, None, problem, event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            self.alias_count += 1
            if len(self.aliases) <= MAX_PROBLEMS:
                self.aliases.append((event.start_mark, event.anchor or ""))
        else:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _OverLimit(None, None, f"more than {MAX_NODES:,} values: a workflow needs far fewer", None)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class PythonLoader(_BoundedComposer, yaml.SafeLoader):
    """PyYAML's pure-Python loader, composing nodes only, within the limits of _BoundedComposer."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        _BoundedComposer.__init__(self, stream)


LOADERS: dict[str, type[_BoundedComposer]] = {"python": PythonLoader}
"""The loaders ``parse`` can use, by name: ``python`` always, ``libyaml`` when PyYAML was built with it."""

if hasattr(yaml, "CSafeLoader"):

    class LibyamlLoader(_BoundedComposer, yaml.CSafeLoader):
        """libyaml's parser (in C, ten times faster) feeding the composer of _BoundedComposer.

        libyaml's own composer builds the whole tree before anything can be
        counted: a 1 MiB file of 350,000 values took two seconds.
        """

        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            _BoundedComposer.__init__(self, stream)

    LOADERS["libyaml"] = LibyamlLoader

LOADER = LOADERS.get("libyaml", PythonLoader)
"""The loader ``parse`` uses unless told otherwise: libyaml's when there is one."""


class _Checker:
    """Walks the composed node tree of one file and collects problems."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.display = str(path)
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.unlisted = 0  # problems found past MAX_PROBLEMS
        self.unlisted_warnings = 0  # and warnings
        self.first_unlisted_warning = (1, 1)
        self.first_unlisted = (1, 1)
        self.suggestions: dict[tuple[str, int], str] = {}
        self.budget = SUGGESTION_BUDGET
        self.lengths: dict[int, int] = {}

    @property
    def full(self) -> bool:
        """True once MAX_PROBLEMS problems are listed: later ones are only counted."""
        return len(self.problems) >= MAX_PROBLEMS

    def where(self, node: yaml.Node, offset: int | None = None) -> tuple[int, int, int]:
        """(line, col, end_col) of a node, or of the ``${...}`` at character ``offset`` of a text
        value; end_col (exclusive) is 0 when the thing does not end on its line, or is not found."""
        if offset is not None and isinstance(node, yaml.ScalarNode):
            line, col = self._locate(node, offset)
            source = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            reference = _REFERENCE_TEXT.match(source, col - 1)
            return line, col, reference.end() + 1 if reference else 0
        start, end = node.start_mark, node.end_mark
        one_line = isinstance(node, yaml.ScalarNode) and end is not None and end.line == start.line
        return start.line + 1, start.column + 1, end.column + 1 if one_line and end.column > start.column else 0

    def warn(self, node: yaml.Node, message: str, offset: int | None = None) -> None:
        """A warning (lint.py): said, never in the way of the workflow."""
        if len(self.warnings) < MAX_PROBLEMS:
            line, col, end = self.where(node, offset)
            self.warnings.append(Problem(self.display, line, col, message, "warning", end))
            return
        if not self.unlisted_warnings:  # only the first is located: the rest are only counted
            self.first_unlisted_warning = self.where(node, offset)[:2]
        self.unlisted_warnings += 1

    def all_warnings(self) -> list[Problem]:
        """The warnings found, the unlisted ones counted in a last line."""
        if not self.unlisted_warnings:
            return list(self.warnings)
        line, col = self.first_unlisted_warning
        more = count(self.unlisted_warnings, "more warning")
        return [*self.warnings, Problem(self.display, line, col, f"{more} from here on", "warning")]

    def at(self, node: yaml.Node, message: str, offset: int | None = None) -> None:
        if self.full and self.unlisted:
            self.unlisted += 1
            return
        line, col, end = self.where(node, offset)
        if self.full:
            self.unlisted, self.first_unlisted = 1, (line, col)
            return
        # A problem is one line (``file:line:col: message``), even if a quoted value holds a line break.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        self.problems.append(Problem(self.display, line, col, message, "error", end))

    def suggest(self, word: str, choices: tuple[str, ...]) -> str:
        """did_you_mean, once per word, and only while problems are listed and the budget lasts."""
        if self.full:
            return ""
        key = (word, id(choices))  # the choices are tuples that live as long as the check
        if key not in self.suggestions:
            if id(choices) not in self.lengths:
                self.lengths[id(choices)] = sum(len(c) for c in choices)
            # difflib's cost: a little per choice, and at worst the product of the lengths.
            cost = len(choices) + len(word) * self.lengths[id(choices)] // 100
            if cost > self.budget:
                return ""
            self.budget -= cost
            self.suggestions[key] = did_you_mean(word, list(choices))
        return self.suggestions[key]

    def invalid(self) -> WorkflowInvalid:
        """The error listing the problems found, the unlisted ones counted in a last line."""
        problems = list(self.problems)
        if self.unlisted:
            line, col = self.first_unlisted
            more = count(self.unlisted, "more problem")
            problems.append(Problem(self.display, line, col, f"{more} from here on: fix the ones above first"))
        return WorkflowInvalid(problems, len(self.problems) + self.unlisted)

    def model(self, entries: dict[str, tuple[yaml.Node, yaml.Node]]) -> str:
        """The ``model`` of ``entries`` ("" when there is none), if it is a model name."""
        value = (self.string(entries, "model") or "").strip()
        if value and not MODEL_RE.match(value):
            self.at(
                entries["model"][1], f"'model' must be an Ollama model name, such as qwen2.5:7b, not '{value[:60]}'"
            )
            return ""
        return value

    def _locate(self, node: yaml.ScalarNode, offset: int) -> tuple[int, int]:
        """File position of character ``offset`` of a scalar's value."""
        value = node.value
        row = value.count("\n", 0, offset)
        col_in_line = offset - (value.rfind("\n", 0, offset) + 1)
        start = node.start_mark
        if node.style == "|":
            # Literal block: value lines map one to one onto the lines after the header.
            first = start.line + 1
            indent = 0
            for text in itertools.islice(self.lines, first, None):
                if text.strip():
                    indent = len(text) - len(text.lstrip(" "))
                    break
            return first + row + 1, indent + col_in_line + 1
        # A scalar on one line (plain style is None from PyYAML, "" from libyaml): the
        # reference is at the same offset in the source, after the quote.
        if start.line == node.end_mark.line and node.style in (None, "", "'", '"'):
            quote = 1 if node.style else 0
            if node.style == "'":
                offset += value.count("'", 0, offset)  # each ' in the value is written ''
            col = start.column + quote + offset
            source = self.lines[start.line] if start.line < len(self.lines) else ""
            if source[col : col + 1] == "$":  # not shifted by an escape in a "..." string
                return start.line + 1, col + 1
        return start.line + 1, start.column + 1

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """The entries of a mapping node by key, reporting duplicates and bad keys."""
        if not isinstance(node, yaml.MappingNode):
            # Once the list is full a problem is only counted: a list of 350,000 values costs no messages.
            self.at(node, "" if self.full else f"{what} must be a mapping (key: value), got {_kind(node)}")
            return None
        if node.tag != _MAP_TAG:
            self.at(node, f"{what} has the YAML tag {node.tag}: tags are not allowed, remove it")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.at(key, f"keys in {what} must be plain words, got {_kind(key)}")
                continue
            if key.value in entries:
                first = entries[key.value][0].start_mark.line + 1
                self.at(key, f"duplicate key '{shown(key.value)}' (first given on line {first})")
                continue
            entries[key.value] = (key, value)
        return entries

    def known_keys(self, entries: dict[str, tuple[yaml.Node, yaml.Node]], allowed: tuple[str, ...], what: str) -> None:
        for name, (key, _) in entries.items():
            if name not in allowed:
                self.at(
                    key,
                    f"unknown key '{shown(name)}'{self.suggest(name, allowed)} (keys of {what}: {', '.join(allowed)})",
                )

    def required(
        self,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        keys: tuple[str, ...],
        node: yaml.Node,
        what: str,
    ) -> None:
        for name in keys:
            if name not in entries:
                self.at(node, f"{what} is missing the required key '{name}'")

    def string(self, entries: dict[str, tuple[yaml.Node, yaml.Node]], name: str) -> str | None:
        """The text value of key ``name``; empty only for MAY_BE_EMPTY_KEYS (else said, and None)."""
        empty_ok = name in MAY_BE_EMPTY_KEYS
        if name not in entries:
            return None
        node = entries[name][1]
        if not isinstance(node, yaml.ScalarNode):
            self.at(node, f"'{name}' must be text, got {_kind(node)}")
            return None
        if node.tag not in (_STR_TAG, "!"):
            self.at(node, f"'{name}' has the YAML tag {node.tag}: tags are not allowed, remove it")
            return None
        # A plain ~ or null is YAML for "nothing", as an empty value is (YAML 1.2 core schema).
        value = "" if node.style in (None, "") and node.value in _NULLS else node.value
        if not empty_ok and not value.strip():
            self.at(node, f"'{name}' must not be empty")
            return None
        return str(value)

    def boolean(self, entries: dict[str, tuple[yaml.Node, yaml.Node]], name: str, what: str) -> bool:
        """The true or false of key ``name`` (False when absent); anything else is said."""
        if name not in entries:
            return False
        node = entries[name][1]
        if isinstance(node, yaml.ScalarNode) and node.tag in (_STR_TAG, "!") and node.style in (None, ""):
            if node.value in _TRUE:
                return True
            if node.value in _FALSE:
                return False
        self.at(node, f"'{name}' of {what} must be true or false, got {_kind(node)}")
        return False

    def check_spec(self, node: yaml.Node, what: str) -> CheckSpec | None:
        """The ``check:`` of ``what``: None for ``check: false`` (or when it has problems)."""
        if isinstance(node, yaml.ScalarNode) and node.style in (None, "") and node.value in _FALSE:
            return None
        if isinstance(node, yaml.ScalarNode) and node.style in (None, "") and node.value in _TRUE:
            self.at(node, f"'check' of {what} is a mapping of checks (such as 'changed: true'), or false for none")
            return None
        entries = self.mapping(node, f"'check' of {what}")
        if entries is None:
            return None
        here = f"'check' of {what}"
        problems = len(self.problems)
        self.known_keys(entries, CHECK_KEYS, here)
        headings: list[str] = []
        if "headings" in entries:
            value = entries["headings"][1]
            items = value.value if isinstance(value, yaml.SequenceNode) else None
            if not items:
                self.at(value, f"'headings' of {here} must be a list of headings, such as [Summary, Risks]")
            for item in items or []:
                if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
                    self.at(item, f"each heading of {here} must be the text of a heading, got {_kind(item)}")
                else:
                    headings.append(item.value.strip().lstrip("#").strip())
        min_words = 0
        if "min_words" in entries:
            value = entries["min_words"][1]
            digits = value.value.strip() if isinstance(value, yaml.ScalarNode) else ""
            if not (digits.isdecimal() and digits.isascii() and len(digits) <= 7):
                self.at(value, f"'min_words' of {here} must be a whole number of words, got {_kind(value)}")
            else:
                min_words = int(digits)
        patterns = {}
        for key in ("match", "no_match"):
            pattern = self.string(entries, key)
            if pattern is None:
                continue
            problem = pattern_problem(pattern)
            if problem:
                self.at(entries[key][1], f"'{key}' of {here} is not a valid regular expression: {problem}")
            else:
                patterns[key] = pattern
        command = self.string(entries, "command") or ""
        if command:
            self.commands_use_files(entries["command"][1], f"'command' of {here}")
        spec = CheckSpec(
            changed=self.boolean(entries, "changed", here),
            headings=tuple(headings),
            min_words=min_words,
            match=patterns.get("match", ""),
            no_match=patterns.get("no_match", ""),
            command=command,
        )
        if not spec.total() and not self.full and len(self.problems) == problems:  # not when its keys are wrong
            self.at(node, f"{here} checks nothing: give it a check such as 'changed: true', or write 'check: false'")
        return spec

    def commands_use_files(self, node: yaml.Node, where: str) -> None:
        """``${id}`` in a command is an error: text pasted into a shell line is code."""
        for offset, ref in StepTemplate(node.value).references():
            used = f"'${{{ref}}}'" if ref else "'${'"
            name = env_name(ref) if ref else "WORKFLOW_STEP_<ID>"
            self.at(node, f'{where} uses {used}: commands get earlier steps as files: use "${name}"', offset)


_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


def pattern_problem(pattern: str) -> str:
    """What is wrong with the regular expression ``pattern`` ("" when nothing is), as checks.py compiles it."""
    from . import checks

    try:
        checks.compile_pattern(pattern)
    except checks.BadPattern as e:
        return str(e)
    return ""


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.value == "":
        return "nothing"
    return f"'{node.value}'" if len(node.value) < 40 and "\n" not in node.value else "text"


def parse(
    path: Path,
    data: bytes,
    text: str,
    name: str | None = None,
    loader: type[_BoundedComposer] | None = None,
    *,
    named_by_file: bool = True,
) -> Workflow:
    """Validate the text of a workflow file; raise WorkflowInvalid listing every error.

    The workflow's name is the file's stem unless ``name`` is given (a run's
    ``workflow.yaml`` snapshot is named after its run). ``loader`` is one of
    ``LOADERS`` (default ``LOADER``). ``named_by_file=False``: text of no file
    yet (a buffer without a name), whose ``name:`` is compared with nothing.
    """
    return _parse(path, data, text, name, loader, named_by_file, [])


def check(
    path: Path, data: bytes, text: str, name: str | None = None, *, named_by_file: bool = True
) -> tuple[Workflow | None, list[Problem]]:
    """As parse, without raising: the workflow (None when it has errors), and its errors and
    warnings (lint.py), in the order they were found."""
    warnings: list[Problem] = []
    try:
        workflow = _parse(path, data, text, name, None, named_by_file, warnings)
    except WorkflowInvalid as e:
        return None, [*e.problems, *warnings]
    return workflow, warnings


def _parse(
    path: Path,
    data: bytes,
    text: str,
    name: str | None,
    loader: type[_BoundedComposer] | None,
    named_by_file: bool,
    warnings: list[Problem],
) -> Workflow:
    display = str(path)
    loader = loader or LOADER
    composer = None
    try:
        composer = loader(text)  # PyYAML's own reader checks the characters here
        root = composer.get_single_node()
    except _OverLimit as e:
        raise WorkflowInvalid([Problem(display, *_position(e.problem_mark), str(e.problem))]) from e
    except yaml.MarkedYAMLError as e:
        raise WorkflowInvalid([Problem(display, *syntax_error(e, text))]) from e
    except yaml.reader.ReaderError as e:  # a character YAML does not allow, such as NUL
        offset = e.position
        if isinstance(composer, getattr(yaml, "CSafeLoader", ())):  # libyaml counts UTF-8 bytes
            offset = len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore"))
        line, col = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
        what = (
            f"unacceptable character #x{e.character:04x}: {e.reason}"
            if isinstance(e.character, int)
            else shown(str(e), 200)
        )
        raise WorkflowInvalid([Problem(display, line, col, f"YAML error: {what}")]) from e
    except yaml.YAMLError as e:
        raise WorkflowInvalid([Problem(display, 1, 1, f"YAML error: {shown(str(e), 200)}")]) from e
    finally:
        if composer is not None:
            composer.dispose()  # type: ignore[attr-defined]
    if composer.aliases:
        raise _aliases_refused(display, composer)
    if root is None:
        raise WorkflowInvalid([Problem(display, 1, 1, "file is empty: a workflow needs a title and steps")])

    check = _Checker(path, text)
    top = check.mapping(root, "a workflow")
    if top is None:
        raise check.invalid()
    check.known_keys(top, WORKFLOW_KEYS, "the workflow")
    check.required(top, REQUIRED_WORKFLOW_KEYS, root, "the workflow")

    stem = name or path.stem
    name = check.string(top, "name")
    if name is not None:
        if not NAME_RE.match(name):
            check.at(top["name"][1], f"name '{shown(name)}' must be {NAME_RULE}")
        elif name != stem and named_by_file:
            check.at(
                top["name"][1],
                f"name '{name}' differs from the file name '{path.name}': "
                f"rename the file to {name}{path.suffix} or the name to {stem}",
            )
    elif named_by_file and not NAME_RE.match(stem):
        check.at(root, f"file name '{shown(path.name)}' is not a valid workflow name: use {NAME_RULE}")
    title = check.string(top, "title")
    description = check.string(top, "description") or ""
    model = check.model(top)
    workflow_check = check.check_spec(top["check"][1], "the workflow") if "check" in top else None

    steps: list[Step] = []
    if "steps" in top:
        steps = _steps(check, top["steps"][1], workflow_check)
    warnings += check.all_warnings()

    if check.problems:
        raise check.invalid()
    return Workflow(
        name=name or (stem if named_by_file else ""),
        title=title or "",
        description=description.strip(),
        model=model,
        steps=tuple(steps),
        path=path,
        source=data,
        check=workflow_check,
    )


def syntax_error(e: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, col, message) of a YAML syntax error: PyYAML's words, then, for the common mistakes,
    what to do, on the line where the problem starts (an unclosed quote: where it opens)."""
    what = shown(e.problem or e.context or "invalid YAML", 200)
    line, col = _position(e.problem_mark or e.context_mark)
    lines = text.split("\n")
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    before = source[: col - 1]
    hint = ""
    if e.context == "while scanning a quoted scalar" and e.context_mark is not None:
        line, col = _position(e.context_mark)
        quote = lines[line - 1][col - 1 : col] if line <= len(lines) else '"'
        what = f"{what} {e.context}"
        hint = f"the quote ({quote}) opened here is never closed: close it at the end of the value, or use `|`"
    elif "\t" in source[col - 1 : col] or ("\t" in before and not before.strip()):
        if not source[: source.index("\t")].strip():
            col = source.index("\t") + 1
            hint = "YAML indents with spaces only: replace the tab with spaces"
        else:
            hint = "replace the tab with spaces, or quote the value"
    elif (e.problem or "").startswith("mapping values are not allowed"):
        value = _PLAIN_VALUE.match(before)
        if value:  # key: text: more
            col = value.end("key") + 1
            col += len(source) - col + 1 - len(source[col - 1 :].lstrip())
            hint = "a ': ' in a value starts a key in YAML: quote the value or use `|`"
        else:  # a line indented under a key: value, read as more of that value
            col = len(source) - len(source.lstrip()) + 1
            hint = (
                "this line is indented more than the key above it, so it continues that key's value: "
                "line it up with the key, or if it is text with ': ' in it, quote the value or use `|`"
            )
    elif (opened := _quote_closed_on(line, text)) is not None:
        line, col, quote = opened
        hint = (
            f"the quote ({quote}) opened here closes only on line {_position(e.problem_mark)[0]}: "
            "close it at the end of its value, or use `|`"
        )
    elif _QUOTED_THEN_MORE.search(before):
        hint = "a quoted value ends at its closing quote: quote the whole value, or use `|`"
    elif any(line > n + 1 and re.match(r"steps:\s*(#.*)?$", lines[n]) for n in range(min(line, len(lines)))):
        first = next((m for m in map(_STEP_START.match, lines) if m), None)
        at = f" (column {first.end('indent') + 1}, as the first)" if first else ""
        hint = f"each step starts with `- ` at the same indent{at}, and its keys line up under its first key"
    return line, col, f"YAML syntax error: {what}" + (f"; {hint}" if hint else "")


def _quote_closed_on(line: int, text: str) -> tuple[int, int, str] | None:
    """(line, col, quote) of a quoted value that opens on an earlier line and closes on ``line``:
    a quote left open, closed by the next one (YAML allows such values, workflows hardly need one)."""
    scanner = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    found = None
    try:
        while True:
            token = scanner.get_token()
            if token is None or token.start_mark.line >= line:
                break
            quoted = isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
            if quoted and token.end_mark.line + 1 == line and token.start_mark.line + 1 < line:
                found = (token.start_mark.line + 1, token.start_mark.column + 1, token.style)
    except yaml.YAMLError:
        pass
    finally:
        scanner.dispose()
    return found


_REFERENCE_TEXT = re.compile(r"\$\{(?:[a-z][a-z0-9_-]*\})?")  # as written where a problem is: ${id} or a bare ${
# A key (not starting with "-": one way to match, so linear however long the line) and a plain value.
_PLAIN_VALUE = re.compile(r"\s*(?:-\s+)*(?P<key>[^\s#'\"{\[-][^:#]*:)\s+[^\s'\"|>]")
_QUOTED_THEN_MORE = re.compile(r""":\s+("[^"]*"|'[^']*')\s+$""")
_STEP_START = re.compile(r"(?P<indent>\s*)-\s+\S")


def _position(mark: Any) -> tuple[int, int]:
    """1-based (line, column) of a PyYAML or libyaml mark."""
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def _aliases_refused(display: str, composer: _BoundedComposer) -> WorkflowInvalid:
    """The problems of a file with YAML aliases: where each is (see _BoundedComposer for why)."""
    problems = [
        Problem(
            display,
            *_position(mark),
            f"alias '*{shown(anchor)}': workflows do not allow YAML aliases, write the value out",
        )
        for mark, anchor in composer.aliases[:MAX_PROBLEMS]
    ]
    more = composer.alias_count - len(problems)
    if more:
        mark = composer.aliases[MAX_PROBLEMS][0]
        n = f"{more} more {'alias' if more == 1 else 'aliases'}"
        problems.append(Problem(display, *_position(mark), f"{n} from here on: fix the ones above first"))
    return WorkflowInvalid(problems, composer.alias_count)


def _steps(check: _Checker, node: yaml.Node, workflow_check: CheckSpec | None = None) -> list[Step]:
    if not isinstance(node, yaml.SequenceNode):
        check.at(node, f"'steps' must be a list of steps (each starting with '- id:'), got {_kind(node)}")
        return []
    if node.tag != _SEQ_TAG:
        check.at(node, f"'steps' has the YAML tag {node.tag}: tags are not allowed, remove it")
    if not node.value:
        check.at(node, "'steps' is empty: a workflow needs at least one step")
        return []
    steps: list[Step] = []
    sources: list[StepSource] = []
    seen: dict[str, int] = {}
    pending_refs: list[tuple[Step, yaml.ScalarNode, str]] = []
    for item in node.value:
        what = f"step {len(steps) + 1}"
        entries = check.mapping(item, what)
        if entries is None:
            continue
        check.known_keys(entries, STEP_KEYS, what)
        check.required(entries, REQUIRED_STEP_KEYS, item, what)
        sid = check.string(entries, "id")
        if sid is not None:
            id_node = entries["id"][1]
            if not NAME_RE.match(sid):
                check.at(id_node, f"step id '{shown(sid)}' must be {NAME_RULE}")
            elif sid in seen:
                check.at(id_node, f"duplicate step id '{sid}' (also step {seen[sid]})")
            else:
                seen[sid] = len(steps) + 1
            what = f"step '{sid}'"
        filetype = check.string(entries, "filetype") or DEFAULT_FILETYPE
        if "filetype" in entries and not FILETYPE_RE.match(filetype):
            check.at(entries["filetype"][1], f"filetype '{shown(filetype)}' is not a Vim filetype name")
        run = check.string(entries, "run") or ""
        if run:
            check.commands_use_files(entries["run"][1], f"'run' of {what}")
        autorun = check.boolean(entries, "autorun", what)
        if autorun and not run:
            check.at(entries["autorun"][1], f"'autorun' of {what} needs a command to run: give the step 'run:'")
        step_check = check.check_spec(entries["check"][1], what) if "check" in entries else workflow_check
        step = Step(
            index=len(steps) + 1,
            id=sid or f"step{len(steps) + 1}",
            title=check.string(entries, "title") or "",
            instructions=check.string(entries, "instructions") or "",
            template=check.string(entries, "template") or "",
            filetype=filetype,
            annotate=check.string(entries, "annotate") or "",
            model=check.model(entries),
            check=step_check,
            run=run,
            autorun=autorun,
            optional=check.boolean(entries, "optional", what),
        )
        for key in TEMPLATED_STEP_KEYS:
            value = entries[key][1] if key in entries else None
            if isinstance(value, yaml.ScalarNode):
                pending_refs.append((step, value, key))
        steps.append(step)
        sources.append(StepSource(step, entries))

    order = {s.id: s.index for s in steps}
    ids = tuple(order)
    names: dict[str, Step] = {}
    for source in sources:
        step = source.step
        name = env_name(step.id)
        if name in names and names[name].id != step.id and "id" in source.entries:
            other = names[name]
            check.at(
                source.entries["id"][1],
                f"step ids '{other.id}' and '{step.id}' both give commands {name}: rename one",
            )
        names.setdefault(name, step)
    for step, value_node, key in pending_refs:
        where = f"'{key}' of step '{shown(step.id)}'"
        for offset, ref in StepTemplate(value_node.value).references():
            if ref is None:
                check.at(
                    value_node,
                    f"'${{' in {where} must be followed by a step id and '}}' (write '$${{' for a literal '${{')",
                    offset,
                )
            elif ref not in order:
                check.at(
                    value_node,
                    f"{where} refers to unknown step '{shown(ref)}'"
                    f"{check.suggest(ref, ids)} (write '$${{' for a literal '${{')",
                    offset,
                )
            elif order[ref] >= step.index:
                later = "itself" if ref == step.id else f"a later step (step {order[ref]})"
                check.at(
                    value_node,
                    f"{where} refers to '{ref}', which is {later}: a step can only use the text of earlier steps",
                    offset,
                )
    lint.run(sources, check.warn)
    return steps
