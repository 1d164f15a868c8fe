""":checkhealth workflow: what is wrong, and the command that fixes it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import Editor, Home
from .test_errors import fake_python


def checkhealth(nvim: Editor) -> str:
    nvim.cmd("checkhealth workflow")
    return "\n".join(nvim.lines())


def test_healthy_setup(nvim: Editor, home: Home) -> None:
    report = checkhealth(nvim)
    assert "ERROR" not in report
    for dist in ("msgpack", "pyyaml", "gitpython", "ollama"):
        assert f"OK {dist} " in report
    # No provider is needed: g:python3_host_prog is one candidate among others, named as such.
    assert "pynvim" not in report and "provider" not in report
    venv = home.venv / "bin" / "python"
    assert f"passed over {venv} (the plugin's own environment): not an executable file" in report
    assert f"OK chosen: {home.python} (g:python3_host_prog)" in report
    assert "OK Neovim 0.11" in report
    assert f"OK runs directory: {home.runs}" in report
    assert "OK tutorial: " in report and "OK blog-post: " in report


def test_broken_workflow_and_bad_option_are_reported(nvim: Editor, home: Home) -> None:
    bad = home.write_workflow("bad", "name: bad\ntitle: x\nsteps: []\n")
    nvim.cmd("let g:workflow = #{paths: 'not-a-list'}")
    report = checkhealth(nvim)
    assert f"ERROR bad is invalid ({bad})" in report
    assert f"{bad}:3:8: 'steps' is empty" in report
    assert "vim.g.workflow.paths must be a list of directory paths" in report
    assert "OK tutorial: " in report  # the others are still listed


def test_missing_packages_get_the_install_command(start_nvim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    python = fake_python(tmp_path, ["msgpack"])
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {python = ...}", str(python))  # the person's choice: no other is tried
    report = checkhealth(nvim)
    assert f"passed over {python} (vim.g.workflow.python): missing Python packages pyyaml, gitpython" in report
    assert "ERROR no Python with the packages workflow.nvim needs" in report
    assert "run :WorkflowInstall" in report
    assert "ERROR pyyaml is not installed" in report
    assert f"`{python} -m pip install pyyaml gitpython ollama regex`" in report
    assert "cannot check workflow files without a Python that has pyyaml" in report


def test_git_and_the_identity_of_a_project_repository(nvim: Editor, home: Home) -> None:
    import subprocess

    report = checkhealth(nvim)
    assert "OK git version " in report
    assert "WARNING each run is a git repository of its own, committed as workflow.nvim" in report
    subprocess.run(["git", "init", "-q"], cwd=home.project, check=True)
    subprocess.run(["git", "config", "user.useConfigOnly", "true"], cwd=home.project, check=True)
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(home.project / ".runs"))
    report = checkhealth(nvim)
    assert f"ERROR runs go into the repository {home.project}, which has no user.name/user.email" in report
    subprocess.run(["git", "config", "user.name", "Pat"], cwd=home.project, check=True)
    subprocess.run(["git", "config", "user.email", "pat@example.org"], cwd=home.project, check=True)
    report = checkhealth(nvim)
    assert f"OK runs go into the repository {home.project}, as Pat <pat@example.org>" in report


def test_a_runs_directory_the_project_ignores_and_no_identity(
    start_nvim: Any, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs in a directory the project's .gitignore names get repositories of their own, which
    commit as workflow.nvim when git has no identity: no false ERROR, and what :checkhealth says
    is what a run does."""
    empty = home.root / "empty"
    empty.mkdir()
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")  # git looks in HOME and XDG_CONFIG_HOME: both empty
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(empty))
    for name in ("AUTHOR", "COMMITTER"):
        for part in ("NAME", "EMAIL"):
            monkeypatch.delenv(f"GIT_{name}_{part}", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    subprocess.run(["git", "init", "-q"], cwd=home.project, check=True)
    (home.project / ".gitignore").write_text(".runs/\n", encoding="utf-8")
    nvim = start_nvim()
    nvim.exec_lua("vim.g.workflow = {runs_dir = ...}", str(home.project / ".runs"))
    report = checkhealth(nvim)
    assert "ERROR" not in report.split("\ngit")[1].split("\nRuns")[0], report
    assert "runs go into the repository" not in report
    assert (
        "WARNING each run is a git repository of its own, committed as workflow.nvim <workflow.nvim@localhost>: "
        "git has no user.name/user.email"
    ) in report
    assert "to commit as yourself: git config --global user.name 'Your Name'" in report
    # And so it is: the first step's commit is in a repository of the run's own, by workflow.nvim.
    nvim.cmd("WorkflowStart tutorial")
    nvim.cmd("WorkflowNext!")  # over the tutorial's placeholder check
    nvim.settle()
    (run,) = (home.project / ".runs").iterdir()
    assert (run / ".git").is_dir()
    author = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>"], cwd=run, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert author == "workflow.nvim <workflow.nvim@localhost>"
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=home.project, capture_output=True).returncode != 0


def test_ollama_reachable_and_the_model(nvim: Editor) -> None:
    from ..ollama_server import FakeOllama, free_port

    with FakeOllama(models=("tiny:latest",)) as server:
        nvim.exec_lua("vim.g.workflow = {ollama_host = ..., model = 'tiny'}", server.url)
        report = checkhealth(nvim)
        assert f"OK Ollama 0.0.0-test at {server.url}" in report
        assert "OK model tiny is on the server" in report
        nvim.exec_lua("vim.g.workflow = {ollama_host = ..., model = 'llama3.2'}", server.url)
        report = checkhealth(nvim)
        assert "WARNING model llama3.2 is not on the server (it has: tiny:latest)" in report
        assert "ollama pull llama3.2" in report
    url = f"http://127.0.0.1:{free_port()}"
    nvim.exec_lua("vim.g.workflow = {ollama_host = ...}", url)
    report = checkhealth(nvim)
    assert (
        f"WARNING nothing is listening at {url}: start Ollama (`ollama serve`), or install it from https://ollama.com/download"
        in report
    )


def test_workflow_health_opens_checkhealth_workflow(nvim: Editor, home: Home) -> None:
    nvim.cmd("Workflow health")
    assert nvim.eval("&filetype") == "checkhealth"
    report = "\n".join(nvim.lines())
    assert "workflow:" in report and f"OK chosen: {home.python} (g:python3_host_prog)" in report
    nvim.cmd("only | enew")
    nvim.cmd("WorkflowHealth")
    assert nvim.eval("&filetype") == "checkhealth"
