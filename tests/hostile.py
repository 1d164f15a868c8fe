"""Hostile workflow files, as an attacker's repository would hold them; shared by the tests and the benchmarks.

Each function returns the text of one file that used to hang or exhaust the
plugin (issue 10): the sizes are those of the files that were found.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def alias_bomb(size: int = 20_000) -> str:
    """20 KB: one step with 400 unknown references, listed again thousands of times through an alias."""
    head = 'title: Bomb\nsteps:\n  - &s {id: a, title: A, instructions: "' + "${zz}" * 400 + '"}\n'
    return head + "  - *s\n" * ((size - len(head)) // len("  - *s\n"))


def unknown_refs(size: int = 278_000) -> str:
    """278 KB without aliases: thousands of steps, each referring to four steps that do not exist."""
    parts = ["title: Unknown references\nsteps:\n"]
    total, i = len(parts[0]), 0
    while total < size:
        i += 1
        part = f"  - id: s{i}\n    title: S\n    instructions: ${{x{i}}} ${{y{i}}} ${{z{i}}} ${{w{i}}}\n"
        parts.append(part)
        total += len(part)
    return "".join(parts)


def repeater(size: int = 188_000) -> str:
    """188 KB: step b's template is ``${a}`` tens of thousands of times, so b's file is that many copies of a."""
    head = (
        "title: Repeater\nsteps:\n"
        "  - id: a\n    title: A\n    instructions: Write anything.\n"
        "  - id: b\n    title: B\n    instructions: Read it back.\n    template: |\n      "
    )
    return head + "${a}" * ((size - len(head)) // len("${a}")) + "\n"


def deep_nesting(levels: int = 500) -> str:
    """500 levels of ``[``: beyond Python's recursion limit in PyYAML's pure-Python composer."""
    return "title: Deep\nsteps: " + "[" * levels + "]" * levels + "\n"


def similar_ids(size: int = 880 * 1024) -> str:
    """880 KB of 7,000 long, alike step ids, each step referring to an unknown one.

    "Did you mean" hints at their most costly, and as many values as a file
    may hold (49,789 of the 50,000): the slowest file to check.
    """
    stem = "a-rather-long-step-identifier-number-"
    parts = ["title: Similar ids\nsteps:\n"]
    total, i = len(parts[0]), 0
    while True:
        i += 1
        part = f"  - id: {stem}{i}\n    title: S\n    instructions: ${{{stem}x{i}}}\n"
        if total + len(part) > size:
            break
        parts.append(part)
        total += len(part)
    return "".join(parts)


def many_values(size: int = 1024 * 1024 - 1) -> str:
    """1 MiB of steps that are one-letter values: the most YAML values a file can hold (350,000)."""
    head = "title: Many values\nsteps: ["
    return head + "a, " * ((size - len(head) - 2) // len("a, ")) + "]\n"


HOSTILE = {
    "alias bomb (20 KB)": alias_bomb,
    "unknown references (278 KB)": unknown_refs,
    "${a} repeater (188 KB)": repeater,
    "500 levels of [": deep_nesting,
    "alike ids, unknown references (880 KB)": similar_ids,
    "350,000 one-letter steps (1 MiB)": many_values,
}
"""Every hostile file by what it is, for the benchmark."""


def in_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child process with ``args`` as sys.argv[1:]; its stdout, stderr and exit code.

    For what used to hang or eat all memory (a FIFO, ``/dev/zero``): should it
    come back, the child is stopped (60 s, 1 GiB of address space) and the
    test fails, instead of the test run hanging or the machine swapping.
    """
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
    )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
