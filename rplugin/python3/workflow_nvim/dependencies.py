"""The Python packages workflow.nvim needs: the one list, for the server's errors, the installer,
:checkhealth (doctor.py) and the packaging test.

Standard library only: ``python -m workflow_nvim install`` and ``doctor`` run
this with any Python 3, before any of these packages is there.
"""

from __future__ import annotations

import importlib.util
import sys

# import name -> (distribution name, what needs it when not everything does)
DEPENDENCIES = {
    "msgpack": ("msgpack", ""),
    "yaml": ("pyyaml", ""),
    "git": ("gitpython", ""),
    "ollama": ("ollama", ":WorkflowAnnotate"),
    "regex": ("regex", "the match and no_match checks"),
}

# distribution name -> the oldest version that works (pyproject.toml says the same; a test checks)
MINIMUM = {"msgpack": "1.0", "pyyaml": "6.0", "gitpython": "3.1", "ollama": "0.4", "regex": "2022.1"}


def requirements() -> list[str]:
    """What ``python -m workflow_nvim install`` asks pip for: ``msgpack>=1.0``, ..."""
    return [f"{dist}>={MINIMUM[dist]}" for dist, _ in DEPENDENCIES.values()]


def required() -> list[str]:
    """Import names of what every command needs (the rest is needed by one command, named in DEPENDENCIES)."""
    return [mod for mod, (_, needed_by) in DEPENDENCIES.items() if not needed_by]


def missing() -> list[str]:
    """Distribution names of the dependencies this interpreter cannot import."""
    return [dist for mod, (dist, _) in DEPENDENCIES.items() if importlib.util.find_spec(mod) is None]


def import_name(dist: str) -> str | None:
    """The import name of distribution ``dist``."""
    return next((mod for mod, (d, _) in DEPENDENCIES.items() if d == dist), None)


def install_command(dists: list[str]) -> str:
    """The pip command that installs ``dists`` for this interpreter."""
    return f"{sys.executable} -m pip install {' '.join(dists)}"


def report() -> dict[str, object]:
    """This interpreter and each dependency: found, version, what needs it (for :checkhealth)."""
    import importlib.metadata as md

    deps = []
    for mod, (dist, needed_by) in DEPENDENCIES.items():
        try:
            version: str | None = md.version(dist)
        except md.PackageNotFoundError:
            version = None
        found = importlib.util.find_spec(mod) is not None
        deps.append({"dist": dist, "found": found, "version": version, "needed_by": needed_by})
    return {"python": sys.version.split()[0], "deps": deps}
