"""python -m workflow_nvim: validate and list, for authors and CI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_nvim.cli import main

ROOT = Path(__file__).resolve().parents[2]

BROKEN = "title: Broken\nsteps:\n  - id: a\n    title: A\n    intructions: x\n"
PROBLEM_LINE = re.compile(r"^(?P<file>.+):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): (?P<message>\S.*)$")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflow_nvim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_validate_a_valid_file_exits_0_and_says_ok_on_stdout(write, tmp_path, blog_yaml):
    write("blog.yaml", blog_yaml)
    r = cli("validate", "blog.yaml", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "blog.yaml: ok: blog, 3 steps\n", "")


def test_validate_prints_file_line_col_message_and_exits_1(write, tmp_path, blog_yaml):
    write("good.yaml", blog_yaml.replace("name: blog\n", ""))
    write("broken.yaml", BROKEN)
    write("syntax.yaml", 'title: "T\nsteps:\n  - id: a\n')
    r = cli("validate", "good.yaml", "broken.yaml", "syntax.yaml", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines == [
        "good.yaml: ok: good, 3 steps",  # results and problems, in the order of the files, all on stdout
        "broken.yaml:3:5: step 1 is missing the required key 'instructions'",
        "broken.yaml:5:5: unknown key 'intructions', did you mean 'instructions'? "
        "(keys of step 1: id, title, instructions, template, filetype, annotate, model, "
        "check, run, autorun, optional)",
        "syntax.yaml:1:8: YAML syntax error: found unexpected end of stream while scanning a quoted scalar; "
        'the quote (") opened here is never closed: close it at the end of the value, or use `|`',
    ]
    assert all(PROBLEM_LINE.match(line) for line in lines[1:])
    assert r.stderr == ""


TRIP = """\
title: Trip
steps:
  - id: where
    title: Where
    instructions: Write where you go.
    template: |
      # Destination
      Why:
  - id: budget
    title: Budget
    instructions: Set a budget for the trip to ${where}.
"""


def test_validate_prints_warnings_and_exits_0_when_there_are_only_warnings(write, tmp_path):
    write("trip.yaml", TRIP)
    r = cli("validate", "trip.yaml", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        "trip.yaml:11:48: warning: '${where}' pastes the lines of step 'where' (its template has several) "
        "into the middle of this line: put ${where} on a line of its own in a `|` block",
        "trip.yaml: ok: trip, 2 steps (1 warning)",
    ]
    quiet = cli("validate", "--no-warnings", "trip.yaml", cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout) == (0, "trip.yaml: ok: trip, 2 steps\n")


def test_validate_json_is_one_document_with_every_files_diagnostics(write, tmp_path, blog_yaml):
    write("trip.yaml", TRIP.replace("Write where", "Write wh\u00e9re").replace("# Destination", "# Dest ${budget}"))
    write("blog.yaml", blog_yaml)
    r = cli("validate", "--json", "trip.yaml", "blog.yaml", "missing.yaml", cwd=tmp_path)
    assert r.returncode == 1
    document = json.loads(r.stdout)
    assert document["ok"] is False
    trip, blog, missing = document["files"]
    assert (trip["file"], trip["ok"], trip["workflow"], trip["steps"]) == ("trip.yaml", False, None, None)
    assert [(d["line"], d["col"], d["severity"]) for d in trip["diagnostics"]] == [
        (7, 14, "error"),
        (11, 48, "warning"),
    ]
    assert trip["diagnostics"][0]["message"].startswith("'template' of step 'where' refers to 'budget'")
    assert trip["summary"].startswith("1 error, 1 warning: line 7: ")
    assert blog == {
        "file": "blog.yaml",
        "ok": True,
        "workflow": "blog",
        "steps": 3,
        "summary": "ok: blog, 3 steps",
        "diagnostics": [],
    }
    assert missing["ok"] is False and missing["diagnostics"][0]["message"].startswith("cannot read file")
    assert cli("validate", "--json", "blog.yaml", cwd=tmp_path).returncode == 0


def test_validate_json_columns_count_bytes_as_the_editor_does(write, tmp_path):
    write("trip.yaml", TRIP.replace("title: Budget", "title: Budg\u00e9t").replace("to ${where}", "to \u00e9 ${where}"))
    r = cli("validate", "--json", "trip.yaml", cwd=tmp_path)
    [warning] = json.loads(r.stdout)["files"][0]["diagnostics"]
    line = (tmp_path / "trip.yaml").read_bytes().split(b"\n")[warning["line"] - 1]
    assert line[warning["col"] - 1 :].startswith(b"${where}")


def test_help_is_plain_text_with_the_commands_and_the_exit_statuses(tmp_path):
    r = cli("--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "``" not in r.stdout and not re.search(r"^\.\. |:\w+:`", r.stdout, re.M)  # no reST
    for command in ("validate", "list", "log", "export", "schema", "install", "doctor", "serve"):
        assert re.search(rf"^  {command}\b", r.stdout, re.M), command
    assert "exit status:\n  0  done" in r.stdout
    assert "workflow.nvim/venv/bin/python -m workflow_nvim validate FILE..." in r.stdout
    validate = cli("validate", "--help", cwd=tmp_path)
    assert "exit status: 0 every file is valid" in validate.stdout and "--no-warnings" in validate.stdout


def test_without_pyyaml_validate_says_in_one_line_what_to_run(tmp_path, write, blog_yaml):
    from tests.pythons import bare_python

    write("blog.yaml", blog_yaml)
    python = bare_python(tmp_path / "bin")  # no site-packages: no PyYAML
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT / "rplugin" / "python3")}
    r = subprocess.run(
        [str(python), "-m", "workflow_nvim", "validate", "blog.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (r.returncode, r.stdout) == (3, "")
    [line] = r.stderr.splitlines()
    assert re.fullmatch(
        r"python -m workflow_nvim validate: \S+ has no pyyaml: use the plugin's own environment, made by "
        r":WorkflowInstall: ~/\.local/share/workflow\.nvim/venv/bin/python -m workflow_nvim validate \.\.\. "
        r"\(or install it: \S+ -m pip install pyyaml\)",
        line,
    ), line


def test_validate_bad_encoding_and_missing_file(write, tmp_path):
    write("latin1.yaml", b"title: caf\xe9\n")
    r = cli("validate", "latin1.yaml", "missing.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "latin1.yaml:1:11: byte 0xe9 is not UTF-8: save the file as UTF-8",
        "missing.yaml:1:1: cannot read file: No such file or directory",
    ]
    assert "Traceback" not in r.stderr


def test_validate_needs_a_file(tmp_path):
    r = cli("validate", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "usage: python -m workflow_nvim validate [--json] [--no-warnings] FILE...",
        "python -m workflow_nvim validate: error: the following arguments are required: FILE",
    ]


def test_an_unknown_option_is_said_with_the_commands_own_usage(tmp_path, write, blog_yaml):
    r = cli("validate", "--bogus", str(write("blog.yaml", blog_yaml)), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "usage: python -m workflow_nvim validate [--json] [--no-warnings] FILE...",
        "python -m workflow_nvim validate: error: unrecognized arguments: --bogus",
    ]


def test_list_json_shows_kinds_problems_and_shadowing(write, tmp_path, blog_yaml):
    project, bundled = tmp_path / "project", tmp_path / "bundled"
    write("blog.yaml", blog_yaml, project)
    write("blog.yaml", blog_yaml, bundled)
    broken = write("broken.yaml", BROKEN, bundled)
    r = cli("list", "--dir", f"project={project}", "--dir", f"bundled={bundled}", "--json", cwd=tmp_path)
    assert r.returncode == 1  # one of them is invalid
    assert json.loads(r.stdout) == [
        {
            "name": "blog",
            "kind": "project",
            "path": str(project / "blog.yaml"),
            "title": "Write a blog post",
            "steps": 3,
            "problems": [],
            "shadowed": [str(bundled / "blog.yaml")],
        },
        {
            "name": "broken",
            "kind": "bundled",
            "path": str(broken),
            "title": None,
            "steps": None,
            "problems": [
                f"{broken}:5:5: unknown key 'intructions', did you mean 'instructions'? "
                "(keys of step 1: id, title, instructions, template, filetype, annotate, model, "
                "check, run, autorun, optional)",
                f"{broken}:3:5: step 1 is missing the required key 'instructions'",
            ],
            "shadowed": [],
        },
    ]


def test_list_text_exits_0_when_all_are_valid(write, tmp_path, capsys, blog_yaml):
    d = tmp_path / "wf"
    write("blog.yaml", blog_yaml, d)
    assert main(["list", "--dir", str(d)]) == 0
    assert capsys.readouterr().out == f"blog             Write a blog post  (path: {d / 'blog.yaml'})\n"


def test_list_text_shows_problems_and_shadowed_files(write, tmp_path, capsys, blog_yaml):
    a, b = tmp_path / "a", tmp_path / "b"
    write("blog.yaml", BROKEN, a)
    write("blog.yaml", blog_yaml, b)
    assert main(["list", "--dir", f"user={a}", "--dir", f"bundled={b}"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"blog             INVALID  (user: {a / 'blog.yaml'})",
        f"  {a / 'blog.yaml'}:5:5: unknown key 'intructions', did you mean 'instructions'? "
        "(keys of step 1: id, title, instructions, template, filetype, annotate, model, "
        "check, run, autorun, optional)",
        f"  {a / 'blog.yaml'}:3:5: step 1 is missing the required key 'instructions'",
        f"  shadows {b / 'blog.yaml'}",
    ]


@pytest.mark.parametrize(
    ("arg", "kind", "subdir"),
    [
        pytest.param("{d}", "path", "x=y", id="bare-dir-containing-equals"),
        pytest.param("project={d}", "project", "x=y", id="kind-and-dir-containing-equals"),
        pytest.param("user={d}", "user", "plain", id="kind-and-dir"),
    ],
)
def test_list_dir_option_kind_and_path(write, tmp_path, capsys, arg, kind, subdir, blog_yaml):
    d = tmp_path / subdir
    write("blog.yaml", blog_yaml, d)
    assert main(["list", "--json", "--dir", arg.format(d=d)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["kind"], entry["path"]) == (kind, str(d / "blog.yaml"))


def test_list_defaults_to_the_project_user_and_bundled_dirs(write, tmp_path, monkeypatch, capsys, blog_yaml):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    write("mine.yaml", blog_yaml.replace("name: blog\n", ""), tmp_path / ".workflows")
    write("theirs.yaml", blog_yaml.replace("name: blog\n", ""), tmp_path / "config" / "workflow.nvim" / "workflows")
    write("older.yaml", blog_yaml.replace("name: blog\n", ""), tmp_path / "config" / "nvim" / "workflows")
    main(["list", "--json"])
    kinds = {e["name"]: e["kind"] for e in json.loads(capsys.readouterr().out)}
    assert (kinds.pop("mine"), kinds.pop("theirs"), kinds.pop("older")) == ("project", "user", "user")
    assert kinds, "the bundled workflows are listed too"
    assert set(kinds.values()) == {"bundled"}


def test_log_and_export_read_a_run_outside_neovim(tmp_path, blog_yaml, write):
    import json as _json

    from workflow_nvim.session import Session

    project = tmp_path / "project"
    write("blog.yaml", blog_yaml, project)
    session = Session()
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}}
    opened = session.handle("start", {**env, "args": ["blog"]})["open"]
    Path(opened["path"]).write_text("Cats\n", encoding="utf-8")
    run = session.run
    assert run is not None
    notes = {"model": "tiny", "summary": "Short.", "notes": [{"line": 1, "severity": "hint", "note": "Say more."}]}
    run.notes_path(run.current).write_text(_json.dumps(notes), encoding="utf-8")
    session.handle("next", {**env, "buffer_step": {"run": run.id, "id": "topic"}})

    log = subprocess.run([sys.executable, "-m", "workflow_nvim", "log", str(run.dir)], capture_output=True, text=True)
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    assert lines[0] == f"Write a blog post (blog), run {run.id}: 1/3 done"
    assert lines[1].startswith(run.entries[0].short) and lines[1].endswith("1/3 Pick a topic")

    export = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "export", str(run.dir)], capture_output=True, text=True
    )
    assert export.returncode == 0, export.stderr
    doc = export.stdout
    assert doc.startswith("# Write a blog post\n")
    assert "## 1. Pick a topic\n\nCats\n\n> Notes by tiny: Short.\n> - line 1 (hint): Say more." in doc
    assert "## 2. Outline (not done)" in doc

    missing = subprocess.run(
        [sys.executable, "-m", "workflow_nvim", "log", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "is not a run directory" in missing.stderr


# -- hostile input (issue 10) ---------------------------------------------------------


def test_validate_a_fifo_does_not_wait_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "evil.yaml")
    r = cli("validate", "evil.yaml", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "evil.yaml:1:1: cannot read file: it is a FIFO, not a regular file\n")


def _exported_run(tmp_path: Path, write, blog_yaml: str, notes: str | None = None) -> Path:
    """A run of 'blog' with step 1 done; ``notes`` is the text of step 1's notes file."""
    from workflow_nvim.session import Session

    project = tmp_path / "project"
    write("blog.yaml", blog_yaml, project)
    session = Session()
    env = {"dirs": [["project", str(project)]], "options": {"runs_dir": str(tmp_path / "runs")}}
    opened = session.handle("start", {**env, "args": ["blog"]})["open"]
    Path(opened["path"]).write_text("Cats\n", encoding="utf-8")
    run = session.run
    assert run is not None
    if notes is not None:
        run.notes_path(run.current).write_text(notes, encoding="utf-8")
    session.handle("next", {**env, "buffer_step": {"run": run.id, "id": "topic"}})
    return run.dir


@pytest.mark.parametrize(
    ("notes", "shown"),
    [
        ("[1, 2]", "> _(the notes file 01-topic.notes.json is not a JSON object)_"),
        ('"notes"', "> _(the notes file 01-topic.notes.json is not a JSON object)_"),
        ("null", "> _(the notes file 01-topic.notes.json is not a JSON object)_"),
        ("{not json", "> _(the notes file 01-topic.notes.json is not JSON)_"),
        ("[" * 100_000, "> _(the notes file 01-topic.notes.json is not JSON)_"),
        ('{"model": 3, "summary": ["x"], "notes": "many"}', "> Notes by the model"),
        (
            '{"notes": [1, null, {"line": "2", "note": 5}, {"line": true, "severity": 7, "note": "Kept."}]}',
            "> Notes by the model\n> - line ?: Kept.",
        ),
    ],
    ids=["list", "string", "null", "not-json", "deep", "wrong-types", "wrong-items"],
)
def test_export_survives_a_notes_file_that_is_not_what_it_should_be(tmp_path, write, blog_yaml, notes, shown):
    run_dir = _exported_run(tmp_path, write, blog_yaml, notes)
    r = cli("export", str(run_dir), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"## 1. Pick a topic\n\nCats\n\n{shown}\n\n## 2. Outline (not done)" in r.stdout


def test_export_shows_the_models_text_without_letting_it_make_markdown(tmp_path, write, blog_yaml):
    attack = "Fine.\n# Owned\n<img src=x onerror=alert(1)>\n```\n![pixel](http://example.org/p.png) *bold*"
    notes = {"model": "tiny\n## Model", "summary": attack, "notes": [{"line": 1, "severity": "<b>", "note": attack}]}
    title = 'title: "Write\\n# Injected <script>x</script>"'
    run_dir = _exported_run(tmp_path, write, blog_yaml.replace("title: Write a blog post", title), json.dumps(notes))
    r = cli("export", str(run_dir), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shown = r"Fine. # Owned &lt;img src=x onerror=alert(1)&gt; \`\`\` !\[pixel\](http://example.org/p.png) \*bold\*"
    assert f"> Notes by tiny ## Model: {shown}\n> - line 1 (&lt;b&gt;): {shown}\n" in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0] == r"# Write # Injected &lt;script&gt;x&lt;/script&gt;"
    # The only headings are the export's own, and nothing can open a fence or HTML.
    assert [line for line in lines if line.startswith("#")] == [
        lines[0],
        "## 1. Pick a topic",
        "## 2. Outline (not done)",
        "## 3. Draft (not done)",
    ]
    assert not [line for line in lines if line.lstrip().startswith(("```", "~~~", "<"))]


def test_export_escapes_the_workflow_description_line_by_line(tmp_path, write, blog_yaml):
    description = "description: |\n  # Not a heading\n  1. not a list\n  <div>no html</div>\n  plain text\n"
    run_dir = _exported_run(
        tmp_path, write, blog_yaml.replace("description: |\n  From an idea to a draft.\n", description)
    )
    r = cli("export", str(run_dir), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\n\\# Not a heading\n1\\. not a list\n&lt;div&gt;no html&lt;/div&gt;\nplain text\n" in r.stdout


def test_runs_lists_every_run_as_the_editor_does_and_as_json(tmp_path, blog_yaml, write):
    import datetime as dt

    from workflow_nvim.run import Run
    from workflow_nvim.spec import load_workflow

    blog = load_workflow(write("blog.yaml", blog_yaml, tmp_path / "project"))
    runs = tmp_path / "runs"
    run = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    run.enter(run.frontier).write_text("Cats\n", encoding="utf-8")
    run.complete(run.frontier)
    Run.start(blog, runs, dt.datetime(2024, 3, 6, 9, 0, 0))

    text = cli("runs", str(runs), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"2 runs in {runs}, 0 finished"
    assert lines[1] == "2024-03-06 09:00  Write a blog post  0/3"  # no commit: no last change
    assert lines[2].startswith("2024-03-05 14:07  Write a blog post  1/3 ")

    listed = json.loads(cli("runs", "--json", str(runs), cwd=tmp_path).stdout)["runs"]
    assert [(r["run"], r["done"], r["total"], r["finished"], r["next"]) for r in listed] == [
        ("20240306-090000-blog", 0, 3, False, "Pick a topic"),
        (run.id, 1, 3, False, "Outline"),
    ]


def test_runs_lists_a_run_without_its_snapshot_with_its_problem_and_refuses_a_missing_dir(tmp_path, blog_yaml, write):
    import datetime as dt

    from workflow_nvim.run import Run
    from workflow_nvim.spec import load_workflow

    blog = load_workflow(write("blog.yaml", blog_yaml, tmp_path / "project"))
    runs = tmp_path / "runs"
    kept = Run.start(blog, runs, dt.datetime(2024, 3, 5, 14, 7, 9))
    lost = Run.start(blog, runs, dt.datetime(2024, 3, 6, 9, 0, 0))
    (lost.dir / "workflow.yaml").unlink()

    text = cli("runs", str(runs), cwd=tmp_path)
    assert text.returncode == 1, text.stderr  # a run that cannot be read
    assert text.stdout.splitlines()[:2] == [
        f"2 runs in {runs}, 0 finished",
        f"2024-03-06 09:00  {lost.id}: no workflow.yaml (the workflow it follows): it cannot be read",
    ]
    listed = json.loads(cli("runs", "--json", str(runs), cwd=tmp_path).stdout)["runs"]
    assert [(r["run"], "problem" in r) for r in listed] == [(lost.id, True), (kept.id, False)]

    missing = cli("runs", str(tmp_path / "nonexistent"), cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == f"python -m workflow_nvim runs: {tmp_path / 'nonexistent'}: no such directory\n"
