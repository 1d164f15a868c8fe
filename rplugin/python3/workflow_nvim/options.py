"""The person's options (``vim.g.workflow`` in Neovim) and their defaults: applied here, and nowhere else.

A front sends the options as the person set them (``Params.options``), with
the directory only it knows (``cwd``). It checks their types
itself, so that a typo is said at once, before Python starts (Neovim's
lua/workflow/config.lua; a test proves it names the same options); what
arrives here is still read with care, as a front may not check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from . import places

DEFAULT_MODEL = "llama3.2"
DEFAULT_FIRST_TOKEN_TIMEOUT = 60.0  # seconds
DEFAULT_RUN_TIMEOUT = 600.0  # seconds a step's command may run (runner.py)
# An annotation asks for the same answer to the same request: no sampling at random, a fixed seed.
DEFAULT_TEMPERATURE = 0.0
DEFAULT_SEED = 42

# Options the front alone reads: which Python to start, whether to map keys in step buffers, and
# whether workflow files are checked as they are edited (before Python starts).
FRONT_ONLY = ("python", "default_mappings", "check_live")


def expand(path: str, cwd: Path) -> Path:
    """``path`` as the person wrote it (``~``, ``$VAR``, relative to the editor's directory), absolute."""
    return Path(os.path.normpath(cwd / Path(os.path.expandvars(path)).expanduser()))


class Options(NamedTuple):
    """The options in effect: what the person set, else the default."""

    runs_dir: Path  # where new runs go (the default: places.py's runs)
    paths: tuple[str, ...] = ()
    model: str = DEFAULT_MODEL
    ollama_host: str | None = None  # None: $OLLAMA_HOST, else this machine (destination.py)
    allow_remote: bool = False  # True only when the person set it so
    annotate_timeout: float = DEFAULT_FIRST_TOKEN_TIMEOUT
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    annotate_temperature: float = DEFAULT_TEMPERATURE
    annotate_seed: int = DEFAULT_SEED

    @classmethod
    def of(cls, params: dict[str, Any]) -> Options:
        """The options of a request: ``params["options"]`` over the defaults."""
        given = params.get("options")
        opts: dict[str, Any] = given if isinstance(given, dict) else {}  # Lua sends an empty table as a list
        cwd = Path(str(params.get("cwd") or Path.cwd()))
        if isinstance(opts.get("runs_dir"), str) and opts["runs_dir"]:
            runs_dir = expand(opts["runs_dir"], cwd)
        else:
            runs_dir = places.plugin().runs
        timeout = opts.get("annotate_timeout")
        return cls(
            runs_dir=runs_dir,
            paths=tuple(p for p in opts["paths"] if isinstance(p, str)) if isinstance(opts.get("paths"), list) else (),
            model=opts["model"] if isinstance(opts.get("model"), str) and opts["model"] else DEFAULT_MODEL,
            ollama_host=opts["ollama_host"] if isinstance(opts.get("ollama_host"), str) else None,
            allow_remote=opts.get("allow_remote") is True,
            annotate_timeout=float(timeout)
            if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0
            else DEFAULT_FIRST_TOKEN_TIMEOUT,
            run_timeout=_seconds(opts.get("run_timeout"), DEFAULT_RUN_TIMEOUT),
            annotate_temperature=_temperature(opts.get("annotate_temperature")),
            annotate_seed=_seed(opts.get("annotate_seed")),
        )


def _temperature(value: Any) -> float:
    """A sampling temperature, 0 to 2 (Ollama's range), else the default."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 2:
        return float(value)
    return DEFAULT_TEMPERATURE


def _seed(value: Any) -> int:
    """A whole-number seed (a float with no fraction, as Vim and Lua may send one), else the default."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31:
        return value
    return DEFAULT_SEED


def _seconds(value: Any, default: float) -> float:
    """A positive number of seconds, else ``default``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


# The options the server reads; with FRONT_ONLY, every option there is.
NAMES: tuple[str, ...] = Options._fields
