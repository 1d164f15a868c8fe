"""Installing as a user does: add the plugin, :WorkflowInstall, done. No python3 provider anywhere.

pip installs from wheels downloaded once into pytest's cache (tests/pythons.py),
through its own settings, which Neovim and the installer pass on unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..pythons import bare_python, offline_pip, wheels_fixture  # noqa: F401
from .conftest import ROOT, Editor, Home, SmallDisk, git, nvim_binary, wait_for

SHORT = """
name: short
title: A short workflow
description: Two steps.
steps:
  - id: one
    title: First
    instructions: Say something.
    template: |
      One:
  - id: two
    title: Second
    instructions: Say more.
    template: |
      ${one}
      Two:
"""


def no_provider_path(tmp_path: Path) -> str:
    """A PATH with git and a bare python3 (no pip packages at all): nothing Neovim's provider could use."""
    directory = tmp_path / "path"
    bare_python(directory)
    git_binary = shutil.which("git")
    assert git_binary
    (directory / "git").symlink_to(git_binary)
    return str(directory)


@pytest.fixture
def bare(home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheels: Path) -> Path:
    """The person's machine: no g:python3_host_prog, and on PATH only a python3 without any package."""
    home.python = "none"  # tests/init.lua sets no g:python3_host_prog
    path = no_provider_path(tmp_path)
    monkeypatch.setenv("PATH", path)
    for name in list(os.environ):
        if name.startswith(("PIP_", "VIRTUAL_ENV", "UV_")) or name == "PYTHONPATH":
            monkeypatch.delenv(name)
    for key, value in offline_pip(wheels).items():
        monkeypatch.setenv(key, value)
    return Path(path) / "python3"


def venv_of(home: Home) -> Path:
    return home.venv


def install_in_background(nvim: Editor) -> None:
    """:WorkflowInstall as in a Neovim with a screen: it returns at once, and the editor answers meanwhile."""
    # Wide: the paths of a test are long, and a message longer than the screen asks for ENTER.
    nvim.api.ui_attach(200, 24, {"ext_linegrid": True})
    nvim.cmd("WorkflowInstall")
    assert nvim.exec_lua("return require('workflow.install').running()") is True
    assert nvim.eval("1 + 1") == 2  # not blocked
    assert wait_for(lambda: not nvim.exec_lua("return require('workflow.install').running()"), timeout=600)
    assert nvim.api.get_mode() == {"mode": "n", "blocking": False}  # no "Press ENTER" on the way
    nvim.api.ui_detach()


def workflow_messages(nvim: Editor) -> list[str]:
    return [line for line in nvim.messages().splitlines() if line.startswith("[workflow]")]


def test_install_then_a_whole_workflow_in_a_neovim_without_python3(
    start_nvim: Any, home: Home, bare: Path, tmp_path: Path
) -> None:
    nvim = start_nvim()
    assert nvim.eval("has('python3')") == 0
    assert nvim.eval("exists('g:python3_host_prog')") == 0
    assert nvim.eval("exepath('python3')") == str(bare)
    home.write_workflow("short", SHORT)
    # Before: one line that says what to run.
    assert nvim.error("WorkflowStart short") == ("[workflow] no Python with the needed packages: run :WorkflowInstall")
    nvim.clear_messages()

    install_in_background(nvim)

    venv = venv_of(home)
    lines = workflow_messages(nvim)
    assert lines[0] == f"[workflow] installing with {bare}"
    assert lines[1].startswith("[workflow] creating the environment (python3 -m venv, Python 3.")
    assert "[workflow] installing msgpack, pyyaml, gitpython, ollama, regex (pip)" in lines
    assert re.fullmatch(rf"\[workflow\] installed: {re.escape(str(venv))} \(Python 3\.\d+\)", lines[-1])
    assert not any("Collecting" in line for line in lines)  # pip's own lines pass by, unkept

    nvim.cmd("WorkflowStart short")
    assert nvim.exec_lua("return require('workflow.host').running().python") == str(venv / "bin" / "python")
    nvim.type("A first<Esc>")
    nvim.cmd("WorkflowNext")
    assert nvim.lines() == ["One: first", "Two:"]
    nvim.type("GA second<Esc>")
    nvim.cmd("WorkflowNext")
    nvim.settle()
    assert nvim.state()["finished"] is True
    subjects = git(Path(nvim.state()["dir"]), "log", "--format=%s").splitlines()
    assert subjects == ["short: 2/2 Second", "short: 1/2 First"]
    assert "Two: second" in git(Path(nvim.state()["dir"]), "show", "HEAD:02-two.md")

    # Again: nothing to do, said in one line; the server stops, and the next command starts a new one.
    pid = nvim.exec_lua("return require('workflow.host').running().pid")
    nvim.clear_messages()
    nvim.cmd("WorkflowInstall")  # no screen: it waits
    last = workflow_messages(nvim)[-1]
    assert re.fullmatch(rf"\[workflow\] already installed: {re.escape(str(venv))} \(Python 3\.\d+\)", last)
    assert nvim.exec_lua("return require('workflow.host').running()") is None
    nvim.cmd("WorkflowStatus")
    assert nvim.exec_lua("return require('workflow.host').running().pid") != pid
    # Only the plugin's own environment was written: the python3 on PATH is still bare.
    check = subprocess.run([str(bare), "-c", "import msgpack"], capture_output=True, check=False)
    assert check.returncode == 1


def test_a_python3_without_venv_says_what_to_install(start_nvim: Any, home: Home, bare: Path, tmp_path: Path) -> None:
    bare_python(bare.parent, without=("ensurepip",))  # Debian's python3 without python3-venv
    nvim = start_nvim()
    message = nvim.error("WorkflowInstall")  # no screen: it waits, and its error is the command's
    assert message == "[workflow] no venv module: install python3-venv or uv, then :WorkflowInstall"
    assert not venv_of(home).exists()
    assert ":WorkflowInstall" in nvim.error("WorkflowList")


def test_a_full_disk_is_one_line(start_nvim: Any, home: Home, small_disk: SmallDisk, bare: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for tool in ("unshare", "sh", "mount", "umount"):  # what small_disk runs, in the test and after
        found = shutil.which(tool, path="/usr/bin:/bin")
        if found and not (bare.parent / tool).exists():
            (bare.parent / tool).symlink_to(found)
    data = small_disk.path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    nvim = start_nvim(wrap=small_disk.wrap)
    message = nvim.error("WorkflowInstall")
    assert message == "[workflow] the disk is full: free some space, then :WorkflowInstall"


def test_a_package_build_with_its_own_python_has_nothing_to_install(nvim: Editor, home: Home) -> None:
    # What flake.nix's build writes into host.lua: a Python that has the packages.
    nvim.exec_lua("require('workflow.host').own_python = ...", home.python)
    assert nvim.exec_lua("return require('workflow.host').candidates({})[1]") == [
        home.python,
        "the plugin's own environment",
    ]
    nvim.cmd("WorkflowInstall")
    assert workflow_messages(nvim) == ["[workflow] nothing to install: this build of the plugin has its own Python"]
    assert not venv_of(home).exists()


def test_with_vim_g_workflow_python_set_the_install_says_it_is_not_used(
    start_nvim: Any, home: Home, bare: Path
) -> None:
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {python = ...}", sys.executable)
    nvim.cmd("WorkflowInstall")
    assert workflow_messages(nvim)[-1] == "[workflow] ready, but vim.g.workflow.python is set and used instead"
    nvim.cmd("WorkflowList")  # the person's Python runs it
    assert nvim.exec_lua("return require('workflow.host').running().python") == sys.executable


def readme_block(after: str, lang: str) -> str:
    """The first ```lang block after the heading or text ``after`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(after)
    m = re.search(rf"```{lang}\n(.*?)```", text[start:], re.S)
    assert m, f"no {lang} block after {after!r}"
    return m.group(1)


def test_the_readme_install_steps_work_in_a_fresh_home(tmp_path: Path, wheels: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    keep = ("XDG_", "NVIM", "VIRTUAL_ENV", "PYTHON", "PIP_", "UV_", "WORKFLOW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    env.update(offline_pip(wheels))
    env["PATH"] = os.pathsep.join([no_provider_path(tmp_path), str(Path(nvim_binary()).parent), "/usr/bin", "/bin"])

    def sh(script: str) -> None:
        subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=home, env=env, check=True, timeout=900)

    # "Plain packages": the clone (from this checkout instead of a URL), then the install line, as written.
    plugin_dir = home / ".local/share/nvim/site/pack/workflow/start/workflow.nvim"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(plugin_dir)], check=True, env=env)
    clone = readme_block("**Plain packages**", "sh").splitlines()
    assert clone[0].startswith("git clone URL-OF-WORKFLOW.NVIM ~/.local/share/nvim/site/pack/workflow/start/")
    sh("\n".join(clone[1:]))
    sh(readme_block("### Then", "sh"))

    out = home / "state.json"
    subprocess.run(
        [
            nvim_binary(),
            "--headless",
            "+WorkflowStart tutorial",
            f"+lua vim.fn.writefile({{vim.json.encode(vim.fn.WorkflowState())}}, '{out}')",
            "+qa!",
        ],
        cwd=home,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    state = json.loads(out.read_text())
    assert state["workflow"] == "tutorial"
    assert state["step"] == 1
    assert Path(state["dir"]).is_relative_to(home / ".local/share/workflow.nvim/runs")
    assert (home / ".local/share/workflow.nvim/venv/bin/python").exists()
