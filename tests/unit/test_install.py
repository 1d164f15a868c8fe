"""python -m workflow_nvim install: a real environment made by a bare python3, with real pip.

pip installs from wheels downloaded once per machine into pytest's cache
(tests/pythons.py), through its own PIP_FIND_LINKS and PIP_NO_INDEX settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pythons import bare_python, offline_pip, site_packages_listing, uv_fixture, wheels_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "rplugin" / "python3"
AGAIN = "python -m workflow_nvim install"  # what the message says to run, on the command line


def clean_env(*path: Path, **more: str) -> dict[str, str]:
    """This process's environment without anything that points Python or pip elsewhere; no uv on PATH
    unless ``path`` has it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "UV_"))}
    git = shutil.which("git")
    env["PATH"] = os.pathsep.join([*map(str, path), "/usr/bin", "/bin", os.path.dirname(git or "/usr/bin")])
    env.update(more)
    return env


def install(
    python: Path, venv: Path, env: dict[str, str], *extra: str, wrap: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """The installer as the editor runs it: this checkout's package on PYTHONPATH, nothing else."""
    return subprocess.run(
        [*wrap, str(python), "-m", "workflow_nvim", "install", "--venv", str(venv), *extra],
        env={**env, "PYTHONPATH": str(PACKAGE_DIR)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def run_in(venv: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Iterator[tuple[Path, str, list[str]]]:
    """One environment made from nothing, shared: (its directory, the installer's output, site-packages before)."""
    tmp = tmp_path_factory.mktemp("made")
    before = site_packages_listing()
    venv = tmp / "data" / "workflow" / "venv"
    result = install(bare_python(tmp / "bin"), venv, clean_env(**offline_pip(wheels)))
    assert result.returncode == 0, result.stdout + result.stderr
    yield venv, result.stdout, before


def copy_of(made: tuple[Path, str, list[str]], tmp_path: Path) -> Path:
    """A copy of the shared environment, to change (an environment works from anywhere with `python -m`)."""
    venv = tmp_path / "venv"
    shutil.copytree(made[0], venv, symlinks=True)
    return venv


def test_a_bare_python3_makes_an_environment_that_runs_the_plugin(made: tuple[Path, str, list[str]]) -> None:
    venv, output, before = made
    lines = output.splitlines()
    assert lines[0].startswith("creating the environment (python3 -m venv, Python 3.")
    assert "installing pip (ensurepip)" in lines
    assert "installing msgpack, pyyaml, gitpython, ollama, regex (pip)" in lines
    assert any(line.startswith("  Successfully installed") for line in lines)  # pip's words, indented
    assert "linking the plugin's package into it" in lines
    assert re.fullmatch(rf"installed: {re.escape(str(venv))} \(Python 3\.\d+\)", lines[-1])
    # The package comes from this checkout, through a .pth file: an update of the plugin is used at once.
    (pth,) = venv.glob("lib/python3*/site-packages/workflow_nvim.pth")
    assert pth.read_text(encoding="utf-8") == f"{PACKAGE_DIR}\n"
    env = clean_env()
    # README's command: validate with the environment's python, nothing else set.
    result = run_in(venv, "-m", "workflow_nvim", "validate", str(ROOT / "workflows" / "tutorial.yaml"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("tutorial.yaml: ok: tutorial, 8 steps\n")
    result = run_in(
        venv, "-c", "import workflow_nvim, git, yaml, msgpack, ollama; print(workflow_nvim.__file__)", env=env
    )
    assert result.stdout.strip() == str(PACKAGE_DIR / "workflow_nvim" / "__init__.py")
    # The Python that ran the installer is untouched.
    assert site_packages_listing() == before


def test_a_second_run_does_nothing(made: tuple[Path, str, list[str]], tmp_path: Path) -> None:
    venv = copy_of(made, tmp_path)
    site = next(venv.glob("lib/python3*/site-packages"))
    listing = sorted(p.name for p in site.iterdir())
    result = install(bare_python(tmp_path / "bin"), venv, clean_env(PIP_NO_INDEX="1"), "--json-progress")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    answer = json.loads(line)
    assert answer == {
        "ok": True,
        "python": str(venv / "bin" / "python"),
        "message": f"already installed: {venv} (Python {answer['message'].split('Python ')[1]}",
        "changed": False,
    }
    assert re.fullmatch(rf"already installed: {re.escape(str(venv))} \(Python 3\.\d+\)", answer["message"])
    assert sorted(p.name for p in site.iterdir()) == listing


def test_what_is_missing_is_put_back(made: tuple[Path, str, list[str]], tmp_path: Path, wheels: Path) -> None:
    venv = copy_of(made, tmp_path)
    env = clean_env(**offline_pip(wheels))
    removed = run_in(venv, "-m", "pip", "uninstall", "--yes", "--quiet", "msgpack", env=env)
    assert removed.returncode == 0, removed.stderr
    (pth,) = venv.glob("lib/python3*/site-packages/workflow_nvim.pth")
    pth.write_text("/where/the/plugin/was/before\n", encoding="utf-8")  # the plugin moved
    result = install(bare_python(tmp_path / "bin"), venv, env)
    assert result.returncode == 0, result.stderr
    assert "creating" not in result.stdout  # the environment stays
    assert "installing msgpack, pyyaml, gitpython, ollama, regex (pip)" in result.stdout
    assert "linking the plugin's package into it" in result.stdout
    assert pth.read_text(encoding="utf-8") == f"{PACKAGE_DIR}\n"
    assert run_in(venv, "-c", "import msgpack, workflow_nvim.server", env=clean_env()).returncode == 0


def test_an_environment_whose_python_is_gone_is_made_again(
    made: tuple[Path, str, list[str]], tmp_path: Path, wheels: Path
) -> None:
    venv = copy_of(made, tmp_path)
    for name in ("python", "python3"):
        (venv / "bin" / name).unlink()
        (venv / "bin" / name).symlink_to("/nonexistent/python3.0")  # the Python it was made with, removed
    result = install(bare_python(tmp_path / "bin"), venv, clean_env(**offline_pip(wheels)))
    assert result.returncode == 0, result.stderr
    assert "the environment is broken (its Python does not run): making it again" in result.stdout
    assert result.stdout.splitlines()[-1].startswith(f"installed: {venv}")


def test_a_directory_that_is_not_an_environment_is_left_alone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = install(bare_python(tmp_path / "bin"), venv, clean_env(), "--json-progress")
    assert result.returncode == 1
    where = f"…/{tmp_path.parent.name}/{tmp_path.name}/venv"  # a long path, shortened to fit the line
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "ok": False,
        "error": f"not a virtual environment: move {where} away, then :WorkflowInstall",
    }
    assert sorted(p.name for p in venv.iterdir()) == ["notes.txt"]


def test_a_python_without_the_venv_module_says_what_to_install(tmp_path: Path) -> None:
    python = bare_python(tmp_path / "bin", without=("ensurepip",))
    venv = tmp_path / "venv"
    result = install(python, venv, clean_env())
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line == f"workflow.nvim: no venv module: install python3-venv or uv, then {AGAIN}"
    assert not venv.exists()


def test_no_network_is_one_line_saying_so(made: tuple[Path, str, list[str]], tmp_path: Path, wheels: Path) -> None:
    from tests.ollama_server import free_port

    venv = copy_of(made, tmp_path)
    removed = run_in(venv, "-m", "pip", "uninstall", "--yes", "--quiet", "msgpack", env=clean_env())
    assert removed.returncode == 0, removed.stderr
    # A package index on a port where nothing listens, and no other place to look (no configuration
    # file, no cache): what pip meets without a network.
    index = f"http://127.0.0.1:{free_port()}/simple"
    env = clean_env(PIP_INDEX_URL=index, PIP_NO_CACHE_DIR="1", PIP_CONFIG_FILE=os.devnull)
    result = install(bare_python(tmp_path / "bin"), venv, env, "--json-progress")
    assert result.returncode == 1, result.stdout
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer == {
        "ok": False,
        "error": "package index out of reach (no network?): connect, then :WorkflowInstall",
    }
    progress = [json.loads(line)["progress"] for line in result.stdout.splitlines()[:-1]]
    assert progress[0] == "installing msgpack, pyyaml, gitpython, ollama, regex (pip)"
    # The environment stays; the next run, with a network, installs what is missing.
    result = install(bare_python(tmp_path / "bin"), venv, clean_env(**offline_pip(wheels)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(f"installed: {venv}")


def test_with_uv_on_path_uv_makes_it(tmp_path: Path, wheels: Path, uv: Path) -> None:
    venv = tmp_path / "venv"
    python = bare_python(tmp_path / "bin")
    result = install(python, venv, clean_env(uv.parent, **offline_pip(wheels)))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("creating the environment (uv venv, Python 3.")
    assert "installing msgpack, pyyaml, gitpython, ollama, regex (uv pip)" in lines
    assert any(line.startswith("  Installed ") for line in lines)  # uv's words
    assert run_in(venv, "-m", "workflow_nvim", "doctor", env=clean_env()).returncode == 0
    # uv makes no pip; without uv, a package gone missing is put back by pip, which comes first.
    assert run_in(venv, "-c", "import pip", env=clean_env()).returncode == 1
    shutil.rmtree(next(venv.glob("lib/python3*/site-packages/msgpack")))
    result = install(python, venv, clean_env(**offline_pip(wheels)))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("  ")]
    assert lines == [
        "installing pip (ensurepip)",
        "installing msgpack, pyyaml, gitpython, ollama, regex (pip)",
        "installing again, msgpack (pip)",  # its record was left: pip took it to be there
        f"installed: {venv} (Python {lines[-1].split('Python ')[1]}",
    ]
    assert run_in(venv, "-c", "import msgpack", env=clean_env()).returncode == 0
