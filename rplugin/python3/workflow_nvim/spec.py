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
import os
import re
import stat
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

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

WORKFLOW_KEYS = ("name", "title", "description", "model", "check", "steps")
STEP_KEYS = (
    "id",
    "title",
    "instructions",
    "template",
    "filetype",
    "annotate",
    "model",
    "check",
    "run",
    "autorun",
    "optional",
)
CHECK_KEYS = ("changed", "headings", "min_words", "match", "no_match", "command")
"""The keys of a ``check:`` (checks.py runs them)."""
BOOL_KEYS = ("autorun", "optional", "changed")
"""Keys whose value is true or false."""
MAPPING_KEYS = ("check",)
"""Keys whose value is a mapping (``check: false`` switches a workflow's check off for a step)."""
REQUIRED_WORKFLOW_KEYS = ("title", "steps")
REQUIRED_STEP_KEYS = ("id", "title", "instructions")
TEMPLATED_STEP_KEYS = ("instructions", "template")
MAY_BE_EMPTY_KEYS = ("description", "model", "template", "annotate", "run")
"""Text keys whose value may be empty; the other text keys, when given, must hold some text."""
KEY_PATTERNS = {"name": NAME_RE, "id": NAME_RE, "filetype": FILETYPE_RE, "model": MODEL_RE}
"""What the value of these keys must match (a model's, once stripped of blanks)."""
LIST_KEYS = {"steps": "step"}
"""Keys whose value is a list, and what each item is; every other key's value is text.
workflow.schema.json is made from these tables (schema.py)."""

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


class Problem(NamedTuple):
    """One validation problem, located in a file (line and col are 1-based).

    An error stops the workflow from loading; a warning (lint.py) never does.
    """

    path: str
    line: int
    col: int
    message: str
    severity: Literal["error", "warning"] = "error"
    end_col: int = 0  # where the thing ends on its line (exclusive); 0: it does not, or is not known

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.col}: {kind}{self.message}"


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


def env_name(step_id: str) -> str:
    """The environment variable that names the file of step ``step_id`` for commands: ``WORKFLOW_STEP_<ID>``."""
    return "WORKFLOW_STEP_" + step_id.upper().replace("-", "_")


class CheckSpec(NamedTuple):
    """What a step's text must be before :WorkflowNext completes it (checks.py runs it)."""

    changed: bool = False  # the text differs from what the template gave
    headings: tuple[str, ...] = ()  # Markdown headings that must be there, each with text under it
    min_words: int = 0
    match: str = ""  # a regular expression (the regex package's) the text must contain
    no_match: str = ""  # one it must not contain
    command: str = ""  # a shell command that must exit 0 (runner.py)

    def total(self) -> int:
        """How many checks this is: one per key given, one per heading."""
        return (
            int(self.changed)
            + len(self.headings)
            + int(self.min_words > 0)
            + int(bool(self.match))
            + int(bool(self.no_match))
            + int(bool(self.command))
        )


class Step(NamedTuple):
    """One step of a workflow."""

    index: int  # type: ignore[assignment]  # 1-based; a field, not tuple.index
    id: str
    title: str
    instructions: str
    template: str = ""
    filetype: str = DEFAULT_FILETYPE
    annotate: str = ""
    model: str = ""  # the Ollama model for this step's annotations ("" = the workflow's)
    check: CheckSpec | None = None  # the effective one: its own, else the workflow's; None: none
    run: str = ""  # a shell command: a command step ("" for none)
    autorun: bool = False  # run it when the step is first opened
    optional: bool = False  # :WorkflowSkip may complete it with no text

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


class Workflow(NamedTuple):
    """A validated workflow."""

    name: str
    title: str
    description: str
    model: str
    steps: tuple[Step, ...]
    path: Path
    source: bytes
    check: CheckSpec | None = None  # the workflow-level one, for display: steps carry the effective one

    def __repr__(self) -> str:  # without the source: it may be a megabyte
        return f"Workflow(name={self.name!r}, title={self.title!r}, steps={len(self.steps)}, path={self.path!r})"

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


def load_workflow(
    path: Path, name: str | None = None, loader: type | None = None, cache: Path | None = None
) -> Workflow:
    """Read and validate a workflow file; raise WorkflowInvalid with every problem.

    With ``cache`` (a directory: the editor's cache), a file whose bytes validated before is not
    validated again: its workflow is read from there, and PyYAML is not imported (~25 ms of the
    first :WorkflowStart). A file that does not validate is never cached: its problems are found
    again, the same each time.
    """
    data, text = read_text(path)
    stem = name or path.stem
    key = _cache_key(stem, data) if cache is not None and loader is None else None
    if key is not None and cache is not None:
        cached = _cached(cache / key, path, data)
        if cached is not None:
            return cached
    from .yamlcheck import parse

    workflow = parse(path, data, text, name, loader)
    if key is not None and cache is not None:
        _store(cache / key, workflow)
    return workflow


CACHE_VERSION = 3
"""Bumped on every change of what a file validates to (a field of Workflow or Step, a default, a
rule): a workflow cached by another version is validated again."""

MAX_CACHE_ENTRY = 4 * MAX_BYTES  # a validated 1 MiB file, as JSON with every string escaped, fits


def _cache_key(stem: str, data: bytes) -> str:
    """The cache entry of a file: its whole bytes, the name it gets, and this version of the rules."""
    try:  # the interpreter's own SHA-256 (~0.5 ms to import; hashlib loads OpenSSL, ~5 ms)
        from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found]  # 3.11
        except ImportError:
            from hashlib import sha256

    digest = sha256(f"workflow.nvim spec {CACHE_VERSION}\0{stem}\0".encode("utf-8", "surrogatepass"))
    digest.update(data)
    return f"{digest.hexdigest()}.json"


def _cached(entry: Path, path: Path, data: bytes) -> Workflow | None:
    """The workflow ``entry`` holds, or None when there is none, or it is unreadable, foreign or corrupt."""
    import json

    try:
        value = json.loads(read_regular(entry, MAX_CACHE_ENTRY))
        if value.get("version") != CACHE_VERSION:
            return None
        steps = tuple(_cached_step(s) for s in value["steps"])
        if not all(isinstance(s.index, int) and isinstance(s.id, str) for s in steps) or not steps:
            return None
        fields = [value[k] for k in ("name", "title", "description", "model")]
        if not all(isinstance(f, str) for f in fields):
            return None
        check = _cached_check(value.get("check"))
        return Workflow(*fields, steps=steps, path=path, source=data, check=check)  # type: ignore[misc]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # written again after this validation


def _cached_check(value: Any) -> CheckSpec | None:
    if not isinstance(value, dict):
        return None
    fields = {k: v for k, v in value.items() if k in CheckSpec._fields}
    fields["headings"] = tuple(str(h) for h in fields.get("headings") or ())
    return CheckSpec(**fields)


def _cached_step(value: dict[str, Any]) -> Step:
    fields = {k: v for k, v in value.items() if isinstance(v, (str, int)) and k != "check"}
    return Step(**fields, check=_cached_check(value.get("check")))  # type: ignore[arg-type]


def _store(entry: Path, workflow: Workflow) -> None:
    import json

    from .scratch import write_atomic

    value = {
        "version": CACHE_VERSION,
        "name": workflow.name,
        "title": workflow.title,
        "description": workflow.description,
        "model": workflow.model,
        "check": workflow.check._asdict() if workflow.check else None,
        "steps": [{**s._asdict(), "check": s.check._asdict() if s.check else None} for s in workflow.steps],
    }
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(entry, json.dumps(value))
    except OSError:
        pass  # a cache that cannot be written only costs the next start the validation


def __getattr__(name: str) -> Any:
    """The YAML side (yamlcheck.py), for those who name it here: imported when first asked for."""
    if name in ("LOADER", "LOADERS", "PythonLoader", "parse"):
        from . import yamlcheck

        return getattr(yamlcheck, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
