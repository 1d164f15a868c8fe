"""Instructions as paragraphs: the lines of a hard-wrapped paragraph joined, for a front to wrap.

A workflow's instructions are usually a YAML ``|`` block, wrapped by hand at
the width of the author's editor. Shown as they are in a narrower window, each
of those lines wraps again and leaves a short line behind: ragged text. So the
lines of a paragraph are joined into one, and a front only wraps that to its
window's width. What has a line of its own keeps it:

- blank lines (they separate paragraphs);
- list items (``- ``, ``* ``, ``+ ``, ``1. ``, ``1) ``); the lines that
  follow an item join into it;
- indented lines outside a list item, fenced code (```` ``` ```` or
  ``~~~``, up to the closing fence), headings (``#``), rules and setext
  underlines (``---``, ``===``), quotes (``>``) and table rows (``|``);
- a line that is only a reference to an earlier step (``${id}``): that text
  is shown as the person wrote it, on lines of its own.

Joining never loses, adds or reorders a word: only the line breaks and the
spaces around them become one space. Standard library only.
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_FENCE = re.compile(r"\s*(```|~~~)")
_OWN_LINE = re.compile(
    r"""\s*(?:
        \#                          # a heading
      | ([-=*_])(?:\s*\1){2,}\s*$   # a rule, or a setext heading's underline
      | >                           # a quote
      | \|                          # a table row
      | \$\{[^}]*\}\s*$             # only a reference to an earlier step
    )""",
    re.VERBOSE,
)


def reflow(text: str) -> str:
    """``text`` with the lines of each paragraph and list item joined into one line."""
    out: list[str] = []
    parts: list[str] = []  # the line being joined, in pieces (linear in a long paragraph)
    in_item = False  # ``parts`` is (the start of) a list item
    fence: str | None = None

    def end_line() -> None:
        if parts:
            out.append(" ".join(parts))
            parts.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if fence is not None:
            out.append(line)
            if stripped.startswith(fence):
                fence = None
            continue
        opening = _FENCE.match(line)
        item = _ITEM.match(line)
        code = line[0].isspace() and not item and not in_item if stripped else False
        if opening or not stripped or code or _OWN_LINE.match(line):
            end_line()
            out.append(line)
            in_item = False
            if opening:
                fence = opening.group(1)
        elif item:
            end_line()
            parts.append(line.rstrip())
            in_item = True
        elif parts:
            parts.append(stripped)
        else:
            parts.append(line.rstrip())
    end_line()
    return "\n".join(out)
