"""The Nix flake, the Python packaging and the installer's list say the same thing."""

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


def pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()


def pyproject_dependencies() -> list[str]:
    return sorted(name(dep) for dep in pyproject()["project"]["dependencies"])


def flake_list(variable: str) -> list[str]:
    text = (ROOT / "flake.nix").read_text(encoding="utf-8")
    m = re.search(rf"{variable} = ps: with ps; \[([^\]]*)\];", text)
    assert m, f"flake.nix has no {variable} list"
    return sorted(m.group(1).split())


def test_flake_declares_the_same_python_dependencies_as_pyproject() -> None:
    assert (
        flake_list("pythonDeps")
        == pyproject_dependencies()
        == [
            "gitpython",
            "msgpack",
            "ollama",
            "pyyaml",
            "regex",
        ]
    )


def test_the_installers_list_is_pyprojects() -> None:
    from workflow_nvim.dependencies import DEPENDENCIES, requirements

    assert sorted(dist for dist, _ in DEPENDENCIES.values()) == pyproject_dependencies()
    # with the same oldest versions: what :WorkflowInstall asks pip for is what pip install -e . would
    assert sorted(requirements()) == sorted(dep.replace(" ", "") for dep in pyproject()["project"]["dependencies"])


def test_pynvim_is_a_dependency_of_the_tests_only() -> None:
    assert "pynvim" not in pyproject_dependencies()
    assert "pynvim" in [name(dep) for dep in pyproject()["project"]["optional-dependencies"]["test"]]
    assert "pynvim" not in flake_list("pythonDeps")
    assert "pynvim" in flake_list("testDeps")


def test_the_plugin_package_brings_its_own_python() -> None:
    text = (ROOT / "flake.nix").read_text(encoding="utf-8")
    # The line the build replaces is in host.lua, once: a substitution that finds nothing fails the build.
    host = (ROOT / "lua" / "workflow" / "host.lua").read_text(encoding="utf-8")
    assert host.count("\nM.own_python = nil\n") == 1
    assert "python = pkgs.python3.withPackages pythonDeps;" in text
    assert '--replace-fail "M.own_python = nil" "M.own_python = \'${python}/bin/python3\'"' in text
    assert "python3Dependencies" not in text  # Neovim's python3 provider is not used
    for output in ("packages = ", "devShells = ", "checks = ", "apps = "):
        assert output in text


@pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="nix-instantiate not installed (.ci/run installs it)"
)
def test_flake_parses() -> None:
    result = subprocess.run(["nix-instantiate", "--parse", str(ROOT / "flake.nix")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
