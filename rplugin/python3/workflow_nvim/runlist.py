"""Every run under the runs directories, newest first: ``:WorkflowRuns`` and ``python -m workflow_nvim runs``.

A run's summary (its workflow, how far it got, whether it is finished, its last change) is read
from git, which costs a process or two per run: too slow for a thousand runs. So the summaries are
kept in one cache file (the plugin's cache place, ``runs.json``), each beside the key it was read
under: what the run's repository says of its refs, read from files without a process (``HEAD`` and
the ref it names, ``packed-refs``, the run's finish ref) and the workflow snapshot's stat. Git stays
the truth: a summary whose key no longer matches, or that is missing, is read from git again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .display import tilde
from .errors import WorkflowError
from .spec import count

if TYPE_CHECKING:
    from .catalog import Catalog

CACHE_VERSION = 1
FINISHED_PREFIX = "refs/workflow/finished/"  # history.finished_ref, without importing history
KEYS_HELP = "<CR> open, e export, l log and id, q close"

Summary = dict[str, Any]


def _read(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    try:
        return os.read(fd, 4096).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    finally:
        os.close(fd)


def _stat(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    return [st.st_mtime_ns, st.st_size, st.st_ino]


class _GitDirs:
    """Where a run's git directory is when it is not ``.git`` in the run, found from files (no git
    process): ``.git`` a file (``gitdir: ...``), or the project's repository around it (cached per parent)."""

    def __init__(self) -> None:
        self._enclosing: dict[str, tuple[str, str] | None] = {}

    def of(self, run_dir: str) -> tuple[str, str] | None:
        """(git dir, common dir) of the repository ``run_dir`` commits to, or None (none yet)."""
        found = self._dot_git(run_dir)
        if found is None:
            parent = os.path.dirname(run_dir)
            if parent not in self._enclosing:
                probe, self._enclosing[parent] = parent, None
                while True:
                    self._enclosing[parent] = self._dot_git(probe)
                    if self._enclosing[parent] is not None or os.path.dirname(probe) == probe:
                        break
                    probe = os.path.dirname(probe)
            found = self._enclosing[parent]
        return found

    @staticmethod
    def _dot_git(directory: str) -> tuple[str, str] | None:
        dot = os.path.join(directory, ".git")
        if os.path.isdir(dot):
            return dot, dot
        text = _read(dot)
        if not text.startswith("gitdir: "):
            return None
        git_dir = os.path.normpath(os.path.join(directory, text[len("gitdir: ") :]))
        common = _read(os.path.join(git_dir, "commondir"))  # a linked worktree shares the main one's refs
        return git_dir, os.path.normpath(os.path.join(git_dir, common)) if common else git_dir


def state_key(run_dir: str, git_dirs: _GitDirs) -> list[Any]:
    """What a run's summary depends on, read from files: a changed key means it must be read again.

    A new commit moves HEAD's ref (a loose ref file is replaced, or packed-refs is); finishing moves
    the finish ref; the snapshot is the workflow the run follows. Stats, and one read of HEAD: a
    thousand runs take a few milliseconds more than listing their directories.
    """
    key: list[Any] = [_stat(f"{run_dir}/workflow.yaml")]
    common = f"{run_dir}/.git"
    head = _read(f"{common}/HEAD")  # a standalone run: its own .git
    if not head:
        dirs = git_dirs.of(run_dir)
        if dirs is None:
            return [*key, None]
        git_dir, common = dirs
        head = _read(f"{git_dir}/HEAD")
    key += [head, _stat(f"{common}/packed-refs"), _stat(f"{common}/{FINISHED_PREFIX}{os.path.basename(run_dir)}")]
    if head.startswith("ref: "):
        key.append(_stat(f"{common}/{head[len('ref: ') :]}"))
    return key


def summarize(run_dir: Path, catalog: Catalog | None) -> Summary:
    """A run's summary, read from its snapshot and git (a process or two)."""
    from .run import Run

    started = run_dir.name[:4] + "-" + run_dir.name[4:6] + "-" + run_dir.name[6:8]
    started += " " + run_dir.name[9:11] + ":" + run_dir.name[11:13]
    summary: Summary = {"run": run_dir.name, "dir": str(run_dir), "started": started}
    if not (run_dir / "workflow.yaml").is_file():
        return {**summary, "problem": "no workflow.yaml (the workflow it follows): it cannot be read"}
    try:
        run = Run.open(run_dir, catalog)
    except WorkflowError as e:
        return {**summary, "problem": str(e)}
    try:
        finished, when = run.repo.finish_state(run.id)
        summary.update(
            workflow=run.workflow.name,
            title=run.workflow.title,
            done=len(run.completed),
            total=len(run.workflow.steps),
            next=run.frontier.title,
            last=run.entries[-1].date if run.entries else "",
            finished=finished,
            finished_at=when or "",
        )
    except WorkflowError as e:
        summary["problem"] = str(e)
    finally:
        run.close()
    return summary


class Cache:
    """The summaries, one JSON file for every runs directory (the plugin's cache place)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed = False
        if path is None:
            return
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return  # missing or unreadable: every summary is read from git again
        if isinstance(data, dict) and data.get("version") == CACHE_VERSION and isinstance(data.get("runs"), dict):
            self.entries = data["runs"]

    def get(self, run_dir: str, key: list[Any]) -> Summary | None:
        entry = self.entries.get(run_dir)
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("summary"), dict):
            return entry["summary"]  # type: ignore[no-any-return]
        return None

    def put(self, run_dir: str, key: list[Any], summary: Summary) -> None:
        self.entries[run_dir] = {"key": key, "summary": summary}
        self.changed = True

    def forget_missing(self, runs_dirs: list[Path], seen: set[str]) -> None:
        """Drop the runs of ``runs_dirs`` that are gone (another runs directory's stay)."""
        listed = {str(d) for d in runs_dirs}
        for name in [n for n in self.entries if n not in seen and os.path.dirname(n) in listed]:
            del self.entries[name]
            self.changed = True

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        from .scratch import write_atomic

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"version": CACHE_VERSION, "runs": self.entries}))
        except OSError:
            pass  # a cache that cannot be written is read from git next time


def summaries(runs_dirs: list[Path], cache_path: Path | None, catalog: Catalog | None = None) -> list[Summary]:
    """Every run in ``runs_dirs``, newest first; a run copied to an earlier directory is listed from there."""
    from .run import RUN_ID_RE

    runs_dirs = [d.resolve() for d in runs_dirs if d.is_dir()]
    cache = Cache(cache_path)
    git_dirs = _GitDirs()
    # As run.run_dirs, with scandir's file types (no stat per entry): newest first.
    named = []
    for runs_dir in runs_dirs:
        try:
            with os.scandir(runs_dir) as entries:
                named += [(m, e.path) for e in entries if (m := RUN_ID_RE.match(e.name)) and e.is_dir()]
        except OSError:
            continue
    named.sort(key=lambda f: (f[0][1], int(f[0][2] or 1), f[0][0]), reverse=True)
    found: list[Summary] = []
    names: set[str] = set()
    seen: set[str] = set()
    for m, d in named:
        key = state_key(d, git_dirs)
        if m[0] in names:  # listed from an earlier directory
            continue
        names.add(m[0])
        seen.add(d)
        summary = cache.get(d, key)
        if summary is None:
            summary = summarize(Path(d), catalog)
            cache.put(d, state_key(d, git_dirs), summary)  # a repository made just now is in the key
        found.append(summary)
    cache.forget_missing(runs_dirs, seen)
    cache.save()
    return found


def progress(s: Summary) -> str:
    """'finished', '3/7', or '?' for a run that cannot be read."""
    if "problem" in s:
        return "?"
    return "finished" if s.get("finished") else f"{s.get('done', 0)}/{s.get('total', 0)}"


def _last(s: Summary) -> str:
    """The run's last change, short: 'MM-DD HH:MM' in the year it started, else its date; blank with no commit."""
    last = str(s.get("last") or "")[:16].replace("T", " ")
    if not last:
        return ""
    return last[5:] if last[:4] == s["started"][:4] else last[:10]


def render(found: list[Summary], runs_dir: Path, keys: bool = True) -> dict[str, Any]:
    """The runs as the buffer shows them: ``{lines, items: [{run, dir, line}]}`` (``line``: 1-based).

    A row fits 80 columns for a title of up to 32: start, title, progress, last change. The run's
    id is left out (the log's first line, ``l``, names it); a run that cannot be read shows its id
    and what is wrong instead. Without ``keys`` (the command line's list), the header names the
    runs directory instead of the buffer's keys."""
    if not found:
        return {"lines": [f"no runs in {tilde(runs_dir)}: :WorkflowStart {{name}} starts one"], "items": []}
    finished = sum(1 for s in found if s.get("finished"))
    if keys:
        header = f"{count(len(found), 'run')}, {finished} finished ({KEYS_HELP})"
    else:
        header = f"{count(len(found), 'run')} in {tilde(runs_dir)}, {finished} finished"
    titles = [str(s.get("title", "")) for s in found]
    width = min(max(len(t) for t in titles), 32)
    lines, items = [header], []
    for s, title in zip(found, titles):
        if len(title) > width:
            title = title[: width - 1].rstrip() + "…"
        if "problem" in s:
            problem = str(s["problem"]).removeprefix(f"run {s['run']}: ")  # the row names it
            row = f"{s['started']}  {s['run']}: {problem}"
        else:
            row = f"{s['started']}  {title:<{width}}  {progress(s):<8}  {_last(s)}".rstrip()
        lines.append(row)
        items.append({"run": s["run"], "dir": s["dir"], "line": len(lines)})
    return {"lines": lines, "items": items}
