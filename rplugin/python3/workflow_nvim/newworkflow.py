"""``:WorkflowNew {name}``: a new workflow file, from the commented skeleton beside this module.

The file goes to the project's ``.workflows/`` (under the editor's working directory, as
catalog.default_dirs says), or, where there is none, where the person chooses: their own
workflows directory (places.py) or a new ``.workflows/`` here. It is never written over an
existing file.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import places
from .display import shown
from .errors import WorkflowError
from .spec import NAME_RE, NAME_RULE
from .spec import shown as quoted

SKELETON = Path(__file__).with_name("skeleton.yaml")
PLACEHOLDER = "skeleton"  # the skeleton's own name, in its name:, title: and first comment

# Where a new file may go, when the person chooses: key -> how the choice reads (see choices()).
WHERE = ("user", "project")


def title_of(name: str) -> str:
    """A first title for workflow ``name``: 'code-review' -> 'Code review'."""
    words = name.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() or name


def skeleton(name: str) -> str:
    """The skeleton's text for workflow ``name``: it validates as ``{name}.yaml``."""
    lines = []
    for line in SKELETON.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(f"name: {PLACEHOLDER} "):
            line = f"name: {name}".ljust(30) + line[30:]
        elif line.startswith("title: "):
            line = f"title: {title_of(name)}".ljust(30) + line[30:]
        elif line.startswith("#"):
            line = line.replace(f":WorkflowStart {PLACEHOLDER}", f":WorkflowStart {name}")
        lines.append(line)
    return "".join(lines)


def check_name(name: str) -> None:
    """Raise WorkflowError unless ``name`` is a workflow name (spec.NAME_RE, as the validator says)."""
    if not NAME_RE.match(name):
        raise WorkflowError(f"'{quoted(name, 40)}' is not a workflow name: use {NAME_RULE}")


def directory(where: str, cwd: Path) -> Path:
    """The directory a new workflow goes to: the project's ``.workflows/`` or the person's own."""
    return places.plugin().workflows if where == "user" else cwd / ".workflows"


def choices(cwd: Path) -> list[dict[str, str]]:
    """What the person may choose when there is no project: each a key (Params.where) and a label."""
    return [
        {"key": "user", "label": f"your own workflows, {shown(places.plugin().workflows, cwd)}/"},
        {"key": "project", "label": f"a new .workflows/ here, in {shown(cwd)}/"},
    ]


def create(name: str, folder: Path, cwd: Path) -> Path:
    """Write ``{name}.yaml`` in ``folder`` from the skeleton; refuse when the name is taken there."""
    for suffix in (".yaml", ".yml"):
        taken = folder / f"{name}{suffix}"
        if os.path.lexists(taken):
            raise WorkflowError(f"{shown(taken, cwd)} exists: edit it, or choose another name")
    path = folder / f"{name}.yaml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:  # never over a file made meanwhile
            f.write(skeleton(name))
    except FileExistsError:
        raise WorkflowError(f"{shown(path, cwd)} exists: edit it, or choose another name") from None
    except OSError as e:
        raise WorkflowError(f"cannot write {shown(e.filename or path, cwd)}: {e.strerror}") from e
    return path
