"""Loading and validating workflow files: every problem located at file:line:col with a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_nvim.errors import WorkflowError
from workflow_nvim.spec import (
    LOADERS,
    MAX_BYTES,
    MAX_NESTING,
    MAX_NODES,
    MAX_PROBLEMS,
    MAX_RENDERED,
    NotRegularFile,
    Problem,
    StepTemplate,
    TooLarge,
    WorkflowInvalid,
    load_workflow,
    read_regular,
    render,
)

from tests import hostile

NAME_RULE = "lowercase letters, digits, '-' or '_', starting with a letter"
STEP_KEYS = "id, title, instructions, template, filetype, annotate, model, check, run, autorun, optional"
WORKFLOW_KEYS = "name, title, description, model, check, steps"
LATER_ONLY = "a step can only use the text of earlier steps"
LITERAL_HINT = "(write '$${' for a literal '${')"

ONE_STEP = """\
title: T
steps:
  - id: a
    title: A
    instructions: Do it.
"""


# -- a valid workflow ---------------------------------------------------------


def test_valid_workflow_loads_with_all_its_fields(write, blog_yaml):
    path = write("blog.yaml", blog_yaml)
    wf = load_workflow(path)
    assert wf.name == "blog"
    assert wf.title == "Write a blog post"
    assert wf.description == "From an idea to a draft."
    assert wf.path == path
    assert wf.source == path.read_bytes()
    assert [(s.index, s.id, s.title) for s in wf.steps] == [
        (1, "topic", "Pick a topic"),
        (2, "outline", "Outline"),
        (3, "draft", "Draft"),
    ]
    topic, outline, draft = wf.steps
    assert topic.instructions == "Write the topic in one line.\n"
    assert topic.template == "# Topic\n"
    assert outline.instructions == "Outline the post about ${topic}.\n"
    assert draft.template == ""
    assert (topic.filetype, draft.filetype) == ("markdown", "text")
    assert [wf.filename(s) for s in wf.steps] == ["01-topic.md", "02-outline.md", "03-draft.txt"]


def test_name_defaults_to_the_file_stem_and_yml_is_accepted(write):
    wf = load_workflow(write("my-flow_2.yml", ONE_STEP))
    assert wf.name == "my-flow_2"
    assert wf.description == ""


def test_filetype_gives_the_extension_and_unknown_ones_are_txt(write):
    wf = load_workflow(
        write(
            "ft.yaml",
            ONE_STEP
            + "    filetype: python\n"
            + "  - id: b\n    title: B\n    instructions: x\n    filetype: haskell\n",
        )
    )
    assert [(s.filetype, wf.filename(s)) for s in wf.steps] == [("python", "01-a.py"), ("haskell", "02-b.txt")]


@pytest.mark.parametrize(("count", "first", "last"), [(9, "01-s1.md", "09-s9.md"), (100, "001-s1.md", "100-s100.md")])
def test_step_file_names_are_zero_padded_so_they_sort(write, count, first, last):
    steps = "".join(f"  - id: s{i}\n    title: S{i}\n    instructions: x\n" for i in range(1, count + 1))
    wf = load_workflow(write("many.yaml", "title: T\nsteps:\n" + steps))
    names = [wf.filename(s) for s in wf.steps]
    assert (names[0], names[-1]) == (first, last)
    assert names == sorted(names)


def test_workflow_step_by_id_index_or_digit_string(write, blog_yaml):
    wf = load_workflow(write("blog.yaml", blog_yaml))
    assert wf.step("outline").index == 2
    assert wf.step(3).id == "draft"
    assert wf.step("1").id == "topic"
    assert wf.step("0" * 5000 + "2").id == "outline"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("outlin", "blog has no step 'outlin', did you mean 'outline'?"),
        ("zebra", "blog has no step 'zebra'"),
        ("4", "blog has steps 1 to 3, not 4"),
        ("0", "blog has steps 1 to 3, not 0"),
        (0, "blog has steps 1 to 3, not 0"),
        ("²", "blog has no step '²'"),  # isdigit() but not a number int() accepts
        ("9" * 5000, "blog has steps 1 to 3, not 9999999999999999999…"),  # past Python's int() digit limit
        ("x" * 5000, f"blog has no step '{'x' * 69}…'"),
    ],
)
def test_workflow_step_unknown_is_a_one_line_error(write, key, message, blog_yaml):
    wf = load_workflow(write("blog.yaml", blog_yaml))
    with pytest.raises(WorkflowError) as info:
        wf.step(key)
    assert str(info.value) == message


# -- unknown, duplicate and missing keys ---------------------------------------


def test_unknown_step_key_names_the_key_and_suggests_the_right_one(problems):
    found = problems(
        """\
        title: T
        steps:
          - id: a
            title: A
            intructions: do
        """
    )
    assert found == [
        (5, 5, f"unknown key 'intructions', did you mean 'instructions'? (keys of step 1: {STEP_KEYS})"),
        (3, 5, "step 1 is missing the required key 'instructions'"),
    ]


def test_unknown_workflow_key_suggests_the_right_one(problems):
    found = problems("title: T\ndescripton: x\n" + ONE_STEP.split("\n", 1)[1])
    assert found == [
        (2, 1, f"unknown key 'descripton', did you mean 'description'? (keys of the workflow: {WORKFLOW_KEYS})")
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(problems):
    found = problems(ONE_STEP + "    colour: red\n")
    assert found == [(6, 5, f"unknown key 'colour' (keys of step 1: {STEP_KEYS})")]


def test_duplicate_top_level_key(problems):
    assert problems("title: T\ntitle: U\n" + ONE_STEP.split("\n", 1)[1]) == [
        (2, 1, "duplicate key 'title' (first given on line 1)")
    ]


def test_duplicate_key_inside_a_step(problems):
    found = problems(
        """\
        title: T
        steps:
          - id: a
            title: A
            instructions: x
            title: B
        """
    )
    assert found == [(6, 5, "duplicate key 'title' (first given on line 4)")]


def test_duplicate_key_written_once_quoted(problems):
    assert problems("title: T\n'title': U\n" + ONE_STEP.split("\n", 1)[1]) == [
        (2, 1, "duplicate key 'title' (first given on line 1)")
    ]


def test_duplicate_step_id(problems):
    found = problems(
        """\
        title: T
        steps:
          - id: a
            title: A
            instructions: x
          - id: a
            title: B
            instructions: y
        """
    )
    assert found == [(6, 9, "duplicate step id 'a' (also step 1)")]


def test_missing_required_keys_are_all_reported(problems):
    found = problems("description: x\nsteps:\n  - {}\n")
    assert found == [
        (1, 1, "the workflow is missing the required key 'title'"),
        (3, 5, "step 1 is missing the required key 'id'"),
        (3, 5, "step 1 is missing the required key 'title'"),
        (3, 5, "step 1 is missing the required key 'instructions'"),
    ]


def test_missing_steps(problems):
    assert problems("title: T\n") == [(1, 1, "the workflow is missing the required key 'steps'")]


def test_all_problems_of_a_file_at_once_and_the_error_says_how_many(write):
    path = write("wf.yaml", "title: T\ntitle: U\nsteps: []\n")
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    assert [(p.line, p.col) for p in info.value.problems] == [(2, 1), (3, 8)]
    assert str(info.value) == f"{path}:2:1: duplicate key 'title' (first given on line 1) (and 1 more)"
    assert isinstance(info.value, WorkflowError)


def test_problem_prints_as_file_line_col_message():
    assert str(Problem("a/b.yaml", 3, 7, "bad")) == "a/b.yaml:3:7: bad"


# -- wrong types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "title: T\nsteps:\n  a: 1\n",
            [(3, 3, "'steps' must be a list of steps (each starting with '- id:'), got a mapping")],
            id="steps-mapping",
        ),
        pytest.param(
            "title: T\nsteps: one two\n",
            [(2, 8, "'steps' must be a list of steps (each starting with '- id:'), got 'one two'")],
            id="steps-text",
        ),
        pytest.param(
            # a block of text where a list belongs: the message stays on one line
            "title: T\nsteps: |\n  do this\n  do that\n",
            [(2, 8, "'steps' must be a list of steps (each starting with '- id:'), got text")],
            id="steps-block-text",
        ),
        pytest.param(
            "title: T\nsteps:\n",
            [(2, 7, "'steps' must be a list of steps (each starting with '- id:'), got nothing")],
            id="steps-nothing",
        ),
        pytest.param(
            "title: [a, b]\nsteps:\n  - id: a\n    title: A\n    instructions: x\n",
            [(1, 8, "'title' must be text, got a list")],
            id="title-list",
        ),
        pytest.param(
            "title: T\nsteps:\n  - just a string\n",
            [(3, 5, "step 1 must be a mapping (key: value), got 'just a string'")],
            id="step-string",
        ),
        pytest.param(
            "title: T\nsteps:\n  - [id, a]\n",
            [(3, 5, "step 1 must be a mapping (key: value), got a list")],
            id="step-list",
        ),
        pytest.param(
            "title: T\nsteps:\n  - id: a\n    title: A\n    instructions:\n      text: x\n",
            [(6, 7, "'instructions' must be text, got a mapping")],
            id="instructions-mapping",
        ),
        pytest.param(
            "title: T\nsteps: []\n",
            [(2, 8, "'steps' is empty: a workflow needs at least one step")],
            id="steps-empty",
        ),
        pytest.param("- title: T\n", [(1, 1, "a workflow must be a mapping (key: value), got a list")], id="root-list"),
        pytest.param(
            "just text\n", [(1, 1, "a workflow must be a mapping (key: value), got 'just text'")], id="root-text"
        ),
        pytest.param("", [(1, 1, "file is empty: a workflow needs a title and steps")], id="empty-file"),
        pytest.param("# only a comment\n", [(1, 1, "file is empty: a workflow needs a title and steps")], id="comment"),
        pytest.param(
            "title: T\n[a]: b\nsteps:\n  - id: a\n    title: A\n    instructions: x\n",
            [(2, 1, "keys in a workflow must be plain words, got a list")],
            id="list-as-key",
        ),
    ],
)
def test_wrong_types(problems, text, expected):
    assert problems(text) == expected


def test_a_bad_step_does_not_hide_problems_of_the_next_one(problems):
    found = problems("title: T\nsteps:\n  - oops\n  - id: B\n    title: B\n    instructions: x\n")
    assert found == [
        (3, 5, "step 1 must be a mapping (key: value), got 'oops'"),
        (4, 9, f"step id 'B' must be {NAME_RULE}"),
    ]


# -- YAML 1.1 traps, null and tags --------------------------------------------------


def test_yaml_1_1_booleans_numbers_and_dates_stay_the_text_written(write):
    wf = load_workflow(
        write(
            "off.yaml",
            """\
            name: off
            title: NO
            description: 2001-01-01
            steps:
              - id: on
                title: 1.0
                instructions: yes
                template: 0x1F
              - id: y
                title: 012
                instructions: .inf
                annotate: 1_000
            """,
        )
    )
    assert (wf.name, wf.title, wf.description) == ("off", "NO", "2001-01-01")
    first, second = wf.steps
    assert (first.id, first.title, first.instructions, first.template) == ("on", "1.0", "yes", "0x1F")
    assert (second.id, second.title, second.instructions, second.annotate) == ("y", "012", ".inf", "1_000")
    assert wf.step("on") is first


@pytest.mark.parametrize("null", ["~", "null", "Null", "NULL", ""])
def test_null_in_a_required_key_is_empty(problems, null):
    text = f"title: {null}\nsteps:\n  - id: a\n    title: A\n    instructions: x\n"
    assert problems(text) == [(1, 7 if null == "" else 8, "'title' must not be empty")]


def test_empty_or_blank_required_values_are_rejected(problems):
    found = problems('title: "  "\nsteps:\n  - id: ~\n    title: A\n    instructions:\n')
    assert found == [
        (1, 8, "'title' must not be empty"),
        (3, 9, "'id' must not be empty"),
        (5, 18, "'instructions' must not be empty"),
    ]


def test_null_in_an_optional_key_means_nothing(write):
    wf = load_workflow(
        write(
            "wf.yaml",
            "title: T\ndescription: ~\nsteps:\n"
            + ONE_STEP.split("steps:\n")[1]
            + "    template: null\n    annotate: ~\n",
        )
    )
    assert wf.description == ""
    assert (wf.steps[0].template, wf.steps[0].annotate) == ("", "")


def test_quoted_null_is_text(write):
    wf = load_workflow(write("wf.yaml", "title: '~'\nsteps:\n  - id: a\n    title: \"null\"\n    instructions: x\n"))
    assert (wf.title, wf.steps[0].title) == ("~", "null")


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object:os.system x", "tag:yaml.org,2002:python/object:os.system"),
        ("!!python/name:os.system ''", "tag:yaml.org,2002:python/name:os.system"),
        ("!!int 5", "tag:yaml.org,2002:int"),
        ("!!binary aGk=", "tag:yaml.org,2002:binary"),
        ("!mine x", "!mine"),
    ],
)
def test_tags_on_values_are_rejected(problems, value, tag):
    assert problems(f"title: {value}\nsteps:\n  - id: a\n    title: A\n    instructions: x\n") == [
        (1, 8, f"'title' has the YAML tag {tag}: tags are not allowed, remove it")
    ]


def test_explicit_str_tag_is_allowed(write):
    assert load_workflow(write("wf.yaml", "title: !!str 123\n" + ONE_STEP.split("\n", 1)[1])).title == "123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "--- !!python/object:os.system\n" + ONE_STEP,
            (1, 5, "a workflow has the YAML tag tag:yaml.org,2002:python/object:os.system"),
            id="root",
        ),
        pytest.param(
            "title: T\nsteps: !!python/tuple\n  - id: a\n    title: A\n    instructions: x\n",
            (2, 8, "'steps' has the YAML tag tag:yaml.org,2002:python/tuple"),
            id="steps",
        ),
        pytest.param(
            "title: T\nsteps:\n  - !!python/object:os.system\n    id: a\n    title: A\n    instructions: x\n",
            (3, 5, "step 1 has the YAML tag tag:yaml.org,2002:python/object:os.system"),
            id="step",
        ),
    ],
)
def test_tags_on_mappings_and_lists_are_rejected(problems, text, expected):
    line, col, start = expected
    assert problems(text) == [(line, col, f"{start}: tags are not allowed, remove it")]


def test_loading_never_runs_code_from_tags(problems, tmp_path):
    marker = tmp_path / "pwned"
    found = problems(
        f"""\
        title: !!python/object/apply:os.mkdir ["{marker}"]
        steps: !!python/object/apply:os.mkdir ["{marker}"]
        """
    )
    assert found[:2] == [
        (1, 8, "'title' must be text, got a list"),
        (
            2,
            8,
            "'steps' has the YAML tag tag:yaml.org,2002:python/object/apply:os.mkdir: tags are not allowed, remove it",
        ),
    ]
    assert not marker.exists()


def test_aliases_are_refused_where_they_are_and_merge_keys_are_just_unknown_keys(problems):
    found = problems(
        """\
        title: &t T
        steps:
          - id: a
            title: *t
            <<: {instructions: x}
            template: *t
        """
    )
    assert found == [
        (4, 12, "alias '*t': workflows do not allow YAML aliases, write the value out"),
        (6, 15, "alias '*t': workflows do not allow YAML aliases, write the value out"),
    ]
    assert problems("title: T\nsteps:\n  - id: a\n    title: A\n    <<: {instructions: x}\n") == [
        (5, 5, f"unknown key '<<' (keys of step 1: {STEP_KEYS})"),
        (3, 5, "step 1 is missing the required key 'instructions'"),
    ]


def test_an_anchor_without_an_alias_is_harmless(write):
    assert load_workflow(write("wf.yaml", ONE_STEP.replace("title: T", "title: &t T"))).title == "T"


# -- the file itself: encoding and size ---------------------------------------------


def test_non_utf8_byte_is_located(problems):
    found = problems(b"title: T\nsteps:\n  - id: caf\xe9\n    title: A\n")
    assert found == [(3, 12, "byte 0xe9 is not UTF-8: save the file as UTF-8")]


def test_non_utf8_byte_on_the_first_line(problems):
    assert problems(b"\xfftitle: T\n") == [(1, 1, "byte 0xff is not UTF-8: save the file as UTF-8")]


def test_utf8_with_bom_and_non_ascii_text_load(write):
    path = write("wf.yaml", b"\xef\xbb\xbf" + "title: Café ☕\n".encode() + ONE_STEP.split("\n", 1)[1].encode())
    assert load_workflow(path).title == "Café ☕"


def test_crlf_line_endings_load(write, blog_yaml):
    path = write("wf.yaml", blog_yaml.replace("\n", "\r\n").replace("name: blog", "name: wf").encode())
    wf = load_workflow(path)
    assert wf.steps[0].instructions == "Write the topic in one line.\n"


def test_file_over_1_mib_is_rejected_unread(problems):
    text = ONE_STEP + "#" * (MAX_BYTES + 1 - len(ONE_STEP))
    assert problems(text.encode()) == [(1, 1, f"file is {MAX_BYTES + 1} bytes; workflow files are limited to 1 MiB")]


def test_file_of_exactly_1_mib_loads(write):
    text = ONE_STEP + "#" * (MAX_BYTES - len(ONE_STEP) - 1) + "\n"
    path = write("wf.yaml", text.encode())
    assert path.stat().st_size == MAX_BYTES
    assert load_workflow(path).title == "T"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    assert str(info.value) == f"{path}:1:1: cannot read file: No such file or directory"


# -- names and ids --------------------------------------------------------------------


def test_name_must_match_the_file_name(problems):
    assert problems("name: other\n" + ONE_STEP) == [
        (1, 7, "name 'other' differs from the file name 'wf.yaml': rename the file to other.yaml or the name to wf")
    ]


@pytest.mark.parametrize("name", ["Bad", "bad name", "1st", "-a", "a.b", "café", "a" * 65])
def test_invalid_name(problems, name):
    assert problems(f"name: '{name}'\n" + ONE_STEP) == [(1, 7, f"name '{name}' must be {NAME_RULE}")]


def test_quoted_name_with_a_line_break_is_reported_on_one_line(problems):
    assert problems('name: "a\\nb"\n' + ONE_STEP) == [(1, 7, f"name 'a\\nb' must be {NAME_RULE}")]


def test_file_name_that_is_not_a_workflow_name(problems):
    assert problems(ONE_STEP, filename="My Flow.yaml") == [
        (1, 1, f"file name 'My Flow.yaml' is not a valid workflow name: use {NAME_RULE}")
    ]


@pytest.mark.parametrize("sid", ["Bad", "1st", "a b", "a.b", "_a", "é", "a" * 65])
def test_invalid_step_id(problems, sid):
    assert problems(f"title: T\nsteps:\n  - id: '{sid}'\n    title: A\n    instructions: x\n") == [
        (3, 9, f"step id '{sid}' must be {NAME_RULE}")
    ]


@pytest.mark.parametrize("sid", ["a", "a-b_2", "x" * 64])
def test_valid_step_ids(write, sid):
    wf = load_workflow(write("wf.yaml", f"title: T\nsteps:\n  - id: {sid}\n    title: A\n    instructions: x\n"))
    assert wf.steps[0].id == sid


def test_invalid_filetype(problems):
    assert problems(ONE_STEP + "    filetype: 'py thon'\n") == [
        (6, 15, "filetype 'py thon' is not a Vim filetype name")
    ]


# -- YAML syntax errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "what"),
    [
        # where the quote opens (tests/unit/test_yaml_hints.py: the hints)
        pytest.param('title: "T\nsteps:\n  - id: a\n', 1, 8, "found unexpected end of stream", id="unclosed-quote"),
        pytest.param(
            "title: T\nsteps:\n  - id: a\n     title: A\n    instructions: x\n",
            4,
            6,
            "mapping values are not allowed in this context",
            id="bad-indentation",
        ),
        pytest.param(
            "title: T\nsteps:\n\t- id: a\n", 3, 1, "found character that cannot start any token", id="tab-indentation"
        ),
        pytest.param("title: T\n---\ntitle: U\n", 2, 1, "but found another document", id="two-documents"),
        pytest.param("title: T\nsteps: *nowhere\n", 2, 8, "found undefined alias", id="undefined-alias"),
    ],
)
def test_yaml_syntax_errors_are_located_without_a_traceback(problems, text, line, col, what):
    # the fixture fails if anything but WorkflowInvalid escapes (e.g. a yaml.YAMLError)
    found = problems(text)
    assert len(found) == 1
    assert found[0][:2] == (line, col)
    assert found[0][2].startswith("YAML syntax error: ")
    assert what in found[0][2]


# -- ${step} references ---------------------------------------------------------------


def test_references_are_checked_and_located_inside_block_scalars(problems):
    found = problems(
        """\
        title: T
        steps:
          - id: topic
            title: Topic
            instructions: |
              Write about it.
              Not ${topic} itself.
          - id: outline
            title: Outline
            instructions: |
              Use ${topic}, $${literal}, $HOME, $5, $$x and $ {x}.
                Not ${draft} yet, nor ${topik}.
            template: "Outline: ${outline}"
          - id: draft
            title: Draft
            instructions: Write ${ it.
        """
    )
    assert found == [
        (7, 11, f"'instructions' of step 'topic' refers to 'topic', which is itself: {LATER_ONLY}"),
        (12, 13, f"'instructions' of step 'outline' refers to 'draft', which is a later step (step 3): {LATER_ONLY}"),
        (
            12,
            31,
            f"'instructions' of step 'outline' refers to unknown step 'topik', did you mean 'topic'? {LITERAL_HINT}",
        ),
        (13, 25, f"'template' of step 'outline' refers to 'outline', which is itself: {LATER_ONLY}"),
        (16, 25, f"'${{' in 'instructions' of step 'draft' must be followed by a step id and '}}' {LITERAL_HINT}"),
    ]


def test_literal_dollar_forms_are_not_references(write):
    wf = load_workflow(
        write(
            "wf.yaml",
            """\
            title: T
            steps:
              - id: a
                title: A
                instructions: |
                  Costs $5; echo $HOME; write $${a} for a literal; $$ stays.
                template: "$${later}"
            """,
        )
    )
    assert wf.steps[0].instructions == "Costs $5; echo $HOME; write $${a} for a literal; $$ stays.\n"


@pytest.mark.parametrize(
    ("line5", "col", "message"),
    [
        pytest.param(
            "    template: |\n\n      first\n        ${zz}\n",
            9,
            "'template' of step 'a' refers to unknown step 'zz'",
            id="block-with-leading-blank-line",
        ),
        pytest.param(
            "    template: |-\n      ${zz}\n",
            7,
            "'template' of step 'a' refers to unknown step 'zz'",
            id="block-strip",
        ),
    ],
)
def test_reference_positions_in_block_variants(problems, line5, col, message):
    found = problems(ONE_STEP + line5)
    lines = (ONE_STEP + line5).split("\n")
    line = next(i for i, text in enumerate(lines, 1) if "${zz}" in text)
    assert found == [(line, col, f"{message} {LITERAL_HINT}")]


@pytest.mark.parametrize(
    ("value", "col"),
    [
        pytest.param("see ${zz}", 19, id="plain"),
        pytest.param("éé ${zz}", 18, id="plain-non-ascii"),  # columns count characters
        pytest.param("'it''s ${zz}'", 22, id="single-quoted-with-escaped-quote"),
        pytest.param('"x ${zz}"', 18, id="double-quoted"),
        pytest.param('"\\t ${zz}"', 15, id="double-quoted-after-an-escape-points-at-the-value"),
    ],
)
def test_reference_positions_in_one_line_scalars(problems, value, col):
    found = problems(ONE_STEP + f"    template: {value}\n")
    assert found == [(6, col, f"'template' of step 'a' refers to unknown step 'zz' {LITERAL_HINT}")]


def test_reference_in_a_folded_scalar_points_at_the_value(problems):
    found = problems(ONE_STEP + "    template: >\n      first\n      ${zz}\n")
    assert found == [(6, 15, f"'template' of step 'a' refers to unknown step 'zz' {LITERAL_HINT}")]


def test_reference_in_a_crlf_block_scalar(problems):
    text = ONE_STEP + "    template: |\n      line\n      and ${zz}\n"
    found = problems(text.replace("\n", "\r\n").encode())
    assert found == [(8, 11, f"'template' of step 'a' refers to unknown step 'zz' {LITERAL_HINT}")]


def test_upper_case_reference_is_malformed(problems):
    found = problems(ONE_STEP + "    template: ${A}\n")
    assert found == [
        (6, 15, f"'${{' in 'template' of step 'a' must be followed by a step id and '}}' {LITERAL_HINT}"),
    ]


# -- rendering --------------------------------------------------------------------------


def test_render_fills_references_with_earlier_texts():
    assert render("Outline for: ${topic}\n", {"topic": "Cats"}) == "Outline for: Cats\n"
    assert render("${a}+${b}=${a}${b}", {"a": "1\n2", "b": "3"}) == "1\n2+3=1\n23"


def test_render_leaves_literals_and_unknown_references_alone():
    text = "$${topic} $HOME $5 $$HOME ${missing} ${ bad ${Topic}"
    assert render(text, {"topic": "T"}) == "${topic} $HOME $5 $$HOME ${missing} ${ bad ${Topic}"


def test_render_does_not_expand_references_inside_inserted_text():
    assert render("${a} ${b}", {"a": "${b}", "b": "B"}) == "${b} B"


def test_step_template_references():
    refs = list(StepTemplate("a ${x} $${y} ${ z ${w-1}").references())
    assert refs == [(2, "x"), (13, None), (18, "w-1")]


def test_the_bundled_workflows_are_valid():
    bundled = Path(__file__).resolve().parents[2] / "workflows"
    files = sorted(bundled.glob("*.yaml"))
    assert files, f"no bundled workflows in {bundled}"
    for path in files:
        assert load_workflow(path).name == path.stem


# -- hostile files: bounded reading and bounded work (issue 10) -----------------------------


def test_a_symlink_to_a_workflow_file_loads(write, tmp_path):
    target = write("real.yaml", ONE_STEP)
    (tmp_path / "link.yaml").symlink_to(target)
    assert load_workflow(tmp_path / "link.yaml").name == "link"


def test_a_directory_named_like_a_workflow_is_not_read(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(tmp_path / "dir.yaml")
    assert str(info.value) == f"{tmp_path / 'dir.yaml'}:1:1: cannot read file: it is a directory, not a regular file"


def test_read_regular_reads_one_byte_past_the_limit_and_no_more(write, tmp_path):
    path = write("ten.txt", b"0123456789")
    assert read_regular(path, 3) == b"0123"
    assert read_regular(path, 10) == b"0123456789"
    with pytest.raises(NotRegularFile):
        read_regular(tmp_path, 10)
    # A symlink to /dev/zero and a FIFO: see test_catalog.py, which reads them in a child process.


def test_an_alias_bomb_is_refused_with_a_bounded_list_of_problems(write):
    path = write("bomb.yaml", hostile.alias_bomb())
    assert 19_000 < path.stat().st_size <= 20_000
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    found = info.value.problems
    alias = "alias '*s': workflows do not allow YAML aliases, write the value out"
    assert [str(p) for p in found[:2]] == [f"{path}:4:5: {alias}", f"{path}:5:5: {alias}"]
    uses = hostile.alias_bomb().count("*s")
    assert len(found) == MAX_PROBLEMS + 1
    more = f"{uses - MAX_PROBLEMS} more aliases from here on: fix the ones above first"
    assert str(found[-1]) == f"{path}:{MAX_PROBLEMS + 4}:5: {more}"
    assert info.value.total == uses
    assert str(info.value) == f"{found[0]} (and {uses - 1} more)"


@pytest.mark.parametrize("text", ["title: T\nsteps: &s [*s]\n", "title: &t [*t]\nsteps: []\n"])
def test_a_recursive_alias_is_refused(problems, text):
    assert problems(text)[0][2].startswith("alias '*")


def test_many_unknown_references_list_100_problems_then_count_the_rest(write):
    path = write("refs.yaml", hostile.unknown_refs())
    assert 278_000 <= path.stat().st_size < 279_000
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    found = info.value.problems
    assert len(found) == MAX_PROBLEMS + 1
    steps = hostile.unknown_refs().count("- id:")
    assert info.value.total == 4 * steps
    assert found[0].message == (
        "'instructions' of step 's1' refers to unknown step 'x1' (write '$${' for a literal '${')"
    )
    # The 101st problem is the first not listed: the 1st reference of step 26.
    assert (found[-1].line, found[-1].col) == (3 * 26 + 2, 19)  # three lines a step, from line 3
    assert found[-1].message == f"{4 * steps - MAX_PROBLEMS} more problems from here on: fix the ones above first"


def test_a_hint_is_computed_once_per_unknown_name_and_given_each_time(problems):
    text = "title: T\nsteps:\n  - id: outline\n    title: O\n    instructions: x\n"
    text += "  - id: b\n    title: B\n    instructions: ${outlne} ${outlne}\n"
    hint = "refers to unknown step 'outlne', did you mean 'outline'?"
    assert [hint in m for _, _, m in problems(text)] == [True, True]
    # With 300 long ids one hint costs about 840 of the budget's 20,000: paid for each time, the
    # hints would stop after 23 of these 100 problems; paid for once, every one has it.
    steps = "".join(f"  - id: {'long-id-' * 3}{i:06}\n    title: S\n    instructions: x\n" for i in range(300))
    text = f"title: T\nsteps:\n  - id: outline\n    title: O\n    instructions: {'${outlne} ' * MAX_PROBLEMS}\n{steps}"
    assert [hint in m for _, _, m in problems(text)] == [True] * MAX_PROBLEMS


def test_no_hints_past_their_budget_but_the_problems_are_listed(write):
    # 880 KB of long, alike ids: a hint would compare the unknown name with 7,000 of them.
    path = write("alike.yaml", hostile.similar_ids())
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    found = info.value.problems
    assert len(found) == MAX_PROBLEMS + 1
    assert all("refers to unknown step" in p.message for p in found[:-1])
    assert not [p for p in found if "did you mean" in p.message]


def test_long_values_are_shortened_in_problems(problems):
    found = problems(ONE_STEP.replace("id: a", "id: " + "a" * 10_000))
    assert found == [(3, 9, f"step id '{'a' * 69}…' must be {NAME_RULE}")]


@pytest.fixture(params=sorted(LOADERS))
def loader(request):
    """Each YAML loader this PyYAML has: libyaml's (the default when present) and the pure-Python one."""
    return LOADERS[request.param]


def test_deep_nesting_is_a_problem_of_the_file_with_either_loader(write, loader):
    path = write("deep.yaml", hostile.deep_nesting(500))
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path, loader=loader)
    # The first value nested too deep: the '[' of level MAX_NESTING + 1 (the first '[', column 8, is level 2).
    assert str(info.value) == (
        f"{path}:2:{8 + MAX_NESTING - 1}: values nested more than {MAX_NESTING} levels deep (a workflow needs 4)"
    )


def test_more_values_than_a_workflow_needs_are_a_problem_of_the_file_with_either_loader(write, loader):
    path = write("many.yaml", hostile.many_values())  # 1 MiB: 350,000 values
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path, loader=loader)
    assert str(info.value) == f"{path}:1:1: more than {MAX_NODES:,} values: a workflow needs far fewer"


def test_values_up_to_the_limit_are_checked_as_usual(write, loader):
    head = "title: Many values\nsteps: ["
    path = write("many.yaml", hostile.many_values(len(head) + 2 + 3 * (MAX_NODES - 5)))
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path, loader=loader)
    assert info.value.total == MAX_NODES - 5
    assert info.value.problems[0].message == "step 1 must be a mapping (key: value), got 'a'"


def test_nesting_up_to_the_limit_is_checked_as_usual(problems):
    found = problems(hostile.deep_nesting(MAX_NESTING - 2))
    assert found == [(2, 9, "step 1 must be a mapping (key: value), got a list")]


def test_both_loaders_find_the_same_problems(write, loader):
    path = write("wf.yaml", hostile.unknown_refs(3000))
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path, loader=loader)
    with pytest.raises(WorkflowInvalid) as default:
        load_workflow(path)
    assert info.value.problems == default.value.problems


# -- rendering: bounded output ------------------------------------------------------------


def test_render_up_to_the_limit_and_not_one_character_more():
    a = "x" * 1024
    assert len(render("${a}" * 1024, {"a": a})) == MAX_RENDERED
    with pytest.raises(TooLarge) as info:
        render("${a}" * 1024 + "!", {"a": a}, "template of 'b'")
    assert str(info.value) == "template of 'b' would be 1.0 MiB, over 1 MiB: shorten step 'a'"
    # '$${' is one character shorter once rendered; an unknown reference stays as it is.
    text = "${a}" * 1023 + "$${" + "${zz}" + "z" * (1024 - 2 - 5)
    assert len(render(text, {"a": a})) == MAX_RENDERED
    with pytest.raises(TooLarge):
        render(text + "z", {"a": a})


def test_render_names_the_step_that_makes_up_most_of_the_text():
    with pytest.raises(TooLarge) as info:
        render("${a}${b}" * 1000, {"a": "x" * 100, "b": "y" * 2000}, "instructions of 'c'")
    assert str(info.value) == "instructions of 'c' would be 2.0 MiB, over 1 MiB: shorten step 'b'"


def test_a_character_yaml_does_not_allow_is_located_with_either_loader(write, loader):
    path = write("nul.yaml", "title: Café\nsteps: x\x00y\n")
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path, loader=loader)
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == (2, 9)
    assert problem.message.startswith("YAML error: unacceptable character #x0000: ")
