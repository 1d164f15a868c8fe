"""Command line for workflow authors and CI: ``python -m workflow_nvim COMMAND``.

``validate``, ``list``, ``runs``, ``log`` and ``export`` are here; ``serve``, ``install``, ``doctor`` and
``schema`` are dispatched by __main__.py to their own modules before this one is imported. ``--help``
is plain text (USAGE below): it is read in a terminal.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from .catalog import Catalog, SearchDir, default_dirs
from .errors import WorkflowError
from .spec import WorkflowInvalid, count, read_text

PROG = "python -m workflow_nvim"

USAGE = """\
The command line of workflow.nvim, for workflow authors and CI.

commands:
  validate FILE...  check workflow files: their errors and warnings
  list              the workflows the editor would find, with their errors
  runs [DIR]        every run, newest first: progress, finished, last change
  log RUN_DIR       a run's per-step history, from git
  export RUN_DIR    a whole run as one Markdown document
  reannotate RUN_DIR STEP  ask the model again; are the step's notes the same?
  schema            print the JSON Schema of workflow files
  install           make the plugin's own Python environment (:WorkflowInstall)
  doctor            what :checkhealth workflow reports
  serve             the server an editor starts (not for people)

Run it with the plugin's own Python environment, which :WorkflowInstall makes:
  {python} -m workflow_nvim validate FILE...

For one command: {prog} COMMAND --help

exit status:
  0  done (validate: every file is valid; warnings are allowed)
  1  a file has errors or cannot be read (validate, list), or a run cannot be read
  2  wrong usage
  3  this Python lacks a package the command needs (the line says which)
  4  reannotate compared nothing (the line says why); 1 there: the notes differ
"""

VALIDATE = """\
Check workflow files. On stdout, each problem as FILE:LINE:COL: MESSAGE
(a warning as FILE:LINE:COL: warning: MESSAGE; columns count bytes, as
Vim's quickfix does), then FILE: ok: NAME, N steps for each valid file.
Warnings never make a workflow invalid.

exit status: 0 every file is valid (with or without warnings), 1 a file
has errors or cannot be read, 2 wrong usage, 3 PyYAML is missing.
"""

# The packages each command imports, by import name (dependencies.py names their distributions).
NEEDS = {
    "validate": ("yaml",),
    "list": ("yaml",),
    "runs": ("yaml", "git"),
    "log": ("yaml", "git"),
    "export": ("yaml", "git"),
    "reannotate": ("yaml", "git", "ollama"),
}

REANNOTATE = """\
Send the request recorded in a step's notes file (the prompt, the options)
again to the recorded model, and say whether the notes that come back are
the recorded ones. Nothing is sent when the server's digest for the model
is not the recorded one (--force sends anyway). The notes file is not
changed. See :help workflow-reproducible.

exit status: 0 the same notes, 1 different notes (the lines say how),
2 wrong usage, 3 a package is missing, 4 nothing compared (the line says
why: no recorded request, another digest, the server could not be asked).
"""


def plugin_python() -> str:
    """The plugin's own environment's Python, as the person types it (``~`` for home)."""
    from . import places
    from .display import tilde
    from .install import venv_python

    try:
        return tilde(venv_python(places.plugin().venv))
    except (OSError, RuntimeError):  # no home directory to find it from
        return "$XDG_DATA_HOME/workflow.nvim/venv/bin/python"


def missing_packages(command: str) -> str | None:
    """One line when this Python lacks a package ``command`` needs, saying what to run instead."""
    from . import dependencies
    from .display import tilde

    lacking = [mod for mod in NEEDS.get(command, ()) if importlib.util.find_spec(mod) is None]
    if not lacking:
        return None
    dists = [dependencies.DEPENDENCIES[mod][0] for mod in lacking]
    return (
        f"{PROG} {command}: {tilde(sys.executable)} has no {', '.join(dists)}: use the plugin's own environment, "
        f"made by :WorkflowInstall: {plugin_python()} -m workflow_nvim {command} ... "
        f"(or install it: {dependencies.install_command(dists)})"
    )


def check_file(name: str) -> dict[str, Any]:
    """The result of one file, as ``validate --json`` gives it: file, ok, workflow, steps, summary,
    diagnostics (protocol.Diagnostic: line, col in bytes, severity, message)."""
    from .diagnostics import as_items, problems_of_text, summary

    try:
        text = read_text(Path(name))[1]
    except WorkflowInvalid as e:
        problems, workflow, text = list(e.problems), None, ""
    else:
        problems, workflow = problems_of_text(text, name)
    return {
        "file": name,
        "ok": workflow is not None,
        "workflow": workflow.name if workflow else None,
        "steps": len(workflow.steps) if workflow else None,
        "summary": summary(problems, workflow),
        "diagnostics": as_items(problems, text.split("\n") if text else []),  # unread: columns as they are
    }


def validate(files: list[str], as_json: bool = False, warnings: bool = True) -> int:
    """Print the results and problems of each file on stdout; 0 when all are valid, 1 otherwise."""
    results = [check_file(name) for name in files]
    if not warnings:
        for r in results:
            r["diagnostics"] = [d for d in r["diagnostics"] if d["severity"] != "warning"]
    if as_json:
        print(json.dumps({"ok": all(r["ok"] for r in results), "files": results}, ensure_ascii=False, indent=2))
    else:
        for r in results:
            for d in r["diagnostics"]:
                kind = "warning: " if d["severity"] == "warning" else ""
                print(f"{r['file']}:{d['line']}:{d['col']}: {kind}{d['message']}")
            if r["ok"]:
                shown = len(r["diagnostics"])
                more = f" ({count(shown, 'warning')})" if shown else ""
                print(f"{r['file']}: ok: {r['workflow']}, {count(r['steps'], 'step')}{more}")
    return 0 if all(r["ok"] for r in results) else 1


def list_workflows(dirs: list[SearchDir], as_json: bool) -> int:
    """Print the workflows found in ``dirs``; 1 if any of them is invalid."""
    entries = Catalog().entries(dirs)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": e.name,
                        "kind": e.kind,
                        "path": str(e.path),
                        "title": e.workflow.title if e.workflow else None,
                        "steps": len(e.workflow.steps) if e.workflow else None,
                        "problems": [str(p) for p in e.problems],
                        "shadowed": [str(p) for p in e.shadowed],
                    }
                    for e in entries
                ]
            )
        )
    else:
        for e in entries:
            title = e.workflow.title if e.workflow else "INVALID"
            print(f"{e.name:<16} {title}  ({e.kind}: {e.path})")
            for p in e.problems:
                print(f"  {p}")
            for s in e.shadowed:
                print(f"  shadows {s}")
    return 0 if all(e.ok for e in entries) else 1


def list_runs(directory: str | None, as_json: bool) -> int:
    """Print every run in ``directory`` (default: where the editor makes them), newest first, as
    :WorkflowRuns shows them; with ``as_json``, their summaries."""
    from . import places, runlist

    if directory and not Path(directory).is_dir():
        why = "not a directory" if Path(directory).exists() else "no such directory"
        print(f"{PROG} runs: {directory}: {why}", file=sys.stderr)
        return 2
    dirs = [Path(directory)] if directory else places.runs_read(places.plugin().runs)
    found = runlist.summaries(dirs, places.plugin().cache / "runs.json", Catalog(places.plugin().spec_cache))
    if as_json:
        print(json.dumps({"runs": found}, indent=2))
    else:
        print("\n".join(runlist.render(found, dirs[0], keys=False)["lines"]))
    return 1 if any("problem" in s for s in found) else 0


def show_log(run_dir: str) -> int:
    """Print a run's history, newest first: hash, date, step, title, revised."""
    from .run import Run

    run = Run.open(Path(run_dir))
    try:
        titles = {s.id: s.title for s in run.workflow.steps}
        done = f"{len(run.completed)}/{len(run.workflow.steps)} done"
        print(f"{run.workflow.title} ({run.workflow.name}), run {run.id}: {done}")
        for e in reversed(run.timeline()):
            print(e.line(titles.get(e.step_id, e.step_id)))
    finally:
        run.close()
    return 0


def export(run_dir: str) -> int:
    """Print the whole run as one Markdown document (export.py)."""
    from .export import markdown
    from .run import Run

    run = Run.open(Path(run_dir))
    try:
        print(markdown(run))
    finally:
        run.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} COMMAND [ARGS]",
        description=USAGE.format(python=plugin_python(), prog=PROG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS)
    p_validate = sub.add_parser(
        "validate",
        prog=f"{PROG} validate",
        usage=f"{PROG} validate [--json] [--no-warnings] FILE...",
        description=VALIDATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_validate.add_argument("files", nargs="+", metavar="FILE")
    p_validate.add_argument(
        "--json",
        action="store_true",
        help="one JSON document: {ok, files: [{file, ok, workflow, steps, summary, diagnostics: "
        "[{line, col, severity, message}]}]}",
    )
    p_validate.add_argument("--no-warnings", action="store_true", help="leave the warnings out")
    p_list = sub.add_parser(
        "list", prog=f"{PROG} list", description="The workflows the editor would find, with their errors."
    )
    p_list.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="[KIND=]DIR",
        help="search these directories in this order instead of the defaults",
    )
    p_list.add_argument("--json", action="store_true", help="machine-readable output")
    p_runs = sub.add_parser(
        "runs",
        prog=f"{PROG} runs",
        description="Every run, newest first, as :WorkflowRuns lists them: start, workflow, progress "
        "(3/7, or finished), last change, run id.",
    )
    p_runs.add_argument(
        "dir", nargs="?", metavar="DIR", help="the runs directory (default: where the editor makes runs)"
    )
    p_runs.add_argument(
        "--json",
        action="store_true",
        help="one JSON document: {runs: [{run, dir, started, workflow, title, done, total, next, last, "
        "finished, finished_at}]} (a run that cannot be read: {run, dir, started, problem})",
    )
    p_log = sub.add_parser("log", prog=f"{PROG} log", description="A run's per-step history, from git.")
    p_log.add_argument("run_dir", metavar="RUN_DIR")
    p_export = sub.add_parser("export", prog=f"{PROG} export", description="The whole run as one Markdown document.")
    p_export.add_argument("run_dir", metavar="RUN_DIR")
    p_reannotate = sub.add_parser(
        "reannotate",
        prog=f"{PROG} reannotate",
        usage=f"{PROG} reannotate [--force] [--host URL] [--allow-remote] RUN_DIR STEP",
        description=REANNOTATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_reannotate.add_argument("run_dir", metavar="RUN_DIR")
    p_reannotate.add_argument("step", metavar="STEP", help="the step's number or id")
    p_reannotate.add_argument("--force", action="store_true", help="send even when the model's digest changed")
    p_reannotate.add_argument("--host", help="the Ollama server (default: $OLLAMA_HOST, else this machine's)")
    p_reannotate.add_argument("--allow-remote", action="store_true", help="the host may be another machine")
    for name in ("schema", "install", "doctor", "serve"):  # run by __main__.py before this module
        sub.add_parser(name, add_help=False)
    args, extra = parser.parse_known_args(argv)
    if extra:  # said with the command's own usage, not the top one
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    lacking = missing_packages(args.command)
    if lacking:
        print(lacking, file=sys.stderr)
        return 3
    if args.command == "validate":
        return validate(args.files, args.json, not args.no_warnings)
    if args.command == "runs":
        return list_runs(args.dir, args.json)
    if args.command == "reannotate":
        from .reproduce import NOT_COMPARED, reannotate

        try:
            outcome = reannotate(Path(args.run_dir), args.step, args.force, args.host, args.allow_remote)
        except WorkflowError as e:
            print(f"{parser.prog} reannotate: {e}", file=sys.stderr)
            return NOT_COMPARED
        print("\n".join(outcome.lines))
        return outcome.status
    if args.command in ("log", "export"):
        try:
            return show_log(args.run_dir) if args.command == "log" else export(args.run_dir)
        except WorkflowError as e:
            print(f"{parser.prog}: {e}", file=sys.stderr)
            return 1
    if args.command != "list":
        parser.error(f"run {args.command} as `{PROG} {args.command}`")
    dirs = default_dirs()
    if args.dir:
        dirs = []
        for d in args.dir:
            kind, sep, path = d.partition("=")
            if not (sep and kind.isalpha()):  # a bare directory (which may itself contain '=')
                kind, path = "path", d
            dirs.append(SearchDir(kind, Path(path)))
    return list_workflows(dirs, args.json)
