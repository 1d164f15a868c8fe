"""Driving a real Vim 9 for the tests of the Vim front: one place for it.

A test writes the body of a vim9script function; ``Vim.run`` wraps it with the
helpers below, starts ``vim -Nu INIT -i NONE --not-a-term -es -S script`` with
this checkout on 'runtimepath' (and the test's XDG directories, from the
environment the ``home`` fixture made), and returns what the script kept with
``Keep(key, value)``, as JSON. An error inside the script is kept too (errors
in ``-es`` are otherwise silent), and fails the test. ``Vim.tmux`` runs Vim in
a real terminal (a tmux pane) for what only a screen shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIM = os.environ.get("WORKFLOW_VIM") or shutil.which("vim")

TMUX = shutil.which("tmux")
# Set by .ci/run: there a missing vim or tmux fails the Vim tier rather than skipping it.
REQUIRED = os.environ.get("WORKFLOW_REQUIRE_VIM") == "1"


def require(program: str | None, name: str) -> None:
    """Skip the test when ``program`` is missing, or fail it when WORKFLOW_REQUIRE_VIM=1."""
    if program is None:
        why = f"no {name} on PATH (Debian: apt-get install {name})"
        if REQUIRED:
            pytest.fail(f"{why}, and WORKFLOW_REQUIRE_VIM=1 says the Vim tier must run", pytrace=False)
        pytest.skip(why)


# The fixtures of tests/e2e/conftest.py that call require().
needs_vim = pytest.mark.usefixtures("vim_required")
needs_tmux = pytest.mark.usefixtures("tmux_required")

PRELUDE = r"""
vim9script
g:result = {errors: []}

def g:Keep(key: string, value: any)
  g:result[key] = value
enddef

# Everything said since the last call: :messages, then cleared.
def g:Said(): list<string>
  var out = execute('messages')->split("\n")->filter((_, l) => l != '')
  messages clear
  return out
enddef

# Wait until the background commits of earlier commands are made, and their news handled.
def g:Settle()
  workflow#host#Call('wait', {})
  sleep 100m  # Vim runs channel callbacks while it sleeps
enddef

def g:WaitFor(Done: func(): bool, seconds: float = 20.0): bool
  var start = reltime()
  while !Done()
    if reltimefloat(reltime(start)) > seconds
      return false
    endif
    sleep 20m
  endwhile
  return true
enddef

# The instructions shown above line 1 of the current buffer: [text, prop type] each.
def g:Above(): list<any>
  var props = prop_list(1)->filter((_, p) => p.type =~ '^workflow_instructions')->sort((a, b) => b.id - a.id)
  return [len(props), props->mapnew((_, p) => p.type), get(b:, 'workflow_instructions_height', 0)]
enddef
"""

MAIN = """
def Main()
{body}
enddef

try
  Main()
catch
  g:result.errors->add(v:exception .. ' at ' .. v:throwpoint)
endtry
writefile([json_encode(g:result)], {out})
qa!
"""


class Vim:
    """Vim runs for one test, in its ``home`` (the e2e fixture) with the given options."""

    def __init__(self, tmp_path: Path, options: dict[str, Any] | None = None) -> None:
        self.dir = tmp_path / "vim"
        self.dir.mkdir(exist_ok=True)
        self.options = {"python": sys.executable, **(options or {})}
        self.runs = 0

    def init(self) -> Path:
        init = self.dir / "init.vim"
        init.write_text(
            "set nocompatible\n"
            f"set runtimepath^={ROOT}\n"
            "set noswapfile\n"
            f"let g:workflow = json_decode('{json.dumps(self.options).replace(chr(39), chr(39) * 2)}')\n",
            encoding="utf-8",
        )
        return init

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LANG": "C.UTF-8",  # Vim's 'encoding': utf-8
            "LC_ALL": "C.UTF-8",
            "PYTHONPATH": str(ROOT / "rplugin" / "python3"),
        }

    def run(self, body: str) -> dict[str, Any]:
        """Run ``body`` (vim9script statements, any indent) in a new Vim; what it kept."""
        assert VIM is not None
        self.runs += 1
        out = self.dir / f"result-{self.runs}.json"
        script = self.dir / f"script-{self.runs}.vim"
        indented = textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
        script.write_text(PRELUDE + MAIN.format(body=indented, out=json.dumps(str(out))), encoding="utf-8")
        done = subprocess.run(
            [VIM, "-Nu", str(self.init()), "-i", "NONE", "--not-a-term", "-es", "-S", str(script)],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert out.exists(), f"Vim wrote no result (exit {done.returncode}): {done.stdout!r} {done.stderr!r}"
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        assert result["errors"] == [], result["errors"]
        return result


class Tmux:
    """A Vim in a tmux pane of its own (a real terminal), typed into as a person would."""

    def __init__(
        self, vim: Vim, columns: int = 80, lines: int = 24, command: str = "", env: dict[str, str] | None = None
    ) -> None:
        """``command``: what runs in the pane (default: Vim with the test's init); ``env``: more variables."""
        self.vim = vim
        self.socket = str(vim.dir / "tmux.sock")
        self.size = (columns, lines)
        self.command = command
        self.env = {**vim.env(), **(env or {})}

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=True, env=self.env
        ).stdout

    def start(self) -> None:
        assert VIM is not None
        columns, lines = self.size
        command = self.command or f"{VIM} -Nu {self.vim.init()} -i NONE"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(columns), "-y", str(lines), command)
        self.tmux("set-option", "-g", "status", "off")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "0", *keys)

    def screen(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "0").splitlines()

    def wait_for(self, text: str, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if any(text in line for line in screen) or time.monotonic() > deadline:
                return screen
            time.sleep(0.05)

    def alive(self) -> bool:
        """Whether the pane's program still runs (tmux ends with its only pane)."""
        done = subprocess.run(["tmux", "-S", self.socket, "has-session"], capture_output=True, check=False)
        return done.returncode == 0

    def stop(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)
