"""``python -m workflow_nvim doctor``: what :checkhealth workflow reports, decided here.

    python -m workflow_nvim doctor [--json] [--python PATH] [--params FILE|-]

Without ``--params``: this interpreter and each dependency (found, version,
what needs it), which is all a front needs to choose an interpreter. With
``--params`` (a JSON object, the parameters a front sends with every command:
``cwd`` and ``options``): also git and the repository runs go into, the
plugin's places (places.py: the runs directory, and what is still read from
Neovim's older places), every workflow file, and where annotation text goes.

The answer is sections of items, each with a level (``ok``, ``info``,
``warning``, ``error``), a line of text and advice: a front draws them and
decides nothing. ``--python`` names this interpreter as the front started it
(a wrapper script, say), for the commands the advice gives.

Standard library only at import: it must answer with a Python that has none
of the dependencies, to say which are missing. Workflow files are checked
only when pyyaml is there.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import dependencies, destination, places, protocol
from .display import tilde

OLDEST_PYTHON = (3, 9)

Item = dict[str, Any]


def item(level: str, text: str, *advice: str) -> Item:
    """One line of the report; ``level`` is ok, info, warning or error."""
    return {"level": level, "text": text, "advice": [a for a in advice if a]}


def python_section(python: str) -> tuple[dict[str, Any], list[str], list[str]]:
    """This interpreter and its packages; and the missing ones, all and required."""
    items: list[Item] = []
    version = sys.version.split()[0]
    if sys.version_info < OLDEST_PYTHON:
        items.append(item("error", f"Python {version} is too old", "workflow.nvim needs Python 3.9 or newer"))
    else:
        items.append(item("ok", f"Python {version}: {python}"))
    report = dependencies.report()
    missing: list[str] = []
    required = dependencies.required()
    required_missing: list[str] = []
    for dep in report["deps"]:  # type: ignore[attr-defined]
        dist, needed_by = dep["dist"], dep["needed_by"]
        if dep["found"]:
            items.append(item("ok", f"{dist} {dep['version'] or '(version unknown)'}"))
            continue
        missing.append(dist)
        if dependencies.import_name(dist) in required:
            required_missing.append(dist)
            items.append(item("error", f"{dist} is not installed for {python}"))
        else:
            items.append(item("warning", f"{dist} is not installed for {python} (needed by {needed_by})"))
    if missing:
        command = f"{python} -m pip install {' '.join(missing)}"
        items.append(
            item(
                "info",
                f"install what is missing: run :WorkflowInstall (the plugin's own environment), or `{command}`",
            )
        )
    return {"name": "Python", "items": items}, missing, required_missing


def _git(cwd: Path, *args: str) -> tuple[int, str]:
    try:
        out = subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, str(e)
    return out.returncode, out.stdout.strip()


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


# A run that could start now: :checkhealth asks where its commits would go.
_PROBE_RUN = "20000101-000000-workflow"
IDENTITY_ADVICE = "git config --global user.name 'Your Name'; git config --global user.email you@example.org"


def _identity(cwd: Path) -> str:
    """Who git commits as in ``cwd`` ("Name <email>"), or "" when it has no identity."""
    status, ident = _git(cwd, "var", "GIT_COMMITTER_IDENT")
    return ident.rsplit(" ", 2)[0] if status == 0 and ident else ""  # without the time and zone


def git_section(runs_dir: Path) -> dict[str, Any]:
    """git itself, and the repository and identity a run's commits would get."""
    items: list[Item] = []
    status, version = _git(Path.cwd(), "--version")
    if status != 0:
        items.append(item("error", "git is not on PATH", "install git: every completed step is a git commit"))
        return {"name": "git", "items": items}
    items.append(item("ok", version))
    from .history import STANDALONE_EMAIL, STANDALONE_NAME, enclosing_repository  # the rule a run follows

    top = enclosing_repository(runs_dir / _PROBE_RUN)
    if top is None:
        # A repository of its own: git's global identity, else the fallback history.py gives it.
        import tempfile

        who = _identity(Path(tempfile.gettempdir()))
        if who:
            items.append(item("ok", f"each run is a git repository of its own, committed as {who}"))
        else:
            fallback = f"{STANDALONE_NAME} <{STANDALONE_EMAIL}>"
            items.append(
                item(
                    "warning",
                    f"each run is a git repository of its own, committed as {fallback}: "
                    "git has no user.name/user.email",
                    f"to commit as yourself: {IDENTITY_ADVICE}",
                )
            )
        return {"name": "git", "items": items}
    who = _identity(top)
    if who:
        items.append(item("ok", f"runs go into the repository {tilde(top)}, as {who}"))
    else:
        items.append(
            item(
                "error",
                f"runs go into the repository {tilde(top)}, which has no user.name/user.email: a run cannot start",
                IDENTITY_ADVICE,
            )
        )
    return {"name": "git", "items": items}


def places_section(runs_dir: Path) -> dict[str, Any]:
    """Where things live (places.py): whether runs can be made where runs_dir says, the person's
    workflows and the log; and what is still read from Neovim's older places."""
    here, old = places.plugin(), places.legacy()
    probe = _existing(runs_dir)
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        later = "" if probe == runs_dir else " (created on first start)"
        items = [item("ok", f"runs directory: {tilde(runs_dir)}{later}")]
    else:
        items = [
            item(
                "error",
                f"runs directory {tilde(runs_dir)} is not writable ({tilde(probe)})",
                "set g:workflow.runs_dir to a directory you can write, or fix its permissions",
            )
        ]
    move = "to keep them in one place: {} (see :help workflow-places)"
    for older in places.runs_read(runs_dir)[1:]:
        items.append(
            item(
                "info",
                f"runs are also read from Neovim's older directory {tilde(older)}",
                move.format(f"mv {older}/* {runs_dir}/"),
            )
        )
    items.append(item("info", f"your own workflows: {tilde(here.workflows)}"))
    if old.workflows.is_dir():
        items.append(
            item(
                "info",
                f"your workflows are also read from Neovim's older directory {tilde(old.workflows)}",
                move.format(f"mv {old.workflows} {here.config}/"),
            )
        )
    if old.venv.is_dir():
        items.append(
            item(
                "info",
                f"an older :WorkflowInstall's environment, still used after the new one: {tilde(old.venv)}",
                f"once :WorkflowInstall has made {here.venv}, it can go: rm -r {old.venv}",
            )
        )
    items.append(item("info", f"the log: {tilde(here.log)}"))
    return {"name": "Places", "items": items}


def workflows_section(params: dict[str, Any]) -> dict[str, Any]:
    """Every workflow file the editor would find, with its problems."""
    if importlib.util.find_spec("yaml") is None:
        return {
            "name": "Workflows",
            "items": [item("warning", "cannot check workflow files without a Python that has pyyaml (see above)")],
        }
    from .catalog import BUNDLED_DIR, Catalog, default_dirs
    from .options import Options
    from .spec import count

    cwd = params.get("cwd")
    dirs = default_dirs(Path(cwd) if cwd else None, Options.of(params).paths)
    items: list[Item] = []
    entries = Catalog().entries(dirs)
    if not entries:
        items.append(item("warning", "no workflows found", f"bundled workflows should be in {BUNDLED_DIR}"))
    for e in entries:
        if e.workflow and not e.problems:
            steps = count(len(e.workflow.steps), "step")
            items.append(item("ok", f"{e.name}: {e.workflow.title} ({steps}, {e.kind}: {e.path})"))
        else:
            items.append(item("error", f"{e.name} is invalid ({e.path})", *(str(p) for p in e.problems)))
        for s in e.shadowed:
            items.append(item("info", f"{e.name} shadows {s}"))
    return {"name": "Workflows", "items": items}


ALLOW_ADVICE = ("set g:workflow.allow_remote to true to allow it",)


def ollama_section(host: str | None, allow_remote: bool, model: str) -> dict[str, Any]:
    """Where annotation text goes and on whose word (destination.py's rules), and the server's models."""
    name = "Ollama (for :WorkflowAnnotate)"
    probe = destination.report(host, allow_remote, model)
    url, source = probe["url"], probe["source"]
    items: list[Item] = []
    if probe["local"]:
        items.append(item("ok", f"text goes to {url}: this machine (from {source})"))
    elif probe["allowed_by"]:
        allowed_by = probe["allowed_by"]
        items.append(item("info", f"text goes to {url}: another machine, allowed by {allowed_by} (host from {source})"))
    elif probe["unusable"]:
        items.append(item("error", probe["unusable"]))
        return {"name": name, "items": items}
    else:
        items.append(
            item(
                "error",
                f"text would go to {url}: another machine, not allowed (host from {source})",
                *ALLOW_ADVICE,
                "or point g:workflow.ollama_host at this machine",
            )
        )
    if allow_remote:
        items.append(item("info", "g:workflow.allow_remote is true: another machine or a cloud model may get text"))
    else:
        items.append(
            item("ok", "g:workflow.allow_remote is false: no cloud model, no other machine unless $OLLAMA_HOST")
        )
    if "error" in probe:
        items.append(
            item(
                "warning",
                probe["error"],  # destination.trouble's line, as :WorkflowAnnotate would say it
                "everything but :WorkflowAnnotate works without it",
            )
        )
        return {"name": name, "items": items}
    items.append(item("ok", f"Ollama {probe.get('version') or '?'} at {url}"))
    names = [str(n) for n in probe.get("models") or []]
    found = next((n for n in names if n in (model, f"{model}:latest")), None)
    if found:
        items.append(item("ok", f"model {model} is on the server"))
    else:
        has = ", ".join(names) if names else "none"
        items.append(item("warning", f"model {model} is not on the server (it has: {has})", f"ollama pull {model}"))
    elsewhere = (found and (probe.get("remote") or {}).get(found)) or probe["model_runs_on"]
    if elsewhere and allow_remote:
        items.append(item("info", f"model {model} runs on {elsewhere}, not on this machine (allowed)"))
    elif elsewhere:
        items.append(
            item(
                "warning",
                f"model {model} runs on {elsewhere}: :WorkflowAnnotate will not send it text",
                *ALLOW_ADVICE,
                "or choose a local model with :WorkflowModels",
            )
        )
    return {"name": name, "items": items}


def doctor(python: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The whole report (see the module's docstring)."""
    section, missing, required_missing = python_section(python)
    report: dict[str, Any] = {
        "protocol": protocol.PROTOCOL,
        "python": python,
        "python_version": sys.version.split()[0],
        "missing": missing,
        "required_missing": required_missing,
        "sections": [section],
    }
    if params is None:
        return report
    from .options import Options  # the defaults are applied as for every command

    options = Options.of(params)
    runs_dir = options.runs_dir
    report["sections"] += [
        git_section(runs_dir),
        places_section(runs_dir),
        workflows_section(params),
        ollama_section(options.ollama_host, options.allow_remote, options.model),
    ]
    return report


def main(argv: list[str]) -> int:
    """``doctor [--json] [--python PATH] [--params FILE|-]``: 1 when something is an error."""
    parser = argparse.ArgumentParser(prog="python -m workflow_nvim doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object, for an editor's :checkhealth")
    parser.add_argument("--python", metavar="PATH", help="this interpreter as the front started it")
    parser.add_argument("--params", metavar="FILE", help="the editor's parameters as JSON ('-': standard input)")
    args = parser.parse_args(argv)
    params: dict[str, Any] | None = None
    if args.params:
        text = sys.stdin.read() if args.params == "-" else Path(args.params).read_text(encoding="utf-8")
        loaded = json.loads(text) if text.strip() else {}
        params = loaded if isinstance(loaded, dict) else {}
    report = doctor(args.python or sys.executable, params)
    if args.json:
        print(json.dumps(report))
    else:
        for section in report["sections"]:
            print(section["name"])
            for entry in section["items"]:
                print(f"  {entry['level'].upper()} {entry['text']}")
                for advice in entry["advice"]:
                    print(f"    - {advice}")
    bad = any(e["level"] == "error" for s in report["sections"] for e in s["items"])
    return 1 if bad else 0
