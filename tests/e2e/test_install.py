"""A new user follows the README in a fresh HOME and gets :WorkflowStart tutorial working."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, nvim_binary


def readme_block(after: str, lang: str) -> str:
    """The first ```lang block after the heading or text ``after`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(after)
    m = re.search(rf"```{lang}\n(.*?)```", text[start:], re.S)
    assert m, f"no {lang} block after {after!r}"
    return m.group(1)


def test_the_readme_install_steps_work_in_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    env["PATH"] = os.pathsep.join([str(Path(sys.base_prefix) / "bin"), env.get("PATH", "")])

    def sh(script: str) -> None:
        subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=home, env=env, check=True, timeout=600)

    # "Plain packages": the clone (from this checkout instead of a URL) and the helptags line.
    plugin_dir = home / ".local/share/nvim/site/pack/workflow/start/workflow.nvim"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(plugin_dir)], check=True, env=env)
    # "The Python dependencies": the venv and pip lines, exactly as written.
    sh(readme_block("### The Python dependencies", "sh").replace("\n", " && ").rstrip(" &"))
    # The init.lua line.
    config = home / ".config/nvim"
    config.mkdir(parents=True)
    (config / "init.lua").write_text(readme_block("### The Python dependencies", "lua"), encoding="utf-8")

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
    assert Path(state["dir"]).is_relative_to(home / ".local/share/nvim/workflow/runs")
