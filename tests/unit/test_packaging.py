"""The Nix flake and the Python packaging say the same thing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def pyproject_dependencies() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return sorted(re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower() for dep in data["project"]["dependencies"])


def flake_python_dependencies() -> list[str]:
    text = (ROOT / "flake.nix").read_text(encoding="utf-8")
    m = re.search(r"pythonDeps = ps: with ps; \[([^\]]*)\];", text)
    assert m, "flake.nix has no pythonDeps list"
    return sorted(m.group(1).split())


def test_flake_declares_the_same_python_dependencies_as_pyproject() -> None:
    assert (
        flake_python_dependencies()
        == pyproject_dependencies()
        == [
            "gitpython",
            "msgpack",
            "ollama",
            "pynvim",
            "pyyaml",
        ]
    )


def test_the_hosts_list_of_dependencies_is_pyprojects() -> None:
    from workflow_nvim.dependencies import DEPENDENCIES

    assert sorted(dist for dist, _ in DEPENDENCIES.values()) == pyproject_dependencies()


def test_the_plugin_package_passes_them_to_neovims_python_host() -> None:
    text = (ROOT / "flake.nix").read_text(encoding="utf-8")
    assert "passthru.python3Dependencies = pythonDeps;" in text
    for output in ("packages = ", "devShells = ", "checks = ", "apps = "):
        assert output in text


@pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="nix-instantiate not installed (.ci/run installs it)"
)
def test_flake_parses() -> None:
    result = subprocess.run(["nix-instantiate", "--parse", str(ROOT / "flake.nix")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
