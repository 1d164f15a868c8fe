"""Git is the run's memory: one commit per completed step.

Every commit this module makes carries trailers that say what it is::

    Workflow: blog-post
    Workflow-Run: 20261125-093000-blog-post
    Workflow-Step: 2/5 outline          a completed step
    Workflow-Revert: 2/5 outline        back to step 2: later steps pending again
    Workflow-Saved: 4/5 draft           unfinished text kept before a revert

so that ``git log`` alone tells which steps are done: there is no other state
store that could drift from it. Commits go through the ``git`` command (not
GitPython's index), so hooks, signing and the rest of the person's git
configuration apply. Only the run's own files are ever staged or committed:
in a project repository, the person's other staged and unstaged changes stay
exactly as they were.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import WorkflowError

if TYPE_CHECKING:
    import git

# Without git on PATH, GitPython raises at import time; say so at first use instead.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

TRAILER_WORKFLOW = "Workflow"
TRAILER_RUN = "Workflow-Run"
TRAILER_STEP = "Workflow-Step"
TRAILER_REVERT = "Workflow-Revert"
TRAILER_SAVED = "Workflow-Saved"
KINDS = {TRAILER_STEP: "step", TRAILER_REVERT: "revert", TRAILER_SAVED: "saved"}

# One record per commit: fields split by \x1f, records by \x1e.
_LOG_FORMAT = "%H%x1f%h%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1e"
_STEP_VALUE = re.compile(r"(\d+)/(\d+) (\S+)\Z")
STANDALONE_NAME = "workflow.nvim"
STANDALONE_EMAIL = "workflow.nvim@localhost"


class GitRefused(WorkflowError):
    """The repository is in a state where committing would do harm."""


@dataclass(frozen=True)
class Entry:
    """One commit of a run, as ``git log`` tells it."""

    hash: str
    short: str
    date: str  # ISO 8601, author date
    subject: str
    kind: str  # "step", "revert" or "saved"
    index: int
    total: int
    step_id: str
    revised: bool = False


def _git() -> Any:
    """GitPython, imported on first use (it costs ~0.14 s)."""
    import git

    return git


def parse_log(output: str, run_id: str) -> list[Entry]:
    """Entries of run ``run_id`` in ``git log`` output made with ``_LOG_FORMAT``, oldest first."""
    entries: list[Entry] = []
    for record in reversed(output.split("\x1e")):
        fields = record.strip("\n").split("\x1f")
        if len(fields) != 5:
            continue
        full, short, date, subject, trailer_text = fields
        trailers: dict[str, str] = {}
        for line in trailer_text.splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                trailers.setdefault(key, value.strip())
        if trailers.get(TRAILER_RUN) != run_id:
            continue
        for key, kind in KINDS.items():
            m = _STEP_VALUE.match(trailers.get(key, ""))
            if m:
                entries.append(Entry(full, short, date, subject, kind, int(m[1]), int(m[2]), m[3]))
                break
    seen: set[str] = set()
    marked: list[Entry] = []
    for e in entries:
        if e.kind == "step":
            marked.append(Entry(**{**e.__dict__, "revised": e.step_id in seen}))
            seen.add(e.step_id)
        else:
            marked.append(e)
    return marked


def completed_steps(entries: Iterable[Entry]) -> dict[str, int]:
    """Step id -> index of the steps done after replaying ``entries`` (oldest first)."""
    done: dict[str, int] = {}
    for e in entries:
        if e.kind == "step":
            done[e.step_id] = e.index
        elif e.kind == "revert":
            done = {sid: i for sid, i in done.items() if i <= e.index}
    return done


def commit_message(
    subject: str, body: str, workflow: str, run_id: str, key: str, index: int, total: int, step_id: str
) -> list[str]:
    """The paragraphs of a commit message (for ``git commit -m P -m P ...``)."""
    trailers = f"{TRAILER_WORKFLOW}: {workflow}\n{TRAILER_RUN}: {run_id}\n{key}: {index}/{total} {step_id}"
    return [subject, body, trailers]


def _one_line(text: str, limit: int = 400) -> str:
    flat = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class RunRepository:
    """The git repository that holds a run's commits: its own, or the project's around it."""

    def __init__(
        self,
        repo: git.Repo | None,
        run_dir: Path,
        standalone: bool,
        top: Path | None = None,
        git_dir: Path | None = None,
    ):
        self._repo = repo
        self._init_lock = threading.Lock()
        self.run_dir = run_dir
        self.standalone = standalone
        self.top = top or Path(str(repo.working_tree_dir if repo else run_dir)).resolve()
        self.git_dir = git_dir or Path(repo.git_dir if repo else run_dir / ".git").resolve()
        # Paths are given to git relative to the top of the work tree.
        self.prefix = "" if standalone else run_dir.relative_to(self.top).as_posix()

    @property
    def repo(self) -> git.Repo:
        """The GitPython repository; a new standalone one is made here, on first use."""
        if self._repo is None:
            with self._init_lock:
                if self._repo is None:
                    self._repo = self._initialize()
        return self._repo

    def prepare(self) -> None:
        """Make the repository now (a background job), so that the first commit finds it ready."""
        _ = self.repo

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(cls, run_dir: Path, create: bool) -> RunRepository:
        """The repository of ``run_dir``; with ``create``, a new one if it is in none.

        A new standalone repository is only described here: ``git init`` (and
        importing GitPython, ~0.14 s) happen on first use, which the editor
        does in the background, so starting a run does not wait for them.
        """
        run_dir = run_dir.resolve()
        if create and not any((p / ".git").exists() for p in (run_dir, *run_dir.parents)):
            return cls(None, run_dir, standalone=True, top=run_dir, git_dir=run_dir / ".git")
        git = _git()
        try:
            repo = git.Repo(run_dir, search_parent_directories=True)
        except git.InvalidGitRepositoryError:
            if not create:
                raise WorkflowError(f"{run_dir} is not in a git repository: is it a run directory?") from None
            return cls(None, run_dir, standalone=True, top=run_dir, git_dir=run_dir / ".git")
        except git.NoSuchPathError:
            raise WorkflowError(f"{run_dir} does not exist") from None
        top = Path(str(repo.working_tree_dir)).resolve()
        if create and top != run_dir:
            # A runs_dir the project's git ignores is not meant for its history: the run keeps its own.
            status, _, _ = repo.git.execute(
                ["git", "check-ignore", "-q", str(run_dir)], with_extended_output=True, with_exceptions=False
            )
            if status == 0:
                repo.close()
                return cls(None, run_dir, standalone=True, top=run_dir, git_dir=run_dir / ".git")
        return cls(repo, run_dir, standalone=top == run_dir)

    def _initialize(self) -> git.Repo:
        gitpython = _git()
        try:
            repo = gitpython.Repo.init(self.run_dir)
        except gitpython.GitCommandNotFound:
            raise WorkflowError("git is not installed or not on PATH: install git (e.g. apt install git)") from None
        # A standalone run repository works even where git has no identity configured.
        status, out, _ = repo.git.execute(
            ["git", "config", "--get-regexp", r"^user\.(name|email)$"], with_extended_output=True, with_exceptions=False
        )
        have = {line.split(" ", 1)[0] for line in str(out).splitlines()} if status == 0 else set()
        for key, value in (("user.name", STANDALONE_NAME), ("user.email", STANDALONE_EMAIL)):
            if key not in have:
                repo.git.execute(["git", "config", key, value])
        return cast("git.Repo", repo)

    def close(self) -> None:
        """Stop the git processes GitPython keeps for this repository."""
        if self._repo is not None:
            self._repo.close()

    # -- low level -----------------------------------------------------------

    def _run(self, *args: str, strip: bool = True) -> tuple[int, str, str]:
        git = _git()
        try:
            status, out, err = self.repo.git.execute(
                ["git", *args], with_extended_output=True, with_exceptions=False, strip_newline_in_stdout=strip
            )
        except git.GitCommandNotFound:
            raise WorkflowError("git is not installed or not on PATH: install git (e.g. apt install git)") from None
        return int(status), str(out), str(err)

    def rel(self, path: Path) -> str:
        """``path`` (in the run directory, existing or not) relative to the work tree, as git wants it."""
        inside = path.relative_to(self.run_dir) if path.is_absolute() else path
        return f"{self.prefix}/{inside.as_posix()}" if self.prefix else inside.as_posix()

    # -- checks --------------------------------------------------------------

    def refusal(self) -> str | None:
        """Why committing here now would be wrong, or None. Reads files only: no git process."""
        where = "the run repository" if self.standalone else f"the repository {self.top}"
        lock = self.git_dir / "index.lock"
        if lock.exists():
            return (
                f"{where} is locked by {lock} (another git command is running, or one crashed): "
                "wait, or remove that file if no git process is running"
            )
        for name, what in (
            ("MERGE_HEAD", "a merge"),
            ("rebase-merge", "a rebase"),
            ("rebase-apply", "a rebase or git am"),
            ("CHERRY_PICK_HEAD", "a cherry-pick"),
            ("REVERT_HEAD", "a git revert"),
        ):
            if (self.git_dir / name).exists():
                return f"{where} is in the middle of {what}: finish or abort it first"
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            head = "ref:"
        if not head.startswith("ref:"):
            return f"{where} has a detached HEAD: check out a branch first (git switch BRANCH)"
        return None

    def identity_problem(self) -> str | None:
        """Why git would refuse to make a commit for lack of an identity, or None."""
        status, _, _ = self._run("var", "GIT_COMMITTER_IDENT")
        if status != 0:
            return (
                f"git has no user.name/user.email for {self.top}: set them with "
                "`git config --global user.name 'Your Name'` and `git config --global user.email you@example.org`"
            )
        return None

    # -- writing -------------------------------------------------------------

    def commit(self, paths: Sequence[Path], message: list[str], what: str) -> str | None:
        """Commit exactly ``paths`` (added, changed or deleted); return the new commit's hash.

        Returns None when none of them changed since their last commit. Raises
        WorkflowError with git's own words when git refuses (a hook, signing).
        """
        if not paths:
            return None  # `git commit --` without paths would commit whatever else is staged
        refusal = self.refusal()
        if refusal:
            raise GitRefused(f"cannot commit {what}: {refusal}")
        rels = [self.rel(p) for p in paths]
        present = [r for r, p in zip(rels, paths) if p.exists()]
        if present:
            status, _, err = self._run("add", "--", *present)
            if status != 0:
                raise WorkflowError(f"cannot commit {what}: git add failed: {_one_line(err)}")
        args = ["commit", "--quiet", "--no-edit"]
        for paragraph in message:
            args += ["-m", paragraph]
        status, out, err = self._run(*args, "--", *rels)
        if status == 0:
            return self.head()
        if not self.changed(rels):
            return None
        detail = _one_line(err or out) or f"git commit exited with {status}"
        raise WorkflowError(f"git refused the commit of {what} (your text is kept): {detail}")

    def changed(self, rels: Sequence[str]) -> bool:
        """True when any of ``rels`` differs from its committed version."""
        return bool(self.changed_paths(rels))

    def remove(self, paths: Sequence[Path]) -> None:
        """Delete ``paths`` from the work tree and stage that (for a revert commit)."""
        tracked = [self.rel(p) for p in paths]
        if tracked:
            status, _, err = self._run("rm", "--quiet", "--ignore-unmatch", "--", *tracked)
            if status != 0:
                raise WorkflowError(f"cannot remove later steps: git rm failed: {_one_line(err)}")
        for p in paths:
            p.unlink(missing_ok=True)

    def head(self) -> str:
        """The commit HEAD points to; read from the ref file when it is loose (no process)."""
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
            if head.startswith("ref: "):
                common = Path(self.repo.common_dir).resolve()
                value = (common / head[5:]).read_text(encoding="utf-8").strip()
                if re.fullmatch(r"[0-9a-f]{40,64}", value):
                    return value
        except OSError:
            pass
        return str(self._run("rev-parse", "HEAD")[1]).strip()

    def changed_paths(self, rels: Sequence[str]) -> set[str]:
        """Those of ``rels`` that differ from their committed version (or are new)."""
        if not rels:
            return set()
        status, out, err = self._run("status", "--porcelain", "-z", "--untracked-files=all", "--", *rels, strip=False)
        if status != 0:
            raise WorkflowError(f"git status failed in {self.top}: {_one_line(err)}")
        return {item[3:] for item in out.split("\0") if len(item) > 3}

    # -- reading -------------------------------------------------------------

    def log(self, run_id: str) -> list[Entry]:
        """The run's commits, oldest first (one ``git log`` process)."""
        # --no-show-signature: log.showSignature would print signature checks into the records
        # A standalone repository holds only this run: no pathspec, which would make git diff every commit.
        where = ["--", self.prefix] if self.prefix else []
        status, out, err = self._run("log", "--no-show-signature", f"--format={_LOG_FORMAT}", *where)
        if status != 0:
            if "does not have any commits" in err or "bad default revision" in err or "unknown revision" in err:
                return []
            raise WorkflowError(f"cannot read the history of {self.run_dir}: {_one_line(err)}")
        return parse_log(out, run_id)

    def show(self, commit: str, path: Path) -> str:
        """The text of ``path`` at ``commit``."""
        status, out, err = self._run("show", f"{commit}:{self.rel(path)}", strip=False)
        if status != 0:
            raise WorkflowError(f"cannot show {path.name} at {commit[:12]}: {_one_line(err)}")
        return out

    def diff(self, commit: str, path: Path | None) -> str:
        """What ``commit`` changed (in ``path`` only, when given), as a patch."""
        args = ["show", "--no-show-signature", "--format=commit %H%nAuthor: %an <%ae>%nDate:   %ad%n%n%B", commit, "--"]
        args.append(self.rel(path) if path else self.prefix or ".")
        status, out, err = self._run(*args)
        if status != 0:
            raise WorkflowError(f"cannot show commit {commit[:12]}: {_one_line(err)}")
        return out
