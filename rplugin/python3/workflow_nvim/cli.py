"""Command line for workflow authors and CI: ``python -m workflow_nvim``.

python -m workflow_nvim validate FILE...   one ``file:line:col: message`` per problem
python -m workflow_nvim list [--dir DIR]   the workflows Neovim would find, with errors
python -m workflow_nvim log RUN_DIR        a run's per-step history, from git
python -m workflow_nvim export RUN_DIR     the whole run as one Markdown document
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .catalog import Catalog, SearchDir, default_dirs
from .errors import WorkflowError
from .spec import WorkflowInvalid, count, load_workflow


def validate(files: list[str]) -> int:
    """Print every problem of every file; 0 when all are valid, 1 otherwise."""
    bad = 0
    for name in files:
        try:
            wf = load_workflow(Path(name))
        except WorkflowInvalid as e:
            bad += 1
            for p in e.problems:
                print(p)
            continue
        print(f"{name}: ok: {wf.name}, {count(len(wf.steps), 'step')}", file=sys.stderr)
    return 1 if bad else 0


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


KIND_LABEL = {"step": "", "revert": "back to ", "saved": "kept unfinished "}


def show_log(run_dir: str) -> int:
    """Print a run's history, newest first: hash, date, step, title, revised."""
    from .run import Run

    run = Run.open(Path(run_dir))
    try:
        titles = {s.id: s.title for s in run.workflow.steps}
        done = f"{len(run.completed)}/{len(run.workflow.steps)} done"
        print(f"{run.workflow.title} ({run.workflow.name}), run {run.id}: {done}")
        for e in reversed(run.entries):
            revised = " (revised)" if e.revised else ""
            title = titles.get(e.step_id, e.step_id)
            print(
                f"{e.short}  {e.date[:16].replace('T', ' ')}  {KIND_LABEL[e.kind]}{e.index}/{e.total} {title}{revised}"
            )
    finally:
        run.close()
    return 0


def export(run_dir: str) -> int:
    """Print the whole run as one Markdown document: the steps in order, each with its notes."""
    from .run import Run

    run = Run.open(Path(run_dir))
    try:
        wf = run.workflow
        out = [
            f"# {wf.title}",
            "",
            f"Run {run.id} of workflow `{wf.name}`: {len(run.completed)}/{len(wf.steps)} steps done.",
        ]
        if wf.description:
            out += ["", wf.description]
        for step in wf.steps:
            text = run.text(step).rstrip("\n")
            state = "" if step.id in run.completed else " (not done)"
            out += ["", f"## {step.index}. {step.title}{state}", ""]
            out.append(text if text else "_(not started)_")
            notes_file = run.notes_path(step)
            if notes_file.exists():
                try:
                    notes = json.loads(notes_file.read_text(encoding="utf-8"))
                except ValueError:
                    notes = {}
                items = notes.get("notes") or []
                out += [
                    "",
                    f"> Notes by {notes.get('model', 'the model')}"
                    + (f": {notes['summary']}" if notes.get("summary") else ""),
                ]
                out += [f"> - line {n.get('line')} ({n.get('severity')}): {n.get('note')}" for n in items]
        print("\n".join(out))
    finally:
        run.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow_nvim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_validate = sub.add_parser("validate", help="check workflow files; exit 1 on any problem")
    p_validate.add_argument("files", nargs="+", metavar="FILE")
    p_list = sub.add_parser("list", help="list the workflows Neovim would find")
    p_list.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="[KIND=]DIR",
        help="search these directories in this order instead of the defaults",
    )
    p_list.add_argument("--json", action="store_true", help="machine-readable output")
    p_log = sub.add_parser("log", help="a run's per-step history, from git")
    p_log.add_argument("run_dir", metavar="RUN_DIR")
    p_export = sub.add_parser("export", help="the whole run as one Markdown document")
    p_export.add_argument("run_dir", metavar="RUN_DIR")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.files)
    if args.command in ("log", "export"):
        try:
            return show_log(args.run_dir) if args.command == "log" else export(args.run_dir)
        except WorkflowError as e:
            print(f"{parser.prog}: {e}", file=sys.stderr)
            return 1
    dirs = default_dirs()
    if args.dir:
        dirs = []
        for d in args.dir:
            kind, sep, path = d.partition("=")
            if not (sep and kind.isalpha()):  # a bare directory (which may itself contain '=')
                kind, path = "path", d
            dirs.append(SearchDir(kind, Path(path)))
    return list_workflows(dirs, args.json)
