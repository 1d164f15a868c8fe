"""The Lua side goes one way down: every require points to a lower layer, and none loops.

Read from the source, so a require hidden inside a function counts as much as one at the top of a
file. Results travel up only through the handlers that modules above register with
``host.on(kind, fn)``: a callback registry, never a require.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# protocol.lua holds only types (LuaCATS) for lua-language-server.
LEAVES = {"config", "state", "message", "commands", "protocol", "helptags", "places"}

# Highest first. A module may require the modules of any layer below its own, and none of its own
# layer or above. `init` is require('workflow'); files outside lua/workflow/ are named by path.
LAYERS: list[tuple[str, set[str]]] = [
    ("lazy.nvim's spec of the plugin", {"lazy.lua"}),
    ("entry points: Neovim's startup, :checkhealth, the Lua API", {"plugin/workflow.lua", "health", "init"}),
    ("the front door: commands, their arguments and completion", {"command"}),
    ("the runs buffer: it opens runs (by command), their logs and exports", {"runs"}),
    (
        "drawing that needs a step buffer's view; the installer; live checks; command steps",
        {"log", "annotate", "install", "check", "steprun"},
    ),
    ("the trust prompt, asked before a workflow file's command runs", {"trust"}),
    ("step buffers: the view the others draw through", {"view"}),
    ("the one talker to Python, and the writer of step files", {"host", "stepfile"}),
    ("leaves: options, the run as Python described it, words, the command table, places on disk", LEAVES),
]

REQUIRE = re.compile(r"""\brequire\s*(?:\(\s*|,\s*)?(['"])(workflow(?:\.[\w.]+)?)\1""")
LONG_BRACKET = re.compile(r"\[(=*)\[")


def strip_comments(text: str) -> str:
    """Lua source with its comments blanked out and its strings kept (a require can sit in a string
    of Vim script, as plugin/workflow.lua's WorkflowState() does)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("--", i):
            long = LONG_BRACKET.match(text, i + 2)
            if long:
                end = text.find("]" + long.group(1) + "]", long.end())
                i = n if end < 0 else end + len(long.group(1)) + 2
            else:
                end = text.find("\n", i)
                i = n if end < 0 else end
            out.append(" ")
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif (long := LONG_BRACKET.match(text, i)) is not None:
            end = text.find("]" + long.group(1) + "]", long.end())
            j = n if end < 0 else end + len(long.group(1)) + 2
            out.append(text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_name(path: Path) -> str:
    if path.parent == ROOT / "lua" / "workflow":
        return path.stem
    return path.relative_to(ROOT).as_posix()


def requires(text: str) -> set[str]:
    """The workflow modules a Lua source requires: `init` for require('workflow')."""
    found = set()
    for m in REQUIRE.finditer(strip_comments(text)):
        name = m.group(2)
        found.add("init" if name == "workflow" else name.removeprefix("workflow."))
    return found


def lua_files() -> list[Path]:
    files = sorted((ROOT / "lua" / "workflow").glob("*.lua")) + sorted((ROOT / "plugin").glob("*.lua"))
    return [*files, ROOT / "lazy.lua"]


def graph() -> dict[str, set[str]]:
    return {module_name(p): requires(p.read_text(encoding="utf-8")) for p in lua_files() if p.exists()}


def layer_of() -> dict[str, int]:
    return {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every require loop, each once, as the modules in order with the first repeated at the end."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                loop = [*path[path.index(nxt) :], nxt]
                if frozenset(loop) not in seen:
                    seen.add(frozenset(loop))
                    found.append(loop)
            else:
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_the_require_finder_sees_every_way_of_writing_a_require() -> None:
    text = """
    local a = require('workflow.config')
    local function f() return require("workflow.view").apply end
    pcall(require, 'workflow.host')
    local s = require 'workflow.state'
    vim.cmd([[ return v:lua.require'workflow.message'.x() ]])
    require('workflow').install()
    -- require('workflow.log') in a comment is not a require
    --[[ nor require('workflow.annotate')
    in a long one ]]
    local msg = 'a -- b' .. require('workflow.stepfile').x
    """
    assert requires(text) == {"config", "view", "host", "state", "message", "init", "stepfile"}


def test_every_module_has_a_layer() -> None:
    edges = graph()
    layers = layer_of()
    placed = set(edges) | {m for deps in edges.values() for m in deps}
    unplaced = sorted(placed - set(layers))
    assert not unplaced, f"place these modules in LAYERS, in the layer their requires allow: {unplaced}"


def test_no_require_loop() -> None:
    loops = [" -> ".join(loop) for loop in cycles(graph())]
    assert not loops, f"require loops: {loops}"


def test_every_require_goes_down() -> None:
    edges = graph()
    layers = layer_of()
    upward = sorted(
        f"{mod} -> {dep} ({LAYERS[layers[dep]][0]})"
        for mod, deps in edges.items()
        for dep in deps
        if mod in layers and dep in layers and layers[dep] <= layers[mod]
    )
    assert not upward, f"requires that go up or sideways (results go up only through host.on): {upward}"


def test_the_layers_match_the_shape_of_the_house() -> None:
    """plugin/ -> command -> {log, annotate} -> view -> host -> {config, state, message, places}: the one
    module that talks to Python sits below every drawing module and above the leaves only."""
    layers = layer_of()
    assert layers["plugin/workflow.lua"] < layers["command"] < layers["log"] == layers["annotate"]
    assert layers["annotate"] < layers["view"] < layers["host"] < layers["config"]
    assert layers["config"] == layers["state"] == layers["message"]
    assert graph()["host"] <= {"config", "state", "message", "places"}
