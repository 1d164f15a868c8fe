"""Finding workflows: the project, the user, extra paths, then the bundled ones.

A workflow's name is its file name without ``.yaml``/``.yml``. When the same
name exists in several directories, the first directory wins and the others
are recorded as shadowed, so ``:WorkflowList`` can say which file is used.
A broken file never hides or breaks the others: it is listed with its problems.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from . import places
from .errors import WorkflowError
from .options import expand
from .spec import NAME_RE, Problem, Workflow, WorkflowInvalid, did_you_mean, load_workflow

SUFFIXES = (".yaml", ".yml")
BUNDLED_DIR = Path(__file__).resolve().parents[3] / "workflows"


class SearchDir(NamedTuple):
    """A directory searched for workflows; ``kind`` is project, user, path or bundled."""

    kind: str
    path: Path


class Entry:
    """A workflow name, the file that provides it, and what became of loading it."""

    def __init__(self, name: str, kind: str, path: Path, workflow: Workflow | None = None) -> None:
        self.name, self.kind, self.path = name, kind, path
        self.workflow = workflow
        self.problems: list[Problem] = []
        self.shadowed: list[Path] = []
        self.problem_count = 0  # all of them; ``problems`` lists at most MAX_PROBLEMS (and a line for the rest)

    @property
    def ok(self) -> bool:
        return self.workflow is not None


def default_dirs(cwd: Path | None = None, extra: Iterable[str] = ()) -> list[SearchDir]:
    """Where workflows are searched, nearest first: the project's ``.workflows/`` (under ``cwd``),
    the person's own (places.py's ``workflows``, then Neovim's older ``stdpath('config')/workflows``
    when it is there), the ``paths`` option (``extra``), then the bundled ones. The one statement
    of this rule."""
    cwd = cwd or Path.cwd()
    dirs = [SearchDir("project", cwd / ".workflows"), SearchDir("user", places.plugin().workflows)]
    old = places.legacy().workflows
    if old.is_dir():
        dirs.append(SearchDir("user", old))
    dirs += [SearchDir("path", expand(p, cwd)) for p in extra]
    dirs.append(SearchDir("bundled", BUNDLED_DIR))
    return dirs


def _files(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [directory / n for n in names if n.endswith(SUFFIXES) and not n.startswith(".")]


class Catalog:
    """Loads workflow files, remembering each by which file it is (a link may be pointed elsewhere), size and time."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache: dict[Path, tuple[tuple[int, ...], Workflow | WorkflowInvalid]] = {}
        # where validated workflows are kept between editor sessions (spec.load_workflow); None: nowhere
        self.cache_dir = cache_dir

    def load(self, path: Path, name: str | None = None) -> Workflow:
        """The validated workflow in ``path`` (named ``name`` if given); raise WorkflowInvalid if it is not."""
        try:
            st = path.stat()
            stamp: tuple[int, ...] = (st.st_dev, st.st_ino, st.st_mode, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (-1,)
        cached = self._cache.get(path)
        if cached is None or cached[0] != stamp:
            try:
                result: Workflow | WorkflowInvalid = load_workflow(path, name, cache=self.cache_dir)
            except WorkflowInvalid as e:
                result = e
            cached = (stamp, result)
            self._cache[path] = cached
        if isinstance(cached[1], WorkflowInvalid):
            raise cached[1]
        return cached[1]

    def entries(self, dirs: list[SearchDir]) -> list[Entry]:
        """Every workflow name found, sorted, each with the file that wins."""
        found: dict[str, Entry] = {}
        for d in dirs:
            for path in _files(d.path):
                name = path.stem
                if name in found:
                    found[name].shadowed.append(path)
                    continue
                entry = Entry(name=name, kind=d.kind, path=path)
                try:
                    entry.workflow = self.load(path)
                except WorkflowInvalid as e:
                    entry.problems, entry.problem_count = e.problems, e.total
                found[name] = entry
        return [found[n] for n in sorted(found)]

    @staticmethod
    def files(dirs: list[SearchDir], name: str) -> list[tuple[SearchDir, Path]]:
        """Every file named ``name`` in ``dirs``, the one used first, then those it shadows."""
        return [(d, d.path / f"{name}{s}") for d in dirs for s in SUFFIXES if (d.path / f"{name}{s}").is_file()]

    def find(self, dirs: list[SearchDir], name: str) -> Workflow:
        """The workflow called ``name``; raise WorkflowError saying why not."""
        if not NAME_RE.match(name):
            raise WorkflowError(f"'{name}' is not a workflow name: try :WorkflowList")
        for d in dirs:
            for suffix in SUFFIXES:
                path = d.path / f"{name}{suffix}"
                # Whatever has the name wins, as in entries(): a FIFO or a broken link is refused, not skipped.
                if os.path.lexists(path):
                    return self.load(path)
        names = [e.name for e in self.entries(dirs)]
        where = ", ".join(str(d.path) for d in dirs)
        raise WorkflowError(f"no workflow '{name}'{did_you_mean(name, names)} (searched {where})")
