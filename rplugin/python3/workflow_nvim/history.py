"""Git is the run's memory: one commit per completed step.

Every commit this module makes carries trailers that say what it is::

    Workflow: blog-post
    Workflow-Run: 20261125-093000-blog-post
    Workflow-Step: 2/5 outline          a completed step
    Workflow-Revert: 2/5 outline        back to step 2: later steps pending again
    Workflow-Saved: 4/5 draft           unfinished text kept before a revert
    Workflow-Check: skipped, 2 of 5 failed   completed with :WorkflowNext! over failing checks
    Workflow-Skipped: true              an optional step completed empty (:WorkflowSkip)
    Workflow-Model: llama3.2@sha256:a80c4f17acd5   the model that wrote the step's notes
    Workflow-Prompt: sha256:9f86d08...  the SHA-256 of the prompt it was sent

so that ``git log`` alone tells which steps are done: there is no other state
store that could drift from it (a ``commit-msg`` hook that strips trailers
leaves the subjects, which are read instead). Commits go through the ``git``
command, so hooks, signing and the rest of the person's git configuration
apply.

The person's index is never used to build a commit. Each commit is built in
an index of the run's own in the git directory (``GIT_INDEX_FILE``, where
``git status`` never looks) and made with ``git commit --only -- PATHS``; only
after it has landed is the person's index brought up to date for exactly the
run's paths, in one atomic rename. So a refused hook, a failed signature, the
editor quitting or ``kill -9`` at any moment never leave the run's text staged
in a project, and the person's other staged and unstaged changes stay exactly
as they were. A small journal in the git directory, written before each commit
and removed once it has landed, lets the next resume make a commit that was
cut short (see ``recover``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, cast

if TYPE_CHECKING:
    import subprocess  # imported by run_git: the first git command runs off the editor's path

from . import scratch
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
# "skipped, 2 of 5 failed[, the command not run]": completed with :WorkflowNext! over failing checks
TRAILER_CHECK = "Workflow-Check"
TRAILER_SKIPPED = "Workflow-Skipped"  # "true": an optional step completed with :WorkflowSkip, no text
TRAILER_EXIT = "Workflow-Exit"  # the exit status of a command step's command
TRAILER_REOPENED = "Workflow-Reopened"  # a finished run made editable again (:WorkflowReopen): the finish's date
TRAILER_MODEL = "Workflow-Model"  # "llama3.2@sha256:a80c4f17acd5": the model (and digest) of the notes committed
TRAILER_PROMPT = "Workflow-Prompt"  # "sha256:<hex>": the prompt those notes answered
KINDS = {TRAILER_STEP: "step", TRAILER_REVERT: "revert", TRAILER_SAVED: "saved"}

# One record per commit: fields split by \x1f, records by \x1e.
_LOG_FORMAT = "%H%x1f%h%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1e"
_STEP_VALUE = re.compile(r"(\d+)/(\d+) (\S+)\Z")
# The subjects commit() is given (see run.py), read when a hook stripped the trailers.
_SUBJECTS = (
    ("revert", re.compile(r"back to (\d+)/(\d+) ")),
    ("saved", re.compile(r"(?:kept|keep) unfinished (\d+)/(\d+)\b")),  # older runs say "keep"
    ("step", re.compile(r"(\d+)/(\d+) ")),
)
# How a commit is shown above its patch (d in :WorkflowLog).
_SHOW_FORMAT = "commit %H%nAuthor: %an <%ae>%nDate:   %ad%n%n%B"
_REVISION = re.compile(r"[0-9a-fA-F]{4,64}\Z")
STANDALONE_NAME = "workflow.nvim"
STANDALONE_EMAIL = "workflow.nvim@localhost"
NO_GIT = "git is not installed or not on PATH: install git (e.g. apt install git)"

# In the git directory, where git status never looks: per run, the index a commit is built in,
# the copy of the person's index being brought up to date, and the journal of a commit under way.
_SCRATCH_INDEX = "workflow-index-{}"
_PENDING_DIR = "workflow-pending"
# How long to wait for another git command to release the person's index after a commit landed.
INDEX_LOCK_PATIENCE = 5.0  # seconds
# What tells one version of the index file from the next one git renames over it; None: no file.
Identity = Optional[tuple[int, int, int]]


class GitRefused(WorkflowError):
    """The repository is in a state where committing would do harm."""


class CommitCutShort(WorkflowError):
    """git was killed while committing (Neovim quit): whether it landed, the next resume finds out."""


class Entry(NamedTuple):
    """One commit of a run, as ``git log`` tells it."""

    hash: str
    short: str
    date: str  # ISO 8601, author date
    subject: str
    kind: str  # "step", "revert" or "saved"
    index: int  # type: ignore[assignment]  # a field, not tuple.index
    total: int
    step_id: str
    revised: bool = False
    from_subject: bool = False  # its trailers were gone (a commit-msg hook): read from the subject
    skipped: bool = False  # an optional step completed with :WorkflowSkip

    def line(self, title: str) -> str:
        """The entry as a log shows it: hash, date, what happened to step ``title``."""
        when = self.date[:16].replace("T", " ")
        if self.kind in MARKS:
            return f"{self.short}  {when}  {self.subject}"
        revised = " (revised)" if self.revised else ""
        revised += " (skipped)" if self.skipped else ""
        return f"{self.short}  {when}  {KIND_LABEL[self.kind]}{self.index}/{self.total} {title}{revised}"


KIND_LABEL = {"step": "", "revert": "back to ", "saved": "kept unfinished "}
# What a log shows besides the steps' commits (Run.timeline): the run's finishes (tag objects,
# not commits) and its reopenings (commits of no file). A mark's subject is its whole line.
MARKS = ("finished", "reopened")


class History:
    """A run's commits as ``git log`` tells them, and what could not be read."""

    def __init__(self, entries: list[Entry] | None = None, unread: int = 0) -> None:
        self.entries: list[Entry] = entries if entries is not None else []
        self.unread = unread  # commits in the run's history that are neither trailer- nor subject-marked

    def __repr__(self) -> str:
        return f"History(entries={self.entries!r}, unread={self.unread!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and (self.entries, self.unread) == (other.entries, other.unread)


def _git() -> Any:
    """GitPython, imported on first use (it costs ~0.14 s)."""
    import git

    return git


# Git processes running now: when the Python host exits because its editor is gone, a
# commit still running is stopped, so it cannot land behind the next resume's back (which
# makes it again from the journal).
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()


@atexit.register
def _stop_running_git() -> None:
    with _running_lock:
        processes = list(_running)
    for process in processes:
        with contextlib.suppress(OSError):
            process.terminate()


def enclosing_repository(run_dir: Path) -> Path | None:
    """The work tree whose history a new run in ``run_dir`` commits into, or None when the run is
    a git repository of its own: outside any work tree, or where the project's git ignores it.

    ``run_dir`` need not exist yet (:checkhealth asks of a run to come). The one rule: the run
    opens its repository by it, and the doctor reports it.
    """
    run_dir = Path(os.path.abspath(run_dir))
    if not any((p / ".git").exists() for p in (run_dir, *run_dir.parents)):
        return None
    probe = run_dir
    while not probe.is_dir() and probe.parent != probe:
        probe = probe.parent
    status, out, _ = run_git(probe, ["rev-parse", "--show-toplevel"])
    top = Path(out.decode("utf-8", "replace").strip()) if status == 0 else None
    if top is None or not top.is_dir():
        return None
    top = top.resolve()
    if top != run_dir.resolve():
        # A runs_dir the project's git ignores is not meant for its history: the run keeps its own.
        status, _, _ = run_git(top, ["check-ignore", "-q", "--", str(run_dir)])
        if status == 0:
            return None
    return top


def run_git(cwd: Path, args: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """Run ``git args`` in ``cwd``: exit status, stdout, stderr. Messages in English, for parsing."""
    full_env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **(env or {})}
    try:
        import subprocess

        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise WorkflowError(NO_GIT) from None
    with _running_lock:
        _running.add(process)
    try:
        out, err = process.communicate()
    finally:
        with _running_lock:
            _running.discard(process)
    return process.returncode, out, err


def _read_subject(subject: str, workflow: str, step_ids: Sequence[str]) -> tuple[str, int] | None:
    """(kind, index) of a subject this plugin writes, ``{workflow}: {i}/{n} {title}`` and the like."""
    prefix = f"{workflow}: "
    if not workflow or not step_ids or not subject.startswith(prefix):
        return None
    rest = subject[len(prefix) :]
    for kind, pattern in _SUBJECTS:
        m = pattern.match(rest)
        if m:
            index, total = int(m[1]), int(m[2])
            return (kind, index) if total == len(step_ids) and 1 <= index <= total else None
    return None


def read_log(output: str, run_id: str, workflow: str = "", step_ids: Sequence[str] = ()) -> History:
    """The run ``run_id`` in ``git log`` output made with ``_LOG_FORMAT``, oldest first.

    A commit is the run's when its ``Workflow-Run`` trailer says so. A commit
    without any ``Workflow-Run`` trailer (a ``commit-msg`` hook may strip them)
    is read from its subject, given the workflow's name and step ids; one that
    cannot be read either way is counted in ``unread``.
    """
    history = History()
    found: list[Entry] = []
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
        if TRAILER_RUN not in trailers:
            read = _read_subject(subject, workflow, step_ids)
            if read is None:
                history.unread += 1
            else:
                kind, index = read
                step_id = step_ids[index - 1]
                skipped = subject.endswith(" (skipped)")
                entry = Entry(full, short, date, subject, kind, index, len(step_ids), step_id, from_subject=True)
                found.append(entry._replace(skipped=skipped))
            continue
        if trailers[TRAILER_RUN] != run_id:
            continue
        for key, kind in KINDS.items():
            m = _STEP_VALUE.match(trailers.get(key, ""))
            if m:
                skipped = trailers.get(TRAILER_SKIPPED) == "true"
                found.append(Entry(full, short, date, subject, kind, int(m[1]), int(m[2]), m[3], skipped=skipped))
                break
    # A completion is a revision when the step is done already in the history as it stands: after a
    # revert, completing a later step again is its first completion since.
    done: dict[str, int] = {}
    for e in found:
        history.entries.append(e._replace(revised=e.step_id in done) if e.kind == "step" else e)
        done = completed_steps([e], done)
    return history


def parse_log(output: str, run_id: str, workflow: str = "", step_ids: Sequence[str] = ()) -> list[Entry]:
    """Entries of run ``run_id`` in ``git log`` output made with ``_LOG_FORMAT``, oldest first."""
    return read_log(output, run_id, workflow, step_ids).entries


def completed_steps(entries: Iterable[Entry], done: dict[str, int] | None = None) -> dict[str, int]:
    """Step id -> index of the steps done after replaying ``entries`` (oldest first) on ``done``."""
    done = dict(done or {})
    for e in entries:
        if e.kind == "step":
            done[e.step_id] = e.index
        elif e.kind == "revert":
            done = {sid: i for sid, i in done.items() if i <= e.index}
    return done


def commit_message(
    subject: str,
    body: str,
    workflow: str,
    run_id: str,
    key: str,
    index: int,
    total: int,
    step_id: str,
    extra: Sequence[str] = (),
) -> list[str]:
    """The paragraphs of a commit message (for ``git commit -m P -m P ...``); ``extra``: more trailer lines."""
    trailers = f"{TRAILER_WORKFLOW}: {workflow}\n{TRAILER_RUN}: {run_id}\n{key}: {index}/{total} {step_id}"
    return [subject, body, "\n".join([trailers, *extra])]


FINISHED_REFS = "refs/workflow/finished/"


def finished_ref(run_id: str) -> str:
    """The ref that marks run ``run_id`` finished: an annotated tag object whose message sums the run up.

    Not under refs/tags/: in a person's project a tag would change ``git describe`` and travel with
    ``git push --follow-tags``. Earlier finishes stay under ``<ref>.1``, ``<ref>.2``, ...
    """
    return FINISHED_REFS + run_id


_TRAILER_MODEL_NAME = re.compile(r"[\w.:/@+-]{1,200}\Z")  # what an Ollama model name can be; no spaces


def notes_trailers(request: Any) -> list[str]:
    """The ``Workflow-Model`` and ``Workflow-Prompt`` trailers for a notes file's ``request``
    (annotate.Sent.to_dict); none for a request that is missing or not one (an edited file)."""
    from .annotate import Sent, prompt_sha256

    sent = Sent.of(request)
    if sent is None or not _TRAILER_MODEL_NAME.match(sent.model):
        return []
    model = sent.model + (f"@{sent.digest[:19]}" if sent.digest else "")  # sha256: and 12 hex digits
    return [f"{TRAILER_MODEL}: {model}", f"{TRAILER_PROMPT}: sha256:{prompt_sha256(sent.prompt)}"]


def _one_line(text: str, limit: int = 400) -> str:
    flat = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class CommitRefused(WorkflowError):
    """Git refused a commit (a hook, signing): its message fits one line, ``detail`` has git's whole words."""

    LIMIT = 68  # with "[workflow] " before it, the line fits 80 columns

    def __init__(self, what: str, detail: str):
        self.detail = detail
        words = re.sub(r"^(?:error|fatal|hint): ", "", detail)
        head = f"git refused the commit of {what}: "
        if len(head) + len(words) > self.LIMIT:
            short = re.sub(r" '.*'\Z", "", what)  # without the step's title
            head = f"git refused the commit of {short}: "
            room = max(self.LIMIT - len(head), 16)
            words = words if len(words) <= room else words[: room - 1] + "…"
        super().__init__(head + words)


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
        self.last_warning: str | None = None  # what the last commit() has to say besides its hash
        self._index_lock = threading.Lock()  # installing the person's index vs finishing an interrupted one
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
        # A .git there that git cannot read is a broken repository, never a new one to make; but
        # a .git directory without HEAD is none yet: it holds only the run's lock, or a git init
        # was cut short (a server killed), and git init completes it.
        dot_git = run_dir / ".git"
        broken = os.path.lexists(dot_git) and (not dot_git.is_dir() or os.path.lexists(dot_git / "HEAD"))
        if create and not broken and enclosing_repository(run_dir) is None:
            return cls(None, run_dir, standalone=True, top=run_dir, git_dir=run_dir / ".git")
        git = _git()
        try:
            repo = git.Repo(run_dir, search_parent_directories=True)
        except git.InvalidGitRepositoryError:
            if broken:
                raise WorkflowError(f"run {run_dir.name}: git cannot read its .git (broken?)") from None
            if not create:
                raise WorkflowError(f"{run_dir} is not in a git repository: is it a run directory?") from None
            return cls(None, run_dir, standalone=True, top=run_dir, git_dir=run_dir / ".git")
        except git.NoSuchPathError:
            raise WorkflowError(f"{run_dir} does not exist") from None
        top = Path(str(repo.working_tree_dir)).resolve()
        return cls(repo, run_dir, standalone=top == run_dir)

    def _initialize(self) -> git.Repo:
        gitpython = _git()
        try:
            repo = gitpython.Repo.init(self.run_dir)
        except gitpython.GitCommandNotFound:
            raise WorkflowError(NO_GIT) from None
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

    def _run(self, *args: str, strip: bool = True, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        _ = self.repo  # a standalone repository is made on first use
        status, out, err = run_git(self.top, args, env)
        text = out.decode("utf-8", errors="replace")
        if strip and text.endswith("\n"):
            text = text[:-1]
        return status, text, err.decode("utf-8", errors="replace")

    def rel(self, path: Path) -> str:
        """``path`` (in the run directory, existing or not) relative to the work tree, as git wants it."""
        inside = path.relative_to(self.run_dir) if path.is_absolute() else path
        return f"{self.prefix}/{inside.as_posix()}" if self.prefix else inside.as_posix()

    def _inside(self, path: Path) -> Path:
        """``path`` (absolute, or relative to the run directory) if it names a file of the run."""
        full = Path(os.path.normpath(path if path.is_absolute() else self.run_dir / path))
        if full == self.run_dir or self.run_dir not in full.parents or ".git" in full.relative_to(self.run_dir).parts:
            raise WorkflowError(f"{path} is not a file of run {self.run_dir.name}")
        return full

    # -- checks --------------------------------------------------------------

    def refusal(self) -> str | None:
        """Why committing here now would be wrong, or None. Reads files only: no git process."""
        where = "the run repository" if self.standalone else f"the repository {self.top}"
        self._finish_index_update()  # an index.lock of our own, left by a kill, is no one's to wait for
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

    def commit(self, paths: Sequence[Path], message: list[str], what: str, delete: Sequence[Path] = ()) -> str | None:
        """Commit exactly ``paths`` (added, changed or deleted); return the new commit's hash.

        ``delete`` (some of ``paths``) are removed from the work tree first; each
        must hold no text that is not in HEAD. Returns None when none of the
        paths changed since their last commit. Raises GitRefused when the
        repository is in no state to commit, WorkflowError with git's own words
        when git refuses (a hook, signing). The person's index is not used:
        see the module's docstring.
        """
        if not paths:
            return None  # `git commit --` without paths would commit whatever else is staged
        refusal = self.refusal()
        if refusal:
            raise GitRefused(f"cannot commit {what}: {refusal}")
        if self._journal.exists():
            # An earlier commit landed while the person's index was locked: update it now.
            self.last_warning = self.recover()
        names = [p.relative_to(self.run_dir).as_posix() if p.is_absolute() else p.as_posix() for p in paths]
        gone = {p.relative_to(self.run_dir).as_posix() if p.is_absolute() else p.as_posix() for p in delete}
        return self._commit(names, [n for n in names if n in gone], message, what)

    def _commit(
        self, names: Sequence[str], gone: Sequence[str], message: list[str], what: str, replay: bool = False
    ) -> str | None:
        """The commit of ``commit`` (``replay``: of ``recover``, whose journal is left to it)."""
        rels = [self.rel(Path(n)) for n in names]
        gone_rels = [self.rel(Path(n)) for n in gone]
        with self._scratch_index(seed=True) as (env, seed):
            self._stage(env, rels)
            changed = self._staged_changes(env, rels)
            unsaved = [r for r in gone_rels if r in changed and (self.top / r).exists()]
            if unsaved:
                raise WorkflowError(f"cannot commit {what}: {unsaved[0]} has text that is in no commit yet")
            if gone_rels:
                self._write_journal(names, gone, message, what)
                for r in gone_rels:
                    (self.top / r).unlink(missing_ok=True)
                self._stage(env, gone_rels)
                changed = self._staged_changes(env, rels)
            if not changed:
                if not replay:
                    self._drop_journal()
                return None
            self._write_journal(names, gone, message, what)
            args = ["commit", "--quiet", "--no-edit"]
            for paragraph in message:
                args += ["-m", paragraph]
            try:
                status, out, err = self._run(*args, "--only", "--", *[r for r in rels if r in changed], env=env)
            except BaseException:
                self._drop_journal()
                raise
            if status < 0:  # killed: it may have landed or not; the journal tells the next resume
                raise CommitCutShort(f"git was stopped while committing {what}: :WorkflowResume finishes it")
            if status != 0:
                self._drop_journal()
                raise CommitRefused(what, _one_line(err or out) or f"git commit exited with {status}")
            # The scratch index is now the person's, with the run's paths as committed.
            updated = self._install_index(env["GIT_INDEX_FILE"], seed)
        commit = self.head()
        if updated is None:  # the person's index changed meanwhile: update it in place of ours
            updated = self._update_index(rels)
        if updated:
            self._drop_journal()
        else:
            # The commit is made; the journal stays so that the next commit or resume updates the index.
            self.last_warning = (
                f"{what} is committed; git's index was locked, so git status lists it until the next step"
            )
        return commit

    @property
    def _scratch_index_path(self) -> Path:
        return self.git_dir / _SCRATCH_INDEX.format(self.run_dir.name)

    @contextlib.contextmanager
    def _scratch_index(self, seed: bool = False) -> Iterator[tuple[dict[str, str], Identity]]:
        """The environment that makes git use an index of the run's own, in the git directory.

        With ``seed`` it starts as a copy of the person's index (yielded with
        what identifies that version of it): ``git commit --only`` takes the
        file status it caches, instead of reading every file of the project
        again, and afterwards the copy is what the person's index must become.
        Without, it starts empty.
        """
        _ = self.repo
        index = self._scratch_index_path
        files = (index, index.with_name(index.name + ".lock"))
        for f in files:  # stale, from a process killed before its cleanup
            f.unlink(missing_ok=True)
        identity = _identity(self._index_path)
        if seed and identity is not None:
            try:
                shutil.copy2(self._index_path, index)  # its time too: git trusts entries older than the file
            except FileNotFoundError:
                identity = None  # replaced meanwhile: no seed, and no installing it afterwards
            identity = identity if identity == _identity(self._index_path) else None
        try:
            yield {"GIT_INDEX_FILE": str(index)}, identity if seed else None
        finally:
            for f in files:
                with contextlib.suppress(OSError):
                    f.unlink()

    def _stage(self, env: dict[str, str], rels: Sequence[str]) -> None:
        """Put ``rels`` as they are in the work tree (or their absence) into the index of ``env``."""
        status, _, err = self._run("update-index", "--add", "--remove", "--", *rels, env=env)
        if status != 0:
            raise WorkflowError(f"git update-index failed in {self.top}: {_one_line(err)}")

    def _staged_changes(self, env: dict[str, str], rels: Sequence[str]) -> set[str]:
        """Those of ``rels`` whose entry in the index of ``env`` differs from HEAD."""
        args = ("--name-only", "--no-renames", "-z", "HEAD", "--", *rels)
        status, out, err = self._run("diff-index", "--cached", *args, env=env)
        if status != 0 and self._run("rev-parse", "--quiet", "--verify", "HEAD")[0] != 0:
            # No commit yet: everything in the index is new.
            status, out, err = self._run("ls-files", "--cached", "-z", "--", *rels, env=env)
        if status != 0:
            raise WorkflowError(f"git diff-index failed in {self.top}: {_one_line(err)}")
        return {name for name in out.split("\0") if name}

    # -- the person's index ------------------------------------------------

    @property
    def _index_path(self) -> Path:
        configured = os.environ.get("GIT_INDEX_FILE")
        return self.top / configured if configured else self.git_dir / "index"

    @property
    def _index_copy_path(self) -> Path:
        return self.git_dir / (_SCRATCH_INDEX.format(self.run_dir.name) + ".update")

    @property
    def _lock_path(self) -> Path:
        index = self._index_path
        return index.with_name(index.name + ".lock")

    def _install_index(self, new: str | Path, expected: Identity) -> bool | None:
        """Rename ``new`` over the person's index if that is still the version ``expected`` (None: none).

        Git's own lock is taken by creating the lock file as a hard link to
        ``new``, so the index is at every moment either the old one or the new
        one, and another git command changing it meanwhile is never undone.
        True when done, None when the index is not the expected one, False
        when another git command kept it locked.
        """
        if _identity(self._index_path) != expected:
            return None
        lock = self._lock_path
        deadline = time.monotonic() + INDEX_LOCK_PATIENCE
        while True:
            with self._index_lock:
                if _lock_with(lock, Path(new)):
                    if _identity(self._index_path) != expected:  # changed before we held the lock
                        lock.unlink()
                        return None
                    os.replace(lock, self._index_path)
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _update_index(self, rels: Sequence[str]) -> bool:
        """Make the person's index hold HEAD's version of exactly ``rels``; False if it stayed locked.

        A copy of the index is changed (``git reset -- rels``) and installed.
        """
        copy = self._index_copy_path
        deadline = time.monotonic() + INDEX_LOCK_PATIENCE
        try:
            while time.monotonic() < deadline:  # another git command may change the index meanwhile
                before = _identity(self._index_path)
                copy.unlink(missing_ok=True)
                copy.with_name(copy.name + ".lock").unlink(missing_ok=True)
                if before is not None:
                    with contextlib.suppress(FileNotFoundError):
                        shutil.copy2(self._index_path, copy)  # see _scratch_index
                status, _, err = self._run("reset", "--quiet", "--", *rels, env={"GIT_INDEX_FILE": str(copy)})
                if status != 0:
                    raise WorkflowError(f"git reset failed in {self.top}: {_one_line(err)}")
                done = self._install_index(copy, before)
                if done is not None:
                    return done
            return False
        finally:
            copy.unlink(missing_ok=True)

    def _finish_index_update(self) -> None:
        """Complete an index update that a kill cut between taking the lock and the rename."""
        lock = self._lock_path
        if not lock.exists():
            return
        with self._index_lock:
            for new in (self._scratch_index_path, self._index_copy_path):
                with contextlib.suppress(OSError):
                    if os.path.samefile(lock, new):
                        os.replace(lock, self._index_path)  # it held the new index: nobody could change it since

    # -- the journal of a commit under way -------------------------------------

    @property
    def _journal(self) -> Path:
        return self.git_dir / _PENDING_DIR / f"{self.run_dir.name}.json"

    def _write_journal(self, names: Sequence[str], gone: Sequence[str], message: list[str], what: str) -> None:
        self._journal.parent.mkdir(exist_ok=True)
        data = {"paths": list(names), "delete": list(gone), "message": message, "what": what}
        scratch.write_atomic(self._journal, json.dumps(data, ensure_ascii=False) + "\n")

    def _drop_journal(self) -> None:
        self._journal.unlink(missing_ok=True)

    def recover(self) -> str | None:
        """Finish a commit that was cut short (the editor quit, ``kill -9``); say so when one is made here.

        A commit whose journal is still there either landed (the person's index
        is then brought up to date) or did not (it is made now, from the files
        as they are: the editor does not write a file while it is committed).
        """
        self._finish_index_update()
        try:
            data = json.loads(self._journal.read_text(encoding="utf-8"))
            names = [str(n) for n in data["paths"]]
            gone = [str(n) for n in data["delete"]]
            message = [str(m) for m in data["message"]]
            what = str(data["what"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self._drop_journal()  # written atomically, so only a hand could break it
            return None
        if any(not _plain_name(n) for n in [*names, *gone]):
            self._drop_journal()
            return None
        refusal = self.refusal()
        if refusal:
            return f"{what} was not committed when Neovim quit; it is not yet either: {refusal}"
        try:
            commit = self._commit(names, gone, message, what, replay=True)
        except CommitCutShort:
            raise
        except WorkflowError as e:
            self._drop_journal()
            return f"{what} was not committed when Neovim quit, nor now: {e}"
        if commit is None:  # it had landed: only the person's index may be behind
            if self._update_index([self.rel(Path(n)) for n in names]):
                self._drop_journal()
            return None
        return f"{what} was not committed when Neovim quit: committed now ({commit[:7]})"

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
        """Those of ``rels`` that differ from their committed version (or are new, or deleted)."""
        if not rels:
            return set()
        with self._scratch_index() as (env, _):
            self._stage(env, rels)
            return self._staged_changes(env, rels)

    # -- finishing -------------------------------------------------------------

    def who(self) -> str:
        """Who commits here, ``Name <email>`` (git's committer identity), or "unknown"."""
        status, ident, _ = self._run("var", "GIT_COMMITTER_IDENT")
        return ident.rpartition(">")[0] + ">" if status == 0 and ">" in ident else "unknown"

    def finish(self, run_id: str, message: str) -> tuple[str, str]:
        """Mark the run finished at HEAD: a tag object with ``message`` under ``finished_ref``.

        An earlier finish stays reachable under ``<ref>.<n>`` (refs keep no reflog by default).
        Returns the ref and the finish's date (ISO 8601).
        """
        ref = finished_ref(run_id)
        status, ident, err = self._run("var", "GIT_COMMITTER_IDENT")
        if status != 0:
            raise WorkflowError(f"cannot finish run {run_id}: git has no identity ({_one_line(err)})")
        status, refs, _ = self._run("for-each-ref", "--format=%(refname)", f"{ref}", f"{ref}.*")
        earlier = refs.split("\n") if refs else []
        if ref in earlier:
            n = 1 + max((int(r.rsplit(".", 1)[1]) for r in earlier if re.fullmatch(r".*\.\d+", r)), default=0)
            status, _, err = self._run("update-ref", f"{ref}.{n}", ref)
            if status != 0:
                raise WorkflowError(f"cannot keep the earlier finish of run {run_id}: {_one_line(err)}")
        tag = f"object {self.head()}\ntype commit\ntag finished/{run_id}\ntagger {ident}\n\n{message.rstrip()}\n"
        tag_object = self._hash_tag(tag)
        status, _, err = self._run("update-ref", "-m", f"finish {run_id}", ref, tag_object)
        if status != 0:
            raise WorkflowError(f"cannot finish run {run_id}: {_one_line(err)}")
        seconds, _, offset = ident.rpartition(">")[2].strip().partition(" ")
        return ref, _iso_date(int(seconds), offset)

    def _hash_tag(self, text: str) -> str:
        """Write the tag object ``text`` (``git mktag`` checks it); its hash."""
        import subprocess

        try:
            done = subprocess.run(
                ["git", "mktag"],
                cwd=self.top,
                input=text.encode("utf-8"),
                capture_output=True,
                env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
            )
        except FileNotFoundError:
            raise WorkflowError(NO_GIT) from None
        if done.returncode != 0:
            raise WorkflowError(f"git mktag failed in {self.top}: {_one_line(done.stderr.decode('utf-8', 'replace'))}")
        return done.stdout.decode().strip()

    def finish_state(self, run_id: str) -> tuple[bool, str | None]:
        """Whether the run is finished, and when (ISO 8601): its finish ref points at an ancestor of
        (or at) HEAD, and no ``Workflow-Reopened`` commit of the run came after it."""
        ref = finished_ref(run_id)
        fields = "%(*objectname)%00%(taggerdate:iso-strict)"
        status, out, _ = self._run("for-each-ref", f"--format={fields}", ref)
        if status != 0 or not out:
            return False, None
        commit, _, date = out.partition("\0")
        if self._run("merge-base", "--is-ancestor", commit, "HEAD")[0] != 0:
            return False, None
        grep = [f"--grep=^{TRAILER_RUN}: {re.escape(run_id)}$", f"--grep=^{TRAILER_REOPENED}:"]
        status, reopened, _ = self._run("rev-list", "-1", "--all-match", *grep, f"{commit}..HEAD")
        if status != 0 or reopened:
            return False, None
        return True, date or None

    def finishes(self, run_id: str, total: int) -> list[tuple[str, Entry]]:
        """Every finish of the run, oldest first, as (the commit it marks, a "finished" Entry of
        the tag): the one under ``finished_ref`` last, the earlier ones (``<ref>.<n>``) before it."""
        ref = finished_ref(run_id)
        fields = "%(refname)%00%(objectname)%00%(*objectname)%00%(taggerdate:iso-strict)"
        status, out, _ = self._run("for-each-ref", f"--format={fields}", ref, f"{ref}.*")
        found: list[tuple[int, str, Entry]] = []
        for line in out.splitlines() if status == 0 else []:
            name, tag, commit, date = [*line.split("\0"), "", "", ""][:4]
            suffix = name[len(ref) :]
            if not commit or not (suffix == "" or re.fullmatch(r"\.\d{1,9}", suffix)):
                continue
            order = int(suffix[1:]) if suffix else 1 << 40
            subject = f"finished: all {total} steps done" + (" (an earlier finish)" if suffix else "")
            found.append((order, commit, Entry(tag, tag[:7], date, subject, "finished", total, total, "")))
        return [(commit, entry) for _, commit, entry in sorted(found, key=lambda f: f[0])]

    def reopenings(self, run_id: str, since: str) -> list[tuple[str, Entry]]:
        """The run's ``Workflow-Reopened`` commits after commit ``since`` (its first finish: a run is
        reopened only once finished), oldest first, as (parent, "reopened" Entry).

        Read apart from ``history``: in a project the run's history is read for its own
        directory (``-- prefix``), where a commit of no file never shows."""
        grep = [f"--grep=^{TRAILER_RUN}: {re.escape(run_id)}$", f"--grep=^{TRAILER_REOPENED}:", "--all-match"]
        fmt = "--format=%H%x1f%h%x1f%aI%x1f%P"
        status, out, _ = self._run("log", "--no-show-signature", "--reverse", fmt, *grep, "HEAD", f"^{since}")
        found = []
        for line in out.splitlines() if status == 0 else []:
            fields = line.split("\x1f")
            if len(fields) == 4:
                full, short, date, parents = fields
                found.append((parents.split(" ")[0], Entry(full, short, date, "reopened", "reopened", 0, 0, "")))
        return found

    def show_tag(self, tag: str) -> str | None:
        """A finish as ``git show`` tells it (the tag's summary, then the commit it marks); None if
        ``tag`` names no tag object."""
        revision = self._revision(tag)
        status, kind, _ = self._run("cat-file", "-t", "--end-of-options", revision)
        if status != 0 or kind != "tag":
            return None
        args = ["show", "--no-patch", "--no-show-signature", f"--format={_SHOW_FORMAT}", "--end-of-options", revision]
        status, out, err = self._run(*args)
        if status != 0:
            raise WorkflowError(f"cannot show the finish {tag[:12]}: {_one_line(err)}")
        return out + "\n"

    def commit_empty(self, message: list[str], what: str) -> str:
        """A commit that changes no file (it only says something: :WorkflowReopen); its hash.

        Made through ``git commit`` (hooks and signing apply) in an index of the run's own that
        holds HEAD's tree, so the person's staged changes stay staged and out of it."""
        refusal = self.refusal()
        if refusal:
            raise GitRefused(f"cannot commit {what}: {refusal}")
        with self._scratch_index() as (env, _):
            status, _, err = self._run("read-tree", "HEAD", env=env)
            if status != 0:
                raise WorkflowError(f"git read-tree failed in {self.top}: {_one_line(err)}")
            args = ["commit", "--quiet", "--no-edit", "--allow-empty"]
            for paragraph in message:
                args += ["-m", paragraph]
            status, out, err = self._run(*args, env=env)
            if status != 0:
                raise CommitRefused(what, _one_line(err or out) or f"git commit exited with {status}")
        return self.head()

    # -- reading -------------------------------------------------------------

    def history(self, run_id: str, workflow: str = "", step_ids: Sequence[str] = ()) -> History:
        """The run's commits, oldest first (one ``git log`` process); see ``read_log``."""
        # --no-show-signature: log.showSignature would print signature checks into the records
        # A standalone repository holds only this run: no pathspec, which would make git diff every commit.
        where = ["--", self.prefix] if self.prefix else []
        status, out, err = self._run("log", "--no-show-signature", f"--format={_LOG_FORMAT}", *where)
        if status != 0:
            if "does not have any commits" in err or "bad default revision" in err or "unknown revision" in err:
                return History()
            raise WorkflowError(f"cannot read the history of {self.run_dir}: {_one_line(err)}")
        return read_log(out, run_id, workflow, step_ids)

    def log(self, run_id: str) -> list[Entry]:
        """The run's commits marked by its trailers, oldest first."""
        return self.history(run_id).entries

    @staticmethod
    def _revision(commit: str) -> str:
        if not _REVISION.match(commit):
            raise WorkflowError(f"'{commit[:40]}' is not a commit hash: pick one in :WorkflowLog")
        return commit

    def show(self, commit: str, path: Path) -> str:
        """The text of ``path`` at ``commit``."""
        spec = f"{self._revision(commit)}:{self.rel(self._inside(path))}"
        status, out, err = self._run("show", "--end-of-options", spec, strip=False)
        if status != 0:
            raise WorkflowError(f"cannot show {path.name} at {commit[:12]}: {_one_line(err)}")
        return out

    def diff(self, commit: str, path: Path | None) -> str:
        """What ``commit`` changed (in ``path`` only, when given), as a patch."""
        where = self.rel(self._inside(path)) if path else self.prefix or "."
        args = ["show", "--no-show-signature", f"--format={_SHOW_FORMAT}"]
        status, out, err = self._run(*args, "--end-of-options", self._revision(commit), "--", where)
        if status == 0 and not out:  # a commit of no file there (a reopening): git shows nothing of it
            status, out, err = self._run(*args, "--no-patch", "--end-of-options", self._revision(commit))
        if status != 0:
            raise WorkflowError(f"cannot show commit {commit[:12]}: {_one_line(err)}")
        return out

    def diff_from(self, commit: str, start: Path, path: Path) -> str | None:
        """What ``path`` is at ``commit`` compared with ``start`` there, under the commit's header, as a patch.

        None when ``commit`` has no ``start`` (a run made before start files were kept)."""
        import difflib

        revision = self._revision(commit)
        start_rel, rel = self.rel(self._inside(start)), self.rel(self._inside(path))
        status, before, _ = self._run("show", "--end-of-options", f"{revision}:{start_rel}", strip=False)
        if status != 0:
            return None
        after = self.show(commit, path)
        args = ["show", "--no-patch", "--no-show-signature", f"--format={_SHOW_FORMAT}"]
        status, header, err = self._run(*args, "--end-of-options", revision)
        if status != 0:
            raise WorkflowError(f"cannot show commit {commit[:12]}: {_one_line(err)}")
        patch = difflib.unified_diff(before.splitlines(), after.splitlines(), f"a/{start_rel}", f"b/{rel}", lineterm="")
        return "\n".join([header.rstrip("\n"), "", f"diff --git a/{start_rel} b/{rel}", *patch]) + "\n"


def _iso_date(seconds: int, offset: str) -> str:
    """Git's ``1764184251 +0100`` as ISO 8601, ``2025-11-26T19:10:51+01:00``."""
    import datetime as dt

    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-").zfill(4)
    zone = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return dt.datetime.fromtimestamp(seconds, zone).isoformat()


def _identity(path: Path) -> Identity:
    """What tells one version of a file from the next one git renames over it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _lock_with(lock: Path, content: Path) -> bool:
    """Create git's lock file ``lock`` holding ``content``'s bytes; False if another process holds it."""
    try:
        os.link(content, lock)  # atomic: the lock exists only with its whole content
        return True
    except FileExistsError:
        return False
    except OSError:
        pass  # a filesystem without hard links: git's own way, create then write
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(content.read_bytes())
    return True


def _plain_name(name: str) -> bool:
    """A file name inside a run directory, as the journal holds them."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and not any(p in ("..", ".", ".git") for p in parts)
