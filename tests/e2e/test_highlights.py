"""The plugin's highlight groups stand out from the person's text in 16, 256 and true colour, light and dark."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Editor

GROUPS = [
    "WorkflowInstructions",
    "WorkflowInstructionsTitle",
    "WorkflowProgress",
    "WorkflowDone",
    "WorkflowStale",
    "WorkflowAnnotateProgress",
    "WorkflowAnnotateSummary",
    # Not ours, but what the notes of :WorkflowAnnotate are drawn with.
    "DiagnosticError",
    "DiagnosticWarn",
    "DiagnosticInfo",
    "DiagnosticHint",
]
# What a terminal can show without a colour of its own.
ATTRIBUTES = ("bold", "reverse", "underline", "undercurl", "standout")

MODES = [(tgc, bg) for tgc in (False, True) for bg in ("dark", "light")]


def effective(nvim: Editor, group: str, truecolor: bool) -> dict[str, Any]:
    """What the screen uses for ``group``: links followed, the gui or the cterm side, as the terminal draws it."""
    hl = nvim.api.get_hl(0, {"name": group, "link": False})
    if truecolor:
        attrs = {a for a in ATTRIBUTES if hl.get(a)}
        return {"fg": hl.get("fg"), "bg": hl.get("bg"), "attrs": attrs}
    cterm = hl.get("cterm", {})
    attrs = {a for a in ATTRIBUTES if cterm.get(a)}
    return {"fg": hl.get("ctermfg"), "bg": hl.get("ctermbg"), "attrs": attrs}


def set_mode(nvim: Editor, truecolor: bool, background: str) -> None:
    nvim.cmd(f"set {'' if truecolor else 'no'}termguicolors background={background}")


def assert_visible(nvim: Editor, truecolor: bool, background: str) -> None:
    mode = f"termguicolors={truecolor} background={background}"
    normal = effective(nvim, "Normal", truecolor)
    title = effective(nvim, "WorkflowInstructionsTitle", truecolor)
    for group in GROUPS:
        shown = effective(nvim, group, truecolor)
        assert shown != {"fg": None, "bg": None, "attrs": set()}, f"{group} has no look of its own ({mode})"
        stands_out = (shown["fg"] is not None and shown["fg"] != normal["fg"]) or shown["attrs"] or shown["bg"]
        assert stands_out, f"{group} looks like Normal ({mode}): {shown} vs {normal}"
        if not truecolor and shown["fg"] is not None:
            assert 0 <= shown["fg"] <= 15, f"{group} needs more than 16 colours ({mode})"
    for group in ("WorkflowInstructions", "WorkflowAnnotateProgress"):
        # A colour, not only italic (which many terminals do not draw), and not the title's.
        shown = effective(nvim, group, truecolor)
        assert shown["fg"] is not None and shown["fg"] != normal["fg"], f"{group} has Normal's colour ({mode})"
        assert shown != title, f"{group} looks like the title ({mode})"


@pytest.mark.parametrize(("truecolor", "background"), MODES)
def test_every_group_stands_out_from_the_text(nvim: Editor, truecolor: bool, background: str) -> None:
    set_mode(nvim, truecolor, background)
    assert_visible(nvim, truecolor, background)
    if truecolor:  # Neovim's own Comment colour, as it is for this background
        comment = nvim.api.get_hl(0, {"name": "Comment", "link": False})
        assert effective(nvim, "WorkflowInstructions", truecolor)["fg"] == comment["fg"]


def test_groups_stand_out_after_colorscheme_default_in_every_mode(nvim: Editor) -> None:
    nvim.cmd("colorscheme default")
    for truecolor, background in MODES:
        set_mode(nvim, truecolor, background)
        assert_visible(nvim, truecolor, background)
        nvim.cmd("colorscheme default")
        assert_visible(nvim, truecolor, background)


def test_the_instructions_follow_a_colorscheme_comment_colour(nvim: Editor) -> None:
    nvim.cmd("set notermguicolors background=dark")
    nvim.cmd("hi Comment ctermfg=3 guifg=#aa8800")
    nvim.exec_lua("vim.api.nvim_exec_autocmds('ColorScheme', {})")
    hl = nvim.api.get_hl(0, {"name": "WorkflowInstructions", "link": False})
    assert (hl.get("ctermfg"), hl.get("fg")) == (3, 0xAA8800)


def test_the_persons_own_colours_are_kept(start_nvim: Any) -> None:
    hi = "hi WorkflowInstructions ctermfg=5 guifg=#ff00ff"
    nvim = start_nvim(extra=("--cmd", hi, "--cmd", "hi WorkflowDone ctermfg=1 guifg=#ff0000"))
    for truecolor, background in MODES:
        set_mode(nvim, truecolor, background)
        assert nvim.api.get_hl(0, {"name": "WorkflowInstructions", "link": False}) == {"ctermfg": 5, "fg": 0xFF00FF}
        assert nvim.api.get_hl(0, {"name": "WorkflowDone", "link": False}) == {"ctermfg": 1, "fg": 0xFF0000}
