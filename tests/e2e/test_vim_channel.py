"""The server through a real Vim 9's channel: ``job_start(..., {mode: 'json'})`` and ``ch_evalexpr``.

Vim runs a vim9script with ``-es`` that speaks to ``python -m workflow_nvim serve --json`` as the
Vim front will (autoload/ does not exist yet), and writes what it got to a JSON file that the test
reads. What it learns of Vim's channel is what the front relies on: answers come back by id,
pushes (``[0, push]``) reach the channel's callback, an answer to a request sent without a
callback is dropped (it never reaches the channel's callback), and Vim stops the server when it
quits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from workflow_nvim.protocol import PROTOCOL

from tests.processes import gone
from tests.unit.conftest import BLOG
from tests.vim import needs_vim

from .conftest import git, wait_for

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "rplugin" / "python3"
VIM = os.environ.get("WORKFLOW_VIM") or shutil.which("vim")

pytestmark = needs_vim

SCRIPT = r"""
vim9script
# What the test gave: g:given = {python, package_dir, log, out, where}
var given = json_decode(readfile(g:given_file)->join("\n"))
var result: dict<any> = {pushes: [], errors: [], stderr: []}

def OnMessage(ch: channel, msg: any)
  result.pushes->add(msg)
enddef

def OnStderr(ch: channel, line: string)
  result.stderr->add(line)
enddef

def Call(ch: channel, method: string, params: list<any>): any
  # never Vim's default 2 s timeout, which returns '' without an error
  return ch_evalexpr(ch, {method: method, params: params}, {timeout: 20000})
enddef

def WaitFor(Done: func(): bool)
  var start = reltime()
  while !Done() && reltimefloat(reltime(start)) < 20.0
    sleep 20m  # Vim runs channel callbacks while it sleeps
  endwhile
enddef

def Main()
  var job = job_start([given.python, '-m', 'workflow_nvim', 'serve', '--json', '--log', given.log], {
    mode: 'json',
    callback: OnMessage,
    err_mode: 'nl',
    err_cb: OnStderr,
    env: {PYTHONPATH: given.package_dir},
  })
  var ch = job_getchannel(job)
  result.job_pid = job_info(job).process
  result.welcome = Call(ch, 'hello', [{protocol: given.protocol, front: 'vim', version: string(v:version)}])
  var where = given.where
  where.editor_pid = getpid()  # the run's lock is this Vim's
  result.vim_pid = getpid()
  result.started = Call(ch, 'command', ['start', extend({args: ['blog']}, where)])
  var step = result.started.open
  writefile(['Trains'], step.path)
  var here = extend({buffer_step: {run: step.run, id: 'topic'}, run_dir: result.started.state.dir}, where)
  # next, asynchronously: its answer goes to this callback, the commit's outcome to OnMessage
  var answers: list<any> = []
  ch_sendexpr(ch, {method: 'command', params: ['next', here]}, {callback: (_, msg) => answers->add(msg)})
  WaitFor(() => !answers->empty() && !result.pushes->empty())
  result.next = answers
  result.status = Call(ch, 'command', ['status', here])
  result.complete = Call(ch, 'complete', ['steps', '', extend({args: ['goto']}, here)])
  result.unknown_method = Call(ch, 'nvim_buf_get_lines', [0])
  result.not_utf8 = Call(ch, 'command', ["caf\xe9", where])
  # An answer that no callback waits for is dropped, not handed to the channel's callback.
  ch_sendexpr(ch, {method: 'complete', params: ['workflows', 'bl', where]})
  var after = Call(ch, 'hello', [{protocol: given.protocol, front: 'vim'}])
  result.pushes_after_uncalled_answer = len(result.pushes)
  result.still_same_server = after.pid == result.welcome.pid
  result.status_before_quit = job_status(job)
  # Another editor (another server, for another pid) opens the run while this Vim holds it.
  var other = job_start([given.python, '-m', 'workflow_nvim', 'serve', '--json', '--log', given.log], {
    mode: 'json', err_mode: 'nl', err_cb: OnStderr, env: {PYTHONPATH: given.package_dir}})
  var ch2 = job_getchannel(other)
  Call(ch2, 'hello', [{protocol: given.protocol, front: 'neovim'}])
  var elsewhere = extend({args: [step.run]}, where)->extend({editor_pid: given.other_pid})
  result.resumed_elsewhere = Call(ch2, 'command', ['resume', elsewhere])
enddef

try
  Main()
catch
  result.errors->add(v:exception .. ' at ' .. v:throwpoint)
endtry
writefile([json_encode(result)], given.out)
qa!
"""


def run_vim(tmp_path: Path, where: dict[str, Any]) -> dict[str, Any]:
    assert VIM is not None
    out = tmp_path / "result.json"
    given = tmp_path / "given.json"
    log = tmp_path / "state" / "workflow.log"
    given.write_text(
        json.dumps(
            {
                "python": sys.executable,
                "package_dir": str(PACKAGE_DIR),
                "log": str(log),
                "out": str(out),
                "protocol": PROTOCOL,
                "other_pid": os.getpid(),
                "where": where,
            }
        ),
        encoding="utf-8",
    )
    script = tmp_path / "front.vim"
    script.write_text(SCRIPT, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}  # Vim's 'encoding': utf-8
    for kind in ("DATA", "CONFIG", "CACHE", "STATE"):  # the plugin's places under this HOME (places.py)
        env.pop(f"XDG_{kind}_HOME", None)
    done = subprocess.run(
        [VIM, "-Nu", "NONE", "-i", "NONE", "-es", "--cmd", f"let g:given_file = '{given}'", "-S", str(script)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    assert out.exists(), f"Vim wrote no result (exit {done.returncode}): {done.stdout!r} {done.stderr!r}"
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log"] = log
    return result


def test_vim_speaks_to_the_server_over_its_json_channel(tmp_path: Path) -> None:
    cwd = tmp_path / "work"
    (cwd / ".workflows").mkdir(parents=True)
    (cwd / ".workflows" / "blog.yaml").write_text(BLOG, encoding="utf-8")
    where = {
        "cwd": str(cwd),
        "options": {"runs_dir": str(tmp_path / "runs")},
    }
    result = run_vim(tmp_path, where)
    assert result["errors"] == []
    assert result["stderr"] == []  # the server writes nothing but messages once its log is open

    welcome = result["welcome"]
    assert welcome["protocol"] == PROTOCOL and welcome["pid"] == result["job_pid"]
    assert welcome["required_missing"] == []

    step = result["started"]["open"]
    assert (step["id"], step["index"], step["total"]) == ("topic", 1, 3)
    path = Path(step["path"])
    assert path.parent.parent == tmp_path / "runs"

    [answer] = result["next"]
    assert answer["committing"] == str(path)
    assert answer["open"]["instructions"] == ["Outline the post about Trains."]
    [pushed] = result["pushes"]  # the commit's outcome, through the channel's callback
    assert pushed["committed"] == str(path)
    assert [e["name"] for e in pushed["events"]] == ["WorkflowStepCompleted"]
    assert git(path.parent, "log", "--format=%s").strip() == "blog: 1/3 Pick a topic"
    assert git(path.parent, "show", "HEAD:01-topic.md") == "Trains\n"

    assert result["status"]["state"]["steps"][0]["done"] is True
    assert result["complete"] == ["topic", "1", "outline", "2"]
    assert result["unknown_method"] == {
        "error": "no such method 'nvim_buf_get_lines' (methods: hello, command, complete)"
    }
    # Vim's json_encode() sends a byte that is not UTF-8 as U+FFFD: the server never sees it.
    assert result["not_utf8"]["error"] == "unknown command 'caf\ufffd': try :Workflow <Tab>"
    assert result["pushes_after_uncalled_answer"] == 1
    assert result["still_same_server"] is True
    assert result["status_before_quit"] == "run"

    # The run is Vim's while Vim runs: another editor gets it read-only, told which process has it.
    resumed = result["resumed_elsewhere"]
    assert resumed["state"]["readonly"] is True, resumed
    assert f"read-only here: Vim pid {result['vim_pid']} has it open" in json.dumps(resumed)

    # :qa! stops the job ('stoponexit': SIGTERM), and the server leaves as it does for Neovim.
    assert wait_for(lambda: gone(result["job_pid"]))
    assert "signal 15: exiting" in result["log"].read_text(encoding="utf-8")
