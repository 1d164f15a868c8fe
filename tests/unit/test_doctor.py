"""python -m workflow_nvim doctor: what :checkhealth draws, decided in Python, with any Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.pythons import bare_python

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "rplugin" / "python3"


def doctor(python: str, *args: str, stdin: str = "") -> tuple[int, Any]:
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR)}
    out = subprocess.run(
        [python, "-m", "workflow_nvim", "doctor", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.stderr == ""
    return out.returncode, json.loads(out.stdout) if "--json" in args else out.stdout


def test_a_bare_python_says_what_it_lacks_and_how_to_get_it(tmp_path: Path) -> None:
    python = str(bare_python(tmp_path / "bin"))
    status, report = doctor(python, "--json", "--python", python)
    assert status == 1
    assert report["required_missing"] == ["msgpack", "pyyaml", "gitpython"]
    assert report["missing"] == ["msgpack", "pyyaml", "gitpython", "ollama", "regex"]
    (section,) = report["sections"]
    lines = [(i["level"], i["text"]) for i in section["items"]]
    assert lines[1:] == [
        ("error", f"msgpack is not installed for {python}"),
        ("error", f"pyyaml is not installed for {python}"),
        ("error", f"gitpython is not installed for {python}"),
        ("warning", f"ollama is not installed for {python} (needed by :WorkflowAnnotate)"),
        ("warning", f"regex is not installed for {python} (needed by the match and no_match checks)"),
        (
            "info",
            "install what is missing: run :WorkflowInstall (the plugin's own environment), "
            f"or `{python} -m pip install msgpack pyyaml gitpython ollama regex`",
        ),
    ]
    # Everything else that needs no package is still checked; workflow files need pyyaml.
    params = {"runs_dir": str(tmp_path / "runs"), "cwd": str(tmp_path), "ollama_host": "http://127.0.0.1:9"}
    _, report = doctor(python, "--json", "--params", "-", stdin=json.dumps(params))
    names = [s["name"] for s in report["sections"]]
    assert names == ["Python", "git", "Places", "Workflows", "Ollama (for :WorkflowAnnotate)"]
    workflows = report["sections"][3]["items"]
    assert workflows == [
        {
            "level": "warning",
            "text": "cannot check workflow files without a Python that has pyyaml (see above)",
            "advice": [],
        }
    ]


def test_the_text_report_for_a_shell(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(
        json.dumps({"options": {"runs_dir": str(tmp_path / "runs")}, "cwd": str(tmp_path)}), encoding="utf-8"
    )
    _, text = doctor(sys.executable, "--params", str(params))
    assert "Python\n  OK Python 3." in text
    assert f"Places\n  OK runs directory: {tmp_path / 'runs'} (created on first start)\n" in text
    assert "  OK tutorial: Learn workflow.nvim (8 steps, bundled: " in text


def test_the_places_and_what_is_still_read_from_neovims_older_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    here = tmp_path / "data" / "workflow.nvim"
    params = json.dumps({"cwd": str(tmp_path)})
    _, report = doctor(sys.executable, "--json", "--params", "-", stdin=params)
    [section] = [s for s in report["sections"] if s["name"] == "Places"]
    assert [(i["level"], i["text"]) for i in section["items"]] == [
        ("ok", f"runs directory: {here / 'runs'} (created on first start)"),
        ("info", f"your own workflows: {tmp_path / 'config' / 'workflow.nvim' / 'workflows'}"),
        ("info", f"the log: {tmp_path / 'state' / 'workflow.nvim' / 'workflow.log'}"),
    ]

    old = tmp_path / "data" / "nvim" / "workflow"
    for d in (old / "runs", old / "venv", tmp_path / "config" / "nvim" / "workflows"):
        d.mkdir(parents=True)
    _, report = doctor(sys.executable, "--json", "--params", "-", stdin=params)
    [section] = [s for s in report["sections"] if s["name"] == "Places"]
    assert [(i["level"], i["text"], i["advice"]) for i in section["items"][1:-1]] == [
        (
            "info",
            f"runs are also read from Neovim's older directory {old / 'runs'}",
            [f"to keep them in one place: mv {old / 'runs'}/* {here / 'runs'}/ (see :help workflow-places)"],
        ),
        ("info", f"your own workflows: {tmp_path / 'config' / 'workflow.nvim' / 'workflows'}", []),
        (
            "info",
            f"your workflows are also read from Neovim's older directory {tmp_path / 'config' / 'nvim' / 'workflows'}",
            [
                f"to keep them in one place: mv {tmp_path / 'config' / 'nvim' / 'workflows'} "
                f"{tmp_path / 'config' / 'workflow.nvim'}/ (see :help workflow-places)"
            ],
        ),
        (
            "info",
            f"an older :WorkflowInstall's environment, still used after the new one: {old / 'venv'}",
            [f"once :WorkflowInstall has made {here / 'venv'}, it can go: rm -r {old / 'venv'}"],
        ),
    ]
