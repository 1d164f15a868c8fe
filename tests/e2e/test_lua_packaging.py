"""What plugin managers read: lazy.lua (lazy.nvim's spec) and the rockspec (luarocks, rocks.nvim).

The rock is built with the real luarocks into a tree laid out as rocks.nvim lays it out (the Lua
modules in share/lua/5.1, the rest in the rock's own directory on the runtimepath), and a real
Neovim runs the plugin from there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pynvim
import pytest
from workflow_nvim.display import shown
from workflow_nvim.protocol import COMMANDS

from .conftest import ROOT, Editor, Home, nvim_binary

ROCKSPEC = ROOT / "workflow.nvim-scm-1.rockspec"

# Directories Neovim reads from a plugin on the runtimepath, plus the plugin's own.
RUNTIME_DIRS = {"plugin", "doc", "autoload", "ftplugin", "ftdetect", "syntax", "indent", "after", "queries"}
PLUGIN_DIRS = {"rplugin", "workflows"}


def run_lua(tmp_path: Path, script: str, *args: str) -> object:
    """Run `script` with `nvim -l` (no config, no plugin) and decode the JSON it writes."""
    path = tmp_path / "script.lua"
    path.write_text(textwrap.dedent(script), encoding="utf-8")
    result = subprocess.run(
        [nvim_binary(), "--clean", "-l", str(path), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


LAZY = """
    local spec = dofile(arg[1] .. '/lazy.lua')
    local keys = vim.tbl_keys(spec)
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    io.write(vim.json.encode({
      keys = vim.tbl_map(tostring, keys),
      name = spec[1],
      build = type(spec.build),
      opts = vim.tbl_isempty(spec.opts),
      cmd = spec.cmd({ dir = arg[2] }, {}),
      cmd_with_users = spec.cmd({ dir = arg[2] }, { 'Mine' }),
      ft = spec.ft,
    }))
"""


def test_lazy_lua_loads_the_plugin_on_every_command_from_the_one_table(tmp_path: Path) -> None:
    spec = run_lua(tmp_path, LAZY, str(ROOT), str(ROOT))
    assert isinstance(spec, dict)
    assert spec["keys"] == ["1", "build", "cmd", "ft", "opts"]
    assert spec["ft"] == ["yaml"]  # a workflow file is checked as it is written
    assert spec["name"] == "workflow.nvim"  # the name lazy.nvim gives a URL or directory ending in it
    assert spec["build"] == "function"
    assert spec["opts"] is True
    assert spec["cmd"] == ["Workflow", *(c.command for c in COMMANDS)]
    assert spec["cmd_with_users"] == ["Workflow", "Mine", *(c.command for c in COMMANDS)]


def test_lazy_lua_works_before_the_plugin_is_on_disk(tmp_path: Path) -> None:
    """lazy.nvim may resolve the spec before its first clone: no error, the front door still counts."""
    spec = run_lua(tmp_path, LAZY, str(ROOT), str(tmp_path / "not-cloned-yet"))
    assert isinstance(spec, dict)
    assert spec["cmd"] == ["Workflow"]


@pytest.mark.skipif(
    not (ROOT / "lua" / "workflow" / "install.lua").exists(), reason="require('workflow').install() not built yet"
)
def test_lazy_lua_builds_with_the_public_install_function(tmp_path: Path) -> None:
    assert "require('workflow').install()" in (ROOT / "lazy.lua").read_text(encoding="utf-8")
    kind = run_lua(
        tmp_path, "vim.opt.rtp:prepend(arg[1]); io.write(vim.json.encode(type(require('workflow').install)))", str(ROOT)
    )
    assert kind == "function"


def rockspec(tmp_path: Path) -> dict[str, object]:
    script = """
        local spec = {}
        assert(loadfile(arg[1], 't', spec))()
        io.write(vim.json.encode(spec))
    """
    data = run_lua(tmp_path, script, str(ROCKSPEC))
    assert isinstance(data, dict)
    return data


def test_the_rock_copies_every_directory_the_plugin_reads(tmp_path: Path) -> None:
    spec = rockspec(tmp_path)
    assert spec["package"] == "workflow.nvim" and spec["version"] == "scm-1"
    build = spec["build"]
    assert isinstance(build, dict)
    assert build["type"] == "builtin" and "modules" not in build  # lua/ found by luarocks
    present = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name in RUNTIME_DIRS | PLUGIN_DIRS}
    assert sorted(build["copy_directories"]) == sorted(present)


def luarocks() -> str:
    found = shutil.which("luarocks")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("luarocks is missing: .ci/run installs it (apt-get install luarocks)")
        pytest.skip("luarocks not installed (apt-get install luarocks)")
    return found


def test_the_rockspec_passes_luarocks_lint() -> None:
    result = subprocess.run([luarocks(), "lint", str(ROCKSPEC)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plugin_installed_as_a_rock_runs_a_workflow(home: Home, tmp_path: Path) -> None:
    tree = tmp_path / "rocks"
    build = subprocess.run(
        [luarocks(), "--lua-version", "5.1", "--tree", str(tree), "make", str(ROCKSPEC)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    rock = tree / "lib" / "luarocks" / "rocks-5.1" / "workflow.nvim" / "scm-1"
    assert (tree / "share" / "lua" / "5.1" / "workflow" / "host.lua").is_file()
    # What rocks.nvim does at startup: the modules on package.path, every rock's directory on the runtimepath.
    init = tmp_path / "init.lua"
    init.write_text(
        textwrap.dedent(
            f"""
            local tree = {json.dumps(str(tree))}
            package.path = package.path .. ';' .. tree .. '/share/lua/5.1/?.lua;' .. tree .. '/share/lua/5.1/?/init.lua'
            vim.opt.runtimepath:append(tree .. '/lib/luarocks/rocks-5.1/*/*')
            vim.g.python3_host_prog = {json.dumps(sys.executable)}
            vim.opt.swapfile = false
            """
        ),
        encoding="utf-8",
    )
    ed = Editor(pynvim.attach("child", argv=[nvim_binary(), "--embed", "--headless", "-u", str(init), "-i", "NONE"]))
    try:
        ed.cmd("WorkflowList")
        listed = "\n".join(ed.lines())  # its window
        where = shown(rock / "workflows" / "tutorial.yaml", ed.call("getcwd"))
        assert f"bundled: {where}" in listed, listed
        ed.cmd("WorkflowStart tutorial")
        assert ed.current.buffer.vars["workflow_step"]["index"] == 1
        assert Path(ed.current.buffer.name).is_relative_to(home.runs)
        assert "Step 1/" in ed.winbar()
        schema = Path(ed.exec_lua("return require('workflow').schema_path()"))
        assert schema.is_relative_to(rock) and json.loads(schema.read_text(encoding="utf-8"))["$schema"]
    finally:
        ed.quit()
