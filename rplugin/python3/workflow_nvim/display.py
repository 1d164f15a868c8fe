"""How a path is written in what the person reads: one rule for every message and listing.

``~`` for the home directory, and relative to the editor's working directory
where that is shorter (``.workflows/essay.yaml``, not the whole way there), so
that a one-line message stays one line on an 80-column screen. Standard
library only (:checkhealth uses it with any Python).
"""

from __future__ import annotations

import os
from pathlib import Path


def tilde(path: Path | str) -> str:
    """``path`` with the home directory written ``~``."""
    text, home = str(path), str(Path.home())
    return "~" + text[len(home) :] if home != "/" and (text == home or text.startswith(home + os.sep)) else text


def shown(path: Path | str, cwd: Path | str | None = None) -> str:
    """``path`` as the person should read it: relative to ``cwd`` (the editor's working directory)
    when it is inside it, else with ``~`` for home; whichever is shorter."""
    text = str(path)
    best = tilde(text)
    if cwd and os.path.isabs(text):
        base = str(cwd).rstrip(os.sep) or os.sep
        if text.startswith(base + os.sep) and base != os.sep:
            relative = text[len(base) + 1 :]
            if len(relative) < len(best):
                best = relative
    return best
