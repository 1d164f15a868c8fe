"""Command line for workflow authors and CI: ``python -m workflow_nvim``.

python -m workflow_nvim validate FILE...   one ``file:line:col: message`` per problem
python -m workflow_nvim list [--dir DIR]   the workflows Neovim would find, with errors
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .catalog import Catalog, SearchDir, default_dirs
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
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.files)
    dirs = default_dirs()
    if args.dir:
        dirs = []
        for d in args.dir:
            kind, sep, path = d.partition("=")
            if not (sep and kind.isalpha()):  # a bare directory (which may itself contain '=')
                kind, path = "path", d
            dirs.append(SearchDir(kind, Path(path)))
    return list_workflows(dirs, args.json)
