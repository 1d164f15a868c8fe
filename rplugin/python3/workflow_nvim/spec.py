"""Workflow files: strict loading and validation.

A workflow is a YAML file holding an ordered list of steps. Loading is
deliberately strict, because a workflow is read by people who follow it: every
problem is reported with its file, line and column (1-based) and a hint, and
all problems of a file are reported at once.

The YAML is composed into nodes without implicit type resolution, so every
scalar stays the string the author wrote (``title: NO`` is ``"NO"``, not
``False``), and the node marks give exact positions. Nothing is ever
constructed from tags, so loading is always safe.

Hostile files (a cloned repository's ``.workflows/``) cost bounded work: only
regular files are read, and at most ``MAX_BYTES`` of them; YAML aliases are
refused, so the node tree is never larger than the file; nesting and the
number of values are limited; at most ``MAX_PROBLEMS`` problems are listed;
and "did you mean" hints stop after ``SUGGESTION_BUDGET`` comparisons. Filling a template is refused when
the text would exceed ``MAX_RENDERED`` characters.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import WorkflowError

MAX_BYTES = 1024 * 1024
"""Workflow files larger than this are rejected unread."""

MAX_PROBLEMS = 100
"""Problems listed per file; the rest are counted in one last line."""

MAX_NESTING = 50
"""How deep values may be nested (a valid workflow needs 4 levels)."""

MAX_NODES = 50_000
"""Values (keys, texts, lists, mappings) a file may hold: a 500-step workflow has 5,000."""

SUGGESTION_BUDGET = 20_000
"""Work for "did you mean" hints per file: names compared, a long name with a long name counting more."""

MAX_RENDERED = 1024 * 1024
"""Characters a filled-in template or instructions may have."""

NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")
NAME_RULE = "lowercase letters, digits, '-' or '_', starting with a letter"
FILETYPE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
# An Ollama model name ([host/][namespace/]model[:tag][@digest]): it is shown in messages, so only a name.
MODEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@-]{0,254}\Z")

WORKFLOW_KEYS = ("name", "title", "description", "model", "steps")
STEP_KEYS = ("id", "title", "instructions", "template", "filetype", "annotate", "model")
REQUIRED_WORKFLOW_KEYS = ("title", "steps")
REQUIRED_STEP_KEYS = ("id", "title", "instructions")
TEMPLATED_STEP_KEYS = ("instructions", "template")

DEFAULT_FILETYPE = "markdown"

# Step files get an extension that other tools recognise; anything not listed
# is stored as .txt (the buffer still gets the step's filetype).
EXTENSIONS = {
    "markdown": ".md",
    "text": ".txt",
    "python": ".py",
    "lua": ".lua",
    "vim": ".vim",
    "sh": ".sh",
    "bash": ".sh",
    "zsh": ".zsh",
    "yaml": ".yaml",
    "json": ".json",
    "toml": ".toml",
    "html": ".html",
    "css": ".css",
    "javascript": ".js",
    "typescript": ".ts",
    "rust": ".rs",
    "go": ".go",
    "c": ".c",
    "cpp": ".cpp",
    "java": ".java",
    "sql": ".sql",
    "rst": ".rst",
    "tex": ".tex",
    "gitcommit": ".txt",
    "diff": ".diff",
    "csv": ".csv",
    "xml": ".xml",
    "nix": ".nix",
    "make": ".mk",
}

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_NULLS = ("~", "null", "Null", "NULL")


@dataclass(frozen=True)
class Problem:
    """One validation problem, located in a file (line and col are 1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class WorkflowInvalid(WorkflowError):
    """A workflow file with one or more problems.

    ``problems`` lists at most ``MAX_PROBLEMS`` of them, then one line saying
    how many more there are; ``total`` counts them all.
    """

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = problems
        self.total = len(problems) if total is None else total
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        super().__init__(f"{problems[0]}{more}")


class TooLarge(WorkflowError):
    """A template or instructions that would be longer than ``MAX_RENDERED`` once filled in."""


# Only the braced form: ``$HOME`` or ``$5`` in a template stay as they are.
_REFERENCE_PATTERN = r"""
    \$(?:
      (?P<escaped>\$)(?=\{)                 |
      \{(?P<braced>[a-z][a-z0-9_-]*)\}      |
      (?P<named>(?!))                       |
      (?P<invalid>\{)
    )
    """


class StepTemplate(string.Template):
    """``${step_id}`` is replaced by the text of that step; ``$${`` is a literal ``${``.

    Only the braced form is recognised, so ``$HOME`` or ``$5`` in a template
    stay as they are.
    """

    delimiter = "$"
    flags = re.RegexFlag(0)  # string.Template adds re.VERBOSE; the default IGNORECASE would admit upper-case ids
    pattern = _REFERENCE_PATTERN  # type: ignore[assignment]  # string.Template compiles it

    def references(self) -> Iterator[tuple[int, str | None]]:
        """Yield (offset, step id) for each reference; step id None for a malformed one."""
        for m in self.pattern.finditer(self.template):  # type: ignore[attr-defined]
            if m.group("braced") is not None:
                yield m.start(), m.group("braced")
            elif m.group("invalid") is not None:
                yield m.start(), None


def count(n: int, noun: str) -> str:
    """'1 step', '3 steps': for messages."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class Step:
    """One step of a workflow."""

    index: int  # 1-based
    id: str
    title: str
    instructions: str
    template: str = ""
    filetype: str = DEFAULT_FILETYPE
    annotate: str = ""
    model: str = ""  # the Ollama model for this step's annotations ("" = the workflow's)

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.filetype, ".txt")

    def references(self) -> frozenset[str]:
        """The ids of the steps whose text this step's template and instructions use."""
        return frozenset(
            ref
            for text in (self.template, self.instructions)
            for _, ref in StepTemplate(text).references()
            if ref is not None
        )


@dataclass(frozen=True)
class Workflow:
    """A validated workflow."""

    name: str
    title: str
    description: str
    model: str
    steps: tuple[Step, ...]
    path: Path
    source: bytes = field(repr=False)

    def step(self, key: str | int) -> Step:
        """The step with this id, or this 1-based index (as int or digit string)."""
        if isinstance(key, int) or key.isdecimal():
            # Python refuses int() of a few thousand digits; no step number is that long anyway.
            digits = str(key).lstrip("0")
            i = key if isinstance(key, int) else int(digits or "0") if len(digits) <= 18 else None
            if i is not None and 1 <= i <= len(self.steps):
                return self.steps[i - 1]
            number = shown(str(i) if i is not None else digits, 20)
            raise WorkflowError(f"{self.name} has steps 1 to {len(self.steps)}, not {number}")
        for s in self.steps:
            if s.id == key:
                return s
        raise WorkflowError(f"{self.name} has no step '{shown(key)}'{did_you_mean(key, [s.id for s in self.steps])}")

    def filename(self, step: Step) -> str:
        """The step's file name in a run directory, e.g. ``01-topic.md``."""
        width = max(2, len(str(len(self.steps))))
        return f"{step.index:0{width}d}-{step.id}{step.extension}"


def did_you_mean(word: str, choices: list[str]) -> str:
    """', did you mean 'x'?' for the choice closest to ``word``, or ''."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else ""


def shown(text: str, limit: int = 70) -> str:
    """``text`` as a one-line message quotes it: line breaks written out, at most ``limit`` characters."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        self.unlisted = 0  # problems found past MAX_PROBLEMS
        self.first_unlisted = (1, 1)
        self.suggestions: dict[tuple[str, int], str] = {}
        self.budget = SUGGESTION_BUDGET
        self.lengths: dict[int, int] = {}

    @property
    def full(self) -> bool:
        """True once MAX_PROBLEMS problems are listed: later ones are only counted."""
        return len(self.problems) >= MAX_PROBLEMS

    def at(self, node: yaml.Node, message: str, offset: int | None = None) -> None:
        if self.full and self.unlisted:
            self.unlisted += 1
            return
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if offset is not None and isinstance(node, yaml.ScalarNode):
            line, col = self._locate(node, offset)
        if self.full:
            self.unlisted, self.first_unlisted = 1, (line, col)
            return
        # A problem is one line (``file:line:col: message``), even if a quoted value holds a line break.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        self.problems.append(Problem(self.display, line, col, message))

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
        value = (self.string(entries, "model", empty_ok=True) or "").strip()
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

    def string(
        self, entries: dict[str, tuple[yaml.Node, yaml.Node]], name: str, *, empty_ok: bool = False
    ) -> str | None:
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


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.value == "":
        return "nothing"
    return f"'{node.value}'" if len(node.value) < 40 and "\n" not in node.value else "text"


class NotRegularFile(OSError):
    """A path that names a FIFO, a device, a directory or a socket, not a regular file."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise NotRegularFile(errno.EINVAL, f"it is {kind}, not a regular file", str(path))


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (a symlink to one is followed), at most ``limit + 1`` of them.

    Anything else raises NotRegularFile before a byte is read: a FIFO would
    block forever, a symlink to ``/dev/zero`` never ends (and says its size
    is 0), and merely opening some devices does something. Reading one byte
    past ``limit`` tells a file that is too long without reading it all.
    """
    _regular(path, os.stat(path).st_mode)
    # O_NONBLOCK: should a FIFO take the file's place after the stat, opening it does not wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        _regular(path, os.fstat(fd).st_mode)  # what was opened, whatever the path names by now
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path) -> tuple[bytes, str]:
    """The bytes and decoded text of a workflow file, or WorkflowInvalid.

    Only a regular file (or a symlink to one) is read, and no more than
    ``MAX_BYTES`` of it.
    """
    display = str(path)
    too_big = "workflow files are limited to 1 MiB"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise WorkflowInvalid([Problem(display, 1, 1, f"file is {size} bytes; {too_big}")])
        data = read_regular(path, MAX_BYTES)
    except OSError as e:
        raise WorkflowInvalid([Problem(display, 1, 1, f"cannot read file: {e.strerror}")]) from e
    if len(data) > MAX_BYTES:  # it grew since the stat
        raise WorkflowInvalid([Problem(display, 1, 1, f"file is over {MAX_BYTES} bytes; {too_big}")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise WorkflowInvalid(
            [
                Problem(
                    display,
                    line,
                    col,
                    f"byte 0x{data[e.start]:02x} is not UTF-8: save the file as UTF-8",
                )
            ]
        ) from e
    return data, text


def parse(
    path: Path, data: bytes, text: str, name: str | None = None, loader: type[_BoundedComposer] | None = None
) -> Workflow:
    """Validate the text of a workflow file; raise WorkflowInvalid listing every problem.

    The workflow's name is the file's stem unless ``name`` is given (a run's
    ``workflow.yaml`` snapshot is named after its run). ``loader`` is one of
    ``LOADERS`` (default ``LOADER``).
    """
    display = str(path)
    loader = loader or LOADER
    composer = None
    try:
        composer = loader(text)  # PyYAML's own reader checks the characters here
        root = composer.get_single_node()
    except _OverLimit as e:
        raise WorkflowInvalid([Problem(display, *_position(e.problem_mark), str(e.problem))]) from e
    except yaml.MarkedYAMLError as e:
        what = shown(e.problem or e.context or "invalid YAML", 200)
        raise WorkflowInvalid(
            [Problem(display, *_position(e.problem_mark or e.context_mark), f"YAML syntax error: {what}")]
        ) from e
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
        elif name != stem:
            check.at(
                top["name"][1],
                f"name '{name}' differs from the file name '{path.name}': "
                f"rename the file to {name}{path.suffix} or the name to {stem}",
            )
    elif not NAME_RE.match(stem):
        check.at(root, f"file name '{shown(path.name)}' is not a valid workflow name: use {NAME_RULE}")
    title = check.string(top, "title")
    description = check.string(top, "description", empty_ok=True) or ""
    model = check.model(top)

    steps: list[Step] = []
    if "steps" in top:
        steps = _steps(check, top["steps"][1])

    if check.problems:
        raise check.invalid()
    return Workflow(
        name=name or stem,
        title=title or "",
        description=description.strip(),
        model=model,
        steps=tuple(steps),
        path=path,
        source=data,
    )


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


def _steps(check: _Checker, node: yaml.Node) -> list[Step]:
    if not isinstance(node, yaml.SequenceNode):
        check.at(node, f"'steps' must be a list of steps (each starting with '- id:'), got {_kind(node)}")
        return []
    if node.tag != _SEQ_TAG:
        check.at(node, f"'steps' has the YAML tag {node.tag}: tags are not allowed, remove it")
    if not node.value:
        check.at(node, "'steps' is empty: a workflow needs at least one step")
        return []
    steps: list[Step] = []
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
        step = Step(
            index=len(steps) + 1,
            id=sid or f"step{len(steps) + 1}",
            title=check.string(entries, "title") or "",
            instructions=check.string(entries, "instructions") or "",
            template=check.string(entries, "template", empty_ok=True) or "",
            filetype=filetype,
            annotate=check.string(entries, "annotate", empty_ok=True) or "",
            model=check.model(entries),
        )
        for key in TEMPLATED_STEP_KEYS:
            value = entries[key][1] if key in entries else None
            if isinstance(value, yaml.ScalarNode):
                pending_refs.append((step, value, key))
        steps.append(step)

    order = {s.id: s.index for s in steps}
    ids = tuple(order)
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
    return steps


def load_workflow(path: Path, name: str | None = None, loader: type | None = None) -> Workflow:
    """Read and validate a workflow file; raise WorkflowInvalid with every problem."""
    data, text = read_text(path)
    return parse(path, data, text, name, loader)


def render(text: str, texts: dict[str, str], what: str = "the text") -> str:
    """Fill ``${step_id}`` references in ``text`` from earlier steps' texts.

    The length is added up from the lengths of the parts before anything is
    built: a template that would be over ``MAX_RENDERED`` characters raises
    TooLarge (``what`` names it in the message), which names the step whose
    text makes up most of it.
    """
    size = len(text)
    used: dict[str, int] = {}
    for m in StepTemplate.pattern.finditer(text):  # type: ignore[attr-defined]  # compiled by string.Template
        ref = m.group("braced")
        if ref is not None and ref in texts:
            size += len(texts[ref]) - len(m.group())
            used[ref] = used.get(ref, 0) + len(texts[ref])
        elif m.group("escaped") is not None:
            size -= 1
    if size > MAX_RENDERED:
        largest = max(used, key=lambda ref: used[ref], default=None)
        fix = f"shorten step '{largest}'" if largest else "shorten it"
        raise TooLarge(f"{what} would be {size / 2**20:.1f} MiB, over 1 MiB: {fix}")
    return StepTemplate(text).safe_substitute(texts)
