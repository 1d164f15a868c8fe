"""Workflow files: strict loading and validation.

A workflow is a YAML file holding an ordered list of steps. Loading is
deliberately strict, because a workflow is read by people who follow it: every
problem is reported with its file, line and column (1-based) and a hint, and
all problems of a file are reported at once.

The YAML is composed into nodes without implicit type resolution, so every
scalar stays the string the author wrote (``title: NO`` is ``"NO"``, not
``False``), and the node marks give exact positions. Nothing is ever
constructed from tags, so loading is always safe.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import WorkflowError

MAX_BYTES = 1024 * 1024
"""Workflow files larger than this are rejected unread."""

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
    """A workflow file with one or more problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


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
            i = int(key)
            if 1 <= i <= len(self.steps):
                return self.steps[i - 1]
            raise WorkflowError(f"{self.name} has steps 1 to {len(self.steps)}, not {i}")
        for s in self.steps:
            if s.id == key:
                return s
        raise WorkflowError(f"{self.name} has no step '{key}'{did_you_mean(key, [s.id for s in self.steps])}")

    def filename(self, step: Step) -> str:
        """The step's file name in a run directory, e.g. ``01-topic.md``."""
        width = max(2, len(str(len(self.steps))))
        return f"{step.index:0{width}d}-{step.id}{step.extension}"


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else ""


def _loader_base() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_loader_base()):  # type: ignore[misc]
    """Composes nodes only; no implicit resolvers, so every plain scalar is a str."""


_StrictLoader.yaml_implicit_resolvers = {}


class _Checker:
    """Walks the composed node tree of one file and collects problems."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.display = str(path)
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def at(self, node: yaml.Node, message: str, offset: int | None = None) -> None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if offset is not None and isinstance(node, yaml.ScalarNode):
            line, col = self._locate(node, offset)
        # A problem is one line (``file:line:col: message``), even if a quoted value holds a line break.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        self.problems.append(Problem(self.display, line, col, message))

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
            for text in self.lines[first:]:
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
            self.at(node, f"{what} must be a mapping (key: value), got {_kind(node)}")
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
                self.at(key, f"duplicate key '{key.value}' (first given on line {first})")
                continue
            entries[key.value] = (key, value)
        return entries

    def known_keys(self, entries: dict[str, tuple[yaml.Node, yaml.Node]], allowed: tuple[str, ...], what: str) -> None:
        for name, (key, _) in entries.items():
            if name not in allowed:
                self.at(
                    key,
                    f"unknown key '{name}'{did_you_mean(name, list(allowed))} (keys of {what}: {', '.join(allowed)})",
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


def read_text(path: Path) -> tuple[bytes, str]:
    """The bytes and decoded text of a workflow file, or WorkflowInvalid."""
    display = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise WorkflowInvalid(
                [Problem(display, 1, 1, f"file is {size} bytes; workflow files are limited to 1 MiB")]
            )
        data = path.read_bytes()
    except OSError as e:
        raise WorkflowInvalid([Problem(display, 1, 1, f"cannot read file: {e.strerror}")]) from e
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


def parse(path: Path, data: bytes, text: str, name: str | None = None) -> Workflow:
    """Validate the text of a workflow file; raise WorkflowInvalid listing every problem.

    The workflow's name is the file's stem unless ``name`` is given (a run's
    ``workflow.yaml`` snapshot is named after its run).
    """
    display = str(path)
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = e.problem or e.context or "invalid YAML"
        raise WorkflowInvalid([Problem(display, line, col, f"YAML syntax error: {what}")]) from e
    except yaml.YAMLError as e:
        raise WorkflowInvalid([Problem(display, 1, 1, f"YAML error: {e}")]) from e
    if root is None:
        raise WorkflowInvalid([Problem(display, 1, 1, "file is empty: a workflow needs a title and steps")])

    check = _Checker(path, text)
    top = check.mapping(root, "a workflow")
    if top is None:
        raise WorkflowInvalid(check.problems)
    check.known_keys(top, WORKFLOW_KEYS, "the workflow")
    check.required(top, REQUIRED_WORKFLOW_KEYS, root, "the workflow")

    stem = name or path.stem
    name = check.string(top, "name")
    if name is not None:
        if not NAME_RE.match(name):
            check.at(top["name"][1], f"name '{name}' must be {NAME_RULE}")
        elif name != stem:
            check.at(
                top["name"][1],
                f"name '{name}' differs from the file name '{path.name}': "
                f"rename the file to {name}{path.suffix} or the name to {stem}",
            )
    elif not NAME_RE.match(stem):
        check.at(root, f"file name '{path.name}' is not a valid workflow name: use {NAME_RULE}")
    title = check.string(top, "title")
    description = check.string(top, "description", empty_ok=True) or ""
    model = check.model(top)

    steps: list[Step] = []
    if "steps" in top:
        steps = _steps(check, top["steps"][1])

    if check.problems:
        raise WorkflowInvalid(check.problems)
    return Workflow(
        name=name or stem,
        title=title or "",
        description=description.strip(),
        model=model,
        steps=tuple(steps),
        path=path,
        source=data,
    )


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
                check.at(id_node, f"step id '{sid}' must be {NAME_RULE}")
            elif sid in seen:
                check.at(id_node, f"duplicate step id '{sid}' (also step {seen[sid]})")
            else:
                seen[sid] = len(steps) + 1
            what = f"step '{sid}'"
        filetype = check.string(entries, "filetype") or DEFAULT_FILETYPE
        if "filetype" in entries and not FILETYPE_RE.match(filetype):
            check.at(entries["filetype"][1], f"filetype '{filetype}' is not a Vim filetype name")
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
    for step, value_node, key in pending_refs:
        for offset, ref in StepTemplate(value_node.value).references():
            if ref is None:
                check.at(
                    value_node,
                    f"'${{' in '{key}' of step '{step.id}' must be followed by a step id and '}}'"
                    " (write '$${' for a literal '${')",
                    offset,
                )
            elif ref not in order:
                check.at(
                    value_node,
                    f"'{key}' of step '{step.id}' refers to unknown step '{ref}'"
                    f"{did_you_mean(ref, list(order))} (write '$${{' for a literal '${{')",
                    offset,
                )
            elif order[ref] >= step.index:
                later = "itself" if ref == step.id else f"a later step (step {order[ref]})"
                check.at(
                    value_node,
                    f"'{key}' of step '{step.id}' refers to '{ref}', which is {later}:"
                    " a step can only use the text of earlier steps",
                    offset,
                )
    return steps


def load_workflow(path: Path, name: str | None = None) -> Workflow:
    """Read and validate a workflow file; raise WorkflowInvalid with every problem."""
    data, text = read_text(path)
    return parse(path, data, text, name)


def render(text: str, texts: dict[str, str]) -> str:
    """Fill ``${step_id}`` references in ``text`` from earlier steps' texts."""
    return StepTemplate(text).safe_substitute(texts)
