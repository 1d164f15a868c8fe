"""The workflow loader under fuzzing: whatever the file, a workflow or WorkflowInvalid, nothing else.

A seeded property-based run (Hypothesis, derandomized: the same inputs on
every run) of hostile YAML built from the pieces attackers use: aliases and
recursive anchors, deep nesting, huge repeats, bad UTF-8, tags, directives,
duplicate keys and ``${references}``, mixed with valid workflow text so that
the checks past the parser are reached too. It runs with libyaml's loader
and with PyYAML's pure-Python one. The caps of spec.py bound the work per
input (no aliases, 1 MiB, 100 problems, 50 levels), so no input can be slow;
nothing here measures time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_nvim.errors import WorkflowError
from workflow_nvim.spec import (
    LOADERS,
    MAX_PROBLEMS,
    MAX_RENDERED,
    TooLarge,
    Workflow,
    WorkflowInvalid,
    load_workflow,
    render,
)

from tests import hostile

EXAMPLES = 1500  # per loader; 1 to 1.5 minutes for both on a busy two-core machine
DEEPEST = 5000  # levels of nesting: far past any recursion limit (spec.py stops at 50)

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same inputs on every run; nothing to remember between runs
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ids = st.sampled_from(["s0", "s1", "s2", "s3", "s4", "topic", "A", "1", "a" * 70, ""])
refs = st.sampled_from(
    ["${s0}", "${s1}", "${s2}", "${s3}", "${topic}"] * 3
    + ["${", "$${", "$", "${ a }", "${a", "$$", "${A}", "${1}", "${}", "${" + "a" * 70 + "}"]
)

SCALARS = st.one_of(
    st.text(max_size=20),
    refs,
    st.builds("".join, st.lists(refs | st.text(max_size=5), max_size=10)),
    st.sampled_from(["~", "null", "NO", "1.10", "''", '""', "|", ">", "|-\n  x", "'it''s'", '"a\\nb"', "!!str x"]),
)

LINES = st.one_of(
    st.builds(lambda v: f"title: {v}\n", SCALARS),
    st.just("steps:\n"),
    st.builds(
        lambda i, t, v: f"  - id: {i}\n    title: {t}\n    instructions: {v}\n",
        ids,
        SCALARS,
        SCALARS,
    ),
    st.builds(lambda v: f"    template: {v}\n", SCALARS),
    st.builds(lambda k, v: f"    {k}: {v}\n", st.sampled_from(["filetype", "annotate", "model", "<<", "id"]), SCALARS),
    st.sampled_from(["name: fuzz\n", "name: other\n", "description: |\n  x\n", "model: m\n", "title: T\ntitle: U\n"]),
)

HOSTILE = st.one_of(
    # aliases and anchors, also recursive ones and merge keys
    st.sampled_from(["&a ", "*a", "- *s\n", "  - &s {id: a, title: A, instructions: x}\n", "<<: *a\n"]),
    st.sampled_from(["x: &a [*a]\n", "steps: &s [*s]\n", "title: *undefined\n", "&a &b x\n"]),
    st.builds(lambda n: "  - *s\n" * n, st.integers(1, 3000)),
    # deep or unbalanced nesting, flow and block: deeper than the 2,000 stack frames Hypothesis adds to
    # Python's 1,000, or a RecursionError the server would meet at 500 levels goes unseen here
    st.builds(lambda n, m: "[" * n + "]" * m, st.integers(0, DEEPEST), st.integers(0, DEEPEST)),
    st.builds(lambda n: "{a: " * n + "}" * n, st.integers(0, DEEPEST)),
    st.builds(lambda n: "".join("  " * i + "- \n" for i in range(n)), st.integers(0, 120)),
    # huge repeats
    st.builds(lambda n: "${a}" * n, st.integers(0, 20_000)),
    st.builds(lambda n: "x" * n, st.sampled_from([1023, 1024, 1025, 70_000])),
    st.builds(
        lambda n: "".join(f"  - id: s{i}\n    title: S\n    instructions: ${{x{i}}}${{s{i}}}\n" for i in range(n)),
        st.integers(0, 400),
    ),
    # tags, directives, documents
    st.sampled_from(
        [
            "!!python/object/apply:os.system ['true'] ",
            "!!python/name:os.system ",
            "!foo ",
            "!<tag:yaml.org,2002:str> ",
            "!!binary aGk= ",
            "!!int ",
            "!!map ",
            "%YAML 1.1\n",
            "%TAG ! tag:example.org,2000:\n",
            "---\n",
            "...\n",
            "--- !!seq\n",
        ]
    ),
    # syntax pieces and odd characters
    st.sampled_from(["{", "}", "[", "]", ",", ": ", "? ", "- ", "'", '"', "#", "\t", "\r", "\n", "  ", "|+\n", ">-\n"]),
    st.sampled_from(["\x00", "\x07", "\ufeff", "\u2028", "\x85", "\ud7ff", "\U0001f600", "\ufffe", "\x1b[31m"]),
)

TEXT = st.builds("".join, st.lists(LINES | HOSTILE | SCALARS, max_size=25))

# Values a workflow's author would write: words and references, plain or in a block.
WORDS = st.builds(
    "".join, st.lists(refs | st.sampled_from(["word", " ", "Write ", "the ", "x", "é", "☕"]), max_size=12)
)
VALUES = st.one_of(
    st.builds(lambda w: w.strip() or "x", WORDS),
    st.builds(lambda w: "|\n      " + w.replace("\n", " ") + "\n      more " + w, WORDS),
    st.builds(lambda w: '"' + (w.replace("\\", "").replace('"', "") or "x") + '"', WORDS),
)


@st.composite
def workflows(draw: st.DrawFn) -> str:
    """A valid-looking workflow: the checks past the YAML parser are reached."""
    out = [f"title: {draw(VALUES)}\n"]
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(["name: fuzz\n", "description: |\n  What for.\n", "model: m:1b\n"])))
    out.append("steps:\n")
    for i in range(draw(st.integers(1, 6))):
        sid = draw(st.sampled_from([f"s{i}"] * 8 + ["s1", "topic"]))
        out.append(f"  - id: {sid}\n    title: {draw(VALUES)}\n    instructions: {draw(VALUES)}\n")
        if draw(st.booleans()):
            out.append(f"    template: {draw(VALUES)}\n")
    return "".join(out)


BAD_BYTES = st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf", b"\x80", b"\x00"])


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    """A file's bytes: a workflow or a jumble of YAML, with hostile pieces put in, sometimes not UTF-8."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=200))
    kind = draw(st.integers(0, 9))
    if kind == 0:  # one of the files that were found to hang, at another size
        make = draw(st.sampled_from(list(hostile.HOSTILE.values())))
        text = make(draw(st.integers(1, DEEPEST if make is hostile.deep_nesting else 30_000)))
    else:
        text = draw(workflows()) if kind > 3 else draw(TEXT)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(HOSTILE | refs) + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(BAD_BYTES) + data[at:]
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("loader", ["libyaml", "python"])  # named, so a PyYAML without libyaml shows as a skip
def test_the_loader_gives_a_workflow_or_its_problems_and_nothing_else(folder: Path, loader: str) -> None:
    if loader not in LOADERS:
        pytest.skip("this PyYAML has no libyaml (yaml.CSafeLoader): only its pure-Python loader is fuzzed")
    (folder / loader).mkdir()
    path = folder / loader / "fuzz.yaml"

    @FUZZ
    @given(hostile_files())
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            wf = load_workflow(path, loader=LOADERS[loader])
        except WorkflowInvalid as e:
            assert 1 <= len(e.problems) <= MAX_PROBLEMS + 1
            assert e.total >= len(e.problems)
            for p in e.problems:
                assert p.line >= 1 and p.col >= 1
                assert "\n" not in p.message and "\r" not in p.message
            return
        use_the_workflow(wf)

    check()


def use_the_workflow(wf: Workflow) -> None:
    """What a run does with a loaded workflow: look steps up and fill in their templates."""
    texts: dict[str, str] = {}
    for step in wf.steps:
        assert wf.step(step.id) is step and wf.step(str(step.index)) is step
        for text in (step.template, step.instructions):
            try:
                assert len(render(text, texts)) <= MAX_RENDERED
            except TooLarge as e:
                assert "over 1 MiB" in str(e)
        texts[step.id] = "x" * 300


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text() | st.from_regex(r"[0-9]{1,6000}", fullmatch=True))
def test_a_step_is_found_or_the_error_is_one_short_line(key: str) -> None:
    wf = load_workflow(Path(__file__).resolve().parents[2] / "workflows" / "tutorial.yaml")
    try:
        wf.step(key)
    except WorkflowError as e:
        assert "\n" not in str(e) and len(str(e)) < 200
