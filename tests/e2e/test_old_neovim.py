"""An older Neovim (Debian's 0.7) gets one clear line, not a stack trace."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT


def old_neovim() -> str | None:
    for candidate in ("/usr/bin/nvim", shutil.which("nvim")):
        if not candidate or not Path(candidate).exists():
            continue
        out = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
        m = re.match(r"NVIM v0\.(\d+)\.", out)
        if m and int(m.group(1)) < 10:
            return candidate
    return None


@pytest.mark.skipif(old_neovim() is None, reason="no Neovim older than 0.10 installed (.ci/run installs Debian's)")
def test_an_old_neovim_says_what_it_needs(tmp_path: Path) -> None:
    nvim = old_neovim()
    assert nvim
    result = subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "--cmd",
            f"set rtp^={ROOT}",
            "-c",
            "runtime plugin/workflow.lua",
            "-c",
            "WorkflowStart tutorial",
            "-c",
            "qa!",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
    )
    output = (result.stdout + result.stderr).strip()
    assert re.fullmatch(
        r"\[workflow\] needs Neovim 0\.10 or newer; this is Neovim 0\.\d+\.\d+: see :help workflow-install", output
    ), output
    assert "stack traceback" not in output and "E5108" not in output
