"""``python -m workflow_nvim install``: the plugin's own Python environment.

    python -m workflow_nvim install [--venv DIR] [--json-progress]

1. DIR (default: ``$XDG_DATA_HOME/workflow.nvim/venv``, places.py) becomes a virtual
   environment: ``uv venv`` when uv is on PATH, else ``python -m venv``.
2. The packages of dependencies.py are installed there (``uv pip install``,
   else that environment's pip).
3. A ``.pth`` file in its site-packages names this package's directory
   (``rplugin/python3``), so ``DIR/bin/python -m workflow_nvim ...`` works and
   an update of the plugin is used at once.

A second run finds all of it there and does nothing slow. Nothing outside DIR
is written: not the Python that runs this, not its site-packages.

Standard library only, and nothing of the package but dependencies.py and places.py: this
runs with whatever python3 is at hand, before any dependency is there.

Progress goes to stdout, one line per stage. With ``--json-progress`` each
line is a JSON object: ``{"progress": text, "detail": bool}`` (detail: a line
of pip's or uv's, worth showing but not keeping), then one
``{"ok": true, "python": path, "message": text, "changed": bool}`` or
``{"ok": false, "error": one line}``. The exit status is 0 or 1.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

from . import dependencies, places
from .display import tilde

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # rplugin/python3: what the .pth file names
PTH_NAME = "workflow_nvim.pth"
OLDEST_PYTHON = (3, 9)
TAIL = 40  # lines of a failed command kept to say why it failed
LOW_DISK = 64 << 20  # after a failure, less room than this is taken to be why (the packages take about 60 MiB)

# Run by the environment's own Python: what it has, and where its site-packages are.
PROBE = """
import importlib.util as u, json, sys, sysconfig
mods = json.loads(sys.argv[1])
spec = u.find_spec("workflow_nvim")
print(json.dumps({
    "python": sys.version.split()[0],
    "missing": [dist for mod, dist in mods if u.find_spec(mod) is None],
    "package": list(spec.submodule_search_locations or [None])[0] if spec else None,
    "pip": u.find_spec("pip") is not None,
    "purelib": sysconfig.get_paths()["purelib"],
}))
"""

# What pip and uv print when they cannot reach the package index.
NETWORK_TROUBLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeout",
    "Read timed out",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "failed to fetch",
    "Failed to download",
    "error sending request",
    "dns error",
)


class InstallFailed(Exception):
    """One line: what failed and what to run."""


def default_venv(environ: Mapping[str, str] | None = None) -> Path:
    """The plugin's own environment: places.py's ``venv`` (the editor passes it too)."""
    return places.plugin(environ).venv


def venv_python(venv: Path) -> Path:
    """The interpreter of the environment ``venv``."""
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def short(path: Path | str) -> str:
    """``path`` for a one-line error: ``~`` for home, and at most its last three parts when it is long."""
    text = tilde(path)
    parts = Path(text).parts
    return text if len(text) <= 30 or len(parts) <= 3 else "…/" + "/".join(parts[-3:])


def child_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of pip and uv: nothing that would point them outside the new environment.

    PYTHONPATH would let pip find packages it cannot see from the environment
    (and skip them); PIP_USER, PIP_TARGET, PIP_PREFIX would send them elsewhere.
    PIP_FIND_LINKS, PIP_INDEX_URL and the like are the person's choice and stay.
    """
    env = dict(os.environ if environ is None else environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PIP_ROOT"):
        env.pop(name, None)
    env.pop("VIRTUAL_ENV", None)  # uv and pip are told which environment; an active one is not it
    return env


class Installer:
    """Makes ``venv`` the plugin's own environment; ``say`` reports progress."""

    def __init__(self, venv: Path, say: Callable[[str, bool], None], again: str) -> None:
        self.venv = venv
        self.python = venv_python(venv)
        self.say = say
        self.again = again  # what the person runs to try again
        self.env = child_env()
        self.uv = shutil.which("uv")
        self._retry = f"run {again} again"  # after a failure with nothing to fix first

    # -- the whole job -------------------------------------------------------

    def run(self) -> tuple[str, bool]:
        """Install, or find it installed; returns (the message, whether anything changed)."""
        if sys.version_info < OLDEST_PYTHON:
            version = ".".join(map(str, sys.version_info[:3]))
            raise InstallFailed(f"python3 is {version}; 3.9 or newer is needed: install it, then {self.again}")
        with self._exclusive():
            state = self.probe() if (self.venv / "pyvenv.cfg").is_file() else None
            if state is not None and not state["missing"] and self._ours(state):
                return f"already installed: {tilde(self.venv)} (Python {self._minor(state)})", False
            state = self._environment(state)
            if state["missing"]:
                self._install_packages(state)
            self._link(Path(state["purelib"]))
            state = self.probe()
            if state is None or state["missing"] or not self._ours(state):
                what = ", ".join(state["missing"]) if state else "its Python does not run"
                raise InstallFailed(f"{short(self.venv)} is still incomplete ({what}): {self._retry}")
            return f"installed: {tilde(self.venv)} (Python {self._minor(state)})", True

    # -- stages --------------------------------------------------------------

    def probe(self) -> dict[str, Any] | None:
        """What the environment's Python has, or None when there is none that runs."""
        if not self.python.exists():
            return None
        mods = [[mod, dist] for mod, (dist, _) in dependencies.DEPENDENCIES.items()]
        try:
            out = subprocess.run(
                [str(self.python), "-E", "-s", "-c", PROBE, json.dumps(mods)],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None
        try:
            state = json.loads(out.stdout)
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def _ours(self, state: dict[str, Any]) -> bool:
        """The environment imports workflow_nvim from this plugin's directory."""
        package = state.get("package")
        return isinstance(package, str) and Path(package).resolve() == (PACKAGE_DIR / "workflow_nvim").resolve()

    def _environment(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """Make the environment if it is not there (again if it is broken); its probe (``state`` if given)."""
        if (self.venv / "pyvenv.cfg").is_file():
            if state is not None:
                return state
            # A Python removed or upgraded under it: an environment of ours, made again.
            self.say("the environment is broken (its Python does not run): making it again", False)
            self._guard(lambda: shutil.rmtree(self.venv), "remove the broken environment")
        elif self.venv.is_symlink() or (self.venv.exists() and (not self.venv.is_dir() or any(self.venv.iterdir()))):
            raise InstallFailed(f"not a virtual environment: move {short(self.venv)} away, then {self.again}")
        self._guard(lambda: self.venv.parent.mkdir(parents=True, exist_ok=True), "create its directory")
        version = sys.version.split()[0]
        if self.uv:
            self.say(f"creating the environment (uv venv, Python {version})", False)
            command = [self.uv, "venv", "--quiet", "--python", sys.executable, str(self.venv)]
        else:
            self._need_venv_module()
            self.say(f"creating the environment (python3 -m venv, Python {version})", False)
            # pip comes next, from ensurepip on its own: what goes wrong there is then in its output
            command = [sys.executable, "-m", "venv", "--without-pip", str(self.venv)]
        created = not self.venv.exists()
        try:
            self._command(command, "create the environment")
            state = self.probe()
            if state is None:
                raise InstallFailed(f"the new environment's Python does not run: {self._retry}")
        except InstallFailed:
            if created:  # half an environment would pass for a whole one next time
                shutil.rmtree(self.venv, ignore_errors=True)
            raise
        return state

    def _install_packages(self, state: dict[str, Any]) -> None:
        """Install what is missing; then once more, by force, what pip took to be there and is not.

        A package half removed (its files gone, its record left) passes for
        installed with pip and uv alike: only a reinstall brings it back.
        """
        self._pip(state, dependencies.requirements(), force=False)
        after = self.probe()
        if after and after["missing"]:
            broken = set(after["missing"])
            self._pip(after, [r for r in dependencies.requirements() if r.split(">=")[0] in broken], force=True)

    def _pip(self, state: dict[str, Any], wanted: list[str], force: bool) -> None:
        names = ", ".join(r.split(">=")[0] for r in wanted)
        again = "again, " if force else ""
        if self.uv:
            self.say(f"installing {again}{names} (uv pip)", False)
            command = [self.uv, "pip", "install", "--python", str(self.python)]
            self._command([*command, *(["--reinstall", "--no-deps"] if force else []), *wanted], "install the packages")
            return
        if not state.get("pip"):  # made with --without-pip, or by uv, which is not on PATH now
            self._need_venv_module()
            self.say("installing pip (ensurepip)", False)
            self._command([str(self.python), "-E", "-m", "ensurepip", "--default-pip"], "install pip")
        self.say(f"installing {again}{names} (pip)", False)
        pip = [str(self.python), "-E", "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        # one retry, not five: without a network the person hears so in seconds
        options = ["--progress-bar", "off", "--retries", "1", "--timeout", "20"]
        if force:
            options += ["--force-reinstall", "--no-deps"]
        self._command([*pip, *options, *wanted], "install the packages")

    def _link(self, purelib: Path) -> None:
        """The .pth file that puts this plugin's package on the environment's path."""
        pth = purelib / PTH_NAME
        text = f"{PACKAGE_DIR}\n"
        with contextlib.suppress(OSError):
            if pth.read_text(encoding="utf-8") == text:
                return
        self.say("linking the plugin's package into it", False)

        def write() -> None:
            tmp = pth.with_name(pth.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, pth)

        self._guard(write, f"write {PTH_NAME}")

    # -- helpers -------------------------------------------------------------

    def _need_venv_module(self) -> None:
        try:
            import ensurepip  # noqa: F401  (Debian and Ubuntu ship it apart, in python3-venv)
            import venv  # noqa: F401
        except ImportError:
            raise InstallFailed(f"no venv module: install python3-venv or uv, then {self.again}") from None

    def _command(self, command: list[str], what: str) -> None:
        """Run one step, relaying its lines; raise InstallFailed with the reason when it fails."""
        tail: list[str] = []
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=self.env,
            )
        except OSError as e:
            raise InstallFailed(f"cannot {what}: {command[0]} does not run ({e.strerror})") from None
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if not line:
                continue
            tail = [*tail[-(TAIL - 1) :], line]
            if self._worth_showing(line):
                self.say(line.strip(), True)
        if proc.wait() != 0:
            raise InstallFailed(self._explain(what, tail))

    @staticmethod
    def _worth_showing(line: str) -> bool:
        return line.lstrip().startswith(
            ("Collecting", "Downloading", "Installing collected", "Successfully", "Resolved", "Prepared", "Installed")
        )

    def _explain(self, what: str, tail: list[str]) -> str:
        """One short line from a failed command's output: what failed and what to do."""
        text = "\n".join(tail)
        if "No space left on device" in text or self._disk_full():
            return f"the disk is full: free some space, then {self.again}"
        if "externally-managed-environment" in text or "externally managed" in text:
            return f"not a virtual environment (PEP 668): remove {short(self.venv)}, then {self.again}"
        if "Permission denied" in text or "Read-only file system" in text:
            return f"{short(self.venv)} is not writable: fix that, then {self.again}"
        if any(marker in text for marker in NETWORK_TROUBLE):
            return f"package index out of reach (no network?): connect, then {self.again}"
        log = self.venv.parent / "install.log"
        try:
            log.write_text(text + "\n", encoding="utf-8")
        except OSError:
            errors = [line.strip() for line in tail if line.lstrip().lower().startswith(("error", "fatal"))]
            return f"cannot {what}: {(errors or tail or ['no output'])[-1][:40]}"
        return f"cannot {what}: see {short(log)}"

    def _disk_full(self) -> bool:
        """Too little room left where the environment goes (some tools do not say so when they fail)."""
        try:
            return shutil.disk_usage(self._existing(self.venv)).free < LOW_DISK
        except OSError:
            return False

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists() and path.parent != path:
            path = path.parent
        return path

    def _guard(self, action: Callable[[], object], what: str) -> None:
        """Run one file operation of ours; its failure becomes one line."""
        try:
            action()
        except OSError as e:
            raise InstallFailed(self._os_error(what, e)) from None

    def _os_error(self, what: str, e: OSError) -> str:
        if e.errno == errno.ENOSPC:
            return f"the disk is full: free some space, then {self.again}"
        where = short(e.filename or self.venv)
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"{where} is not writable: fix that, then {self.again}"
        return f"cannot {what}: {where}: {e.strerror}"

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One install into this directory at a time (a build hook and a command may overlap)."""
        try:
            import fcntl
        except ImportError:  # Windows: no second install is expected there
            yield
            return
        lock = self.venv.parent / f".{self.venv.name}.lock"
        self._guard(lambda: lock.parent.mkdir(parents=True, exist_ok=True), "create its directory")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise InstallFailed(self._os_error("take the install lock", e)) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.say("waiting for another install to finish", False)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _minor(state: dict[str, Any]) -> str:
        """ "3.11" of "3.11.7": enough to tell which Python, short enough for one line."""
        return ".".join(str(state.get("python", "?")).split(".")[:2])


def main(argv: list[str]) -> int:
    """``install [--venv DIR] [--json-progress]``: 0 when the environment is complete, 1 when not."""
    parser = argparse.ArgumentParser(prog="python -m workflow_nvim install", description=__doc__.split("\n")[0])
    parser.add_argument("--venv", metavar="DIR", help="the environment to make (default: %(default)s)")
    parser.add_argument("--json-progress", action="store_true", help="one JSON object per line, for an editor")
    args = parser.parse_args(argv)
    venv = Path(args.venv).expanduser() if args.venv else default_venv()
    venv = Path(os.path.abspath(venv))

    def emit(obj: dict[str, Any]) -> None:
        print(json.dumps(obj), flush=True)

    def say(text: str, detail: bool) -> None:
        if args.json_progress:
            emit({"progress": text, "detail": detail})
        else:
            print(("  " if detail else "") + text, flush=True)

    again = ":WorkflowInstall" if args.json_progress else "python -m workflow_nvim install"
    installer = Installer(venv, say, again)
    try:
        message, changed = installer.run()
    except InstallFailed as e:
        if args.json_progress:
            emit({"ok": False, "error": str(e)})
        else:
            print(f"workflow.nvim: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json_progress:
        emit({"ok": True, "python": str(installer.python), "message": message, "changed": changed})
    else:
        print(message)
    return 0
