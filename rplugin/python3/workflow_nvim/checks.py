"""A step's checks: what its text must be before :WorkflowNext completes it.

``check:`` in a workflow (spec.CheckSpec) lists them; ``run_checks`` runs each on the step's
text and returns the failures, each located on the line it is about: the placeholder line that
is still there, the heading with nothing under it, line 1 for what is about the whole text (too
few words, a pattern that never matches, a command that failed).

Regular expressions come from workflow files that may be hostile: they are compiled and matched
with the ``regex`` package (on PyPI), whose matching takes a ``timeout``; a pattern that takes
longer than ``MATCH_TIMEOUT`` on a text is a failure that says so, never a frozen editor. Only
``command`` runs anything: not here, but in the background once the text checks pass
(Session._start_check, runner.py, after the person has trusted the workflow file), its
result read by ``command_failure``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import WorkflowError
from .spec import CheckSpec, count, shown

if TYPE_CHECKING:
    from .runner import Result

MATCH_TIMEOUT = 0.2
"""Seconds a pattern of ``match`` or ``no_match`` may take on a step's text."""

MAX_MATCHES = 20
"""``no_match`` failures listed per step: the first ones, the rest counted."""

COMMAND_TIMEOUT = 60.0
"""Seconds ``check.command`` may run (in the background: the editor never waits for it)."""

# Patterns are matched a line at a time as people read them: ^ and $ at each line's ends.
FLAGS_NAME = "MULTILINE"


class BadPattern(WorkflowError):
    """A regular expression that does not compile: the message says what is wrong."""


class Failure(NamedTuple):
    """One check that failed, located in the step's text (1-based; end_col exclusive, 0: the line's end)."""

    line: int
    col: int
    message: str
    end_col: int = 0


class Outcome(NamedTuple):
    """What the checks of a step found."""

    total: int  # checks run
    failures: list[Failure]
    failed: int  # checks that failed (a no_match with three matches is one)

    def summary(self, completing: bool = True) -> str:
        """One line: "all 5 checks pass"; for :WorkflowNext "step not done: 2 of 5 checks failed: line 2:
        ... (:WorkflowNext! completes it anyway)", for :WorkflowCheck "2 of 5 checks fail: line 2: ..."
        (the first failure, in the order of the check's keys)."""
        if not self.failed:
            return f"all {count(self.total, 'check')} pass" if self.total != 1 else "the 1 check passes"
        first = self.failures[0]
        if not completing:
            fail = "fails" if self.failed == 1 else "fail"
            return f"{self.failed} of {count(self.total, 'check')} {fail}: line {first.line}: {first.message}"
        failed = f"{self.failed} of {count(self.total, 'check')} failed"
        return f"step not done: {failed}: line {first.line}: {first.message} (:WorkflowNext! completes it anyway)"

    def diagnostics(self) -> list[dict[str, Any]]:
        """The failures as protocol.Diagnostic items."""
        items = []
        for f in self.failures:
            item: dict[str, Any] = {"line": f.line, "col": f.col, "severity": "error", "message": f.message}
            if f.end_col:
                item["end_col"] = f.end_col
            items.append(item)
        return items


def _regex() -> Any:
    try:
        import regex  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return regex


def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled as checks match it; BadPattern says what is wrong with one that is not valid."""
    regex = _regex()
    if regex is None:  # validation without the package: Python's own syntax is near enough
        try:
            return re.compile(pattern, re.MULTILINE)
        except re.error as e:
            raise BadPattern(_pattern_error(str(e.msg), e.pos)) from None
    try:
        return regex.compile(pattern, regex.MULTILINE | regex.V0)
    except regex.error as e:
        raise BadPattern(_pattern_error(str(getattr(e, "msg", e)), getattr(e, "pos", None))) from None
    except (ValueError, OverflowError, RecursionError) as e:
        raise BadPattern(shown(str(e), 100)) from None


def _pattern_error(msg: str, pos: int | None) -> str:
    return f"{msg} at character {pos + 1}" if pos is not None else msg


def _search(pattern: str, text: str, many: bool) -> list[tuple[int, int]] | None:
    """(start, end) offsets of the first match (all of them, up to MAX_MATCHES + 1, with ``many``);
    None when the pattern took longer than MATCH_TIMEOUT."""
    regex = _regex()
    if regex is None:
        from . import dependencies

        raise WorkflowError(
            "the match and no_match checks need the Python package regex: "
            f"install it with `{dependencies.install_command(['regex'])}` or :WorkflowInstall"
        )
    compiled = compile_pattern(pattern)
    found: list[tuple[int, int]] = []
    try:
        if not many:
            m = compiled.search(text, timeout=MATCH_TIMEOUT)
            return [m.span()] if m else []
        for m in compiled.finditer(text, timeout=MATCH_TIMEOUT):
            found.append(m.span())
            if len(found) > MAX_MATCHES:
                break
    except TimeoutError:
        return None
    return found


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, col) of character ``offset`` of ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\Z")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(0-based line, level, text) of the Markdown (ATX) headings of ``lines``, outside fenced code."""
    found, fence = [], ""
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m:
            fence = "" if fence and m[1] == fence else fence or m[1]
            continue
        if fence:
            continue
        h = _HEADING.match(line)
        if h:
            found.append((i, len(h[1]), (h[2] or "").strip()))
    return found


def _placeholder_line(text: str, template: str) -> int:
    """The first line of ``text`` with words that the template gave, and that is no heading; else 1."""
    given = {line.strip() for line in template.split("\n") if line.strip()}
    for i, line in enumerate(text.split("\n")):
        if line.strip() in given and not _HEADING.match(line) and re.search(r"\w", line):
            return i + 1
    return 1


def run_checks(
    spec: CheckSpec,
    text: str,
    template: str,
) -> Outcome:
    """Run the checks of ``spec`` on ``text`` (the step's text; ``template`` is what it started as),
    all but ``command``: that one runs in the background (Session._start_check), never here."""
    failures: list[Failure] = []
    failed = 0
    lines = text.split("\n")
    if spec.changed and text.strip() == template.strip():
        failed += 1
        where = "the text is still what the template gave: write the step's text"
        failures.append(Failure(_placeholder_line(text, template), 1, where))
    if spec.headings:
        found = headings(lines)
        for wanted in spec.headings:
            at = next((k for k, h in enumerate(found) if h[2].lower() == wanted.lower()), None)
            if at is None:
                failed += 1
                failures.append(Failure(1, 1, f"the heading '{shown(wanted, 40)}' is missing: add '# {wanted}'"))
                continue
            line, level, _ = found[at]
            end = next((h[0] for h in found[at + 1 :] if h[1] <= level), len(lines))
            if not any(s.strip() and not _HEADING.match(s) for s in lines[line + 1 : end]):
                failed += 1
                failures.append(Failure(line + 1, 1, f"nothing under the heading '{shown(wanted, 40)}': write it"))
    if spec.min_words:
        words = len(re.findall(r"\w+(?:['’-]\w+)*", "\n".join(s for s in lines if not _HEADING.match(s))))
        if words < spec.min_words:
            failed += 1
            failures.append(Failure(1, 1, f"{count(words, 'word')}, at least {spec.min_words} needed"))
    if spec.match:
        found_match = _search(spec.match, text, many=False)
        if found_match is None:
            failed += 1
            failures.append(Failure(1, 1, _too_long("match", spec.match)))
        elif not found_match:
            failed += 1
            failures.append(Failure(1, 1, f"nothing matches '{shown(spec.match, 40)}' (the check's 'match')"))
    if spec.no_match:
        spans = _search(spec.no_match, text, many=True)
        if spans is None:
            failed += 1
            failures.append(Failure(1, 1, _too_long("no_match", spec.no_match)))
        elif spans:
            failed += 1
            given = {s.strip() for s in template.split("\n") if s.strip()}
            for start, end in spans[:MAX_MATCHES]:
                line, col = _position(text, start)
                source = lines[line - 1]
                end_col = col + len(text[start:end].split("\n")[0])
                if source.strip() in given and template.strip():
                    message = "the placeholder is still there: replace it"
                else:
                    message = f"'{shown(text[start:end], 30)}' is still here (the check's 'no_match'): replace it"
                failures.append(Failure(line, col, message, end_col if end_col > col else 0))
            if len(spans) > MAX_MATCHES:
                failures.append(Failure(1, 1, "more matches of 'no_match' after these"))
    return Outcome(spec.total() - int(bool(spec.command)), failures, failed)


def command_failure(result: Result) -> Failure | None:
    """What a check command's ``result`` says against the step (on line 1), or None: it passed."""
    if result.timed_out:
        return Failure(1, 1, f"the check command was killed after {COMMAND_TIMEOUT:g} s (its limit)")
    if result.cancelled:
        return Failure(1, 1, "the check command was cancelled (:WorkflowCancel)")
    if result.exit == 0:
        return None
    last = next((s for s in reversed(result.lines) if s.strip()), "")
    said = f": {shown(last.strip(), 60)}" if last else ""
    return Failure(1, 1, f"the check command failed (exit {result.exit}){said}")


def _too_long(key: str, pattern: str) -> str:
    return (
        f"'{key}' pattern '{shown(pattern, 30)}' took over {MATCH_TIMEOUT:g} s on this text: "
        "simplify it in the workflow file"
    )
