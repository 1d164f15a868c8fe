"""The contract between an editor front and the server: written once, here.

A front (Neovim's Lua side today) starts ``python -m workflow_nvim serve [--json]
[--log FILE]``, one per editor, as its child, and speaks msgpack-RPC with it over
the child's stdin and stdout (the protocol Neovim speaks with ``jobstart(...,
{rpc = true})``), or with ``--json`` the JSON of Vim's channels (``job_start(...,
{mode: 'json'})``). The server ends when its input closes or on SIGTERM (status
0), after unreadable input (2), or at once without msgpack (3, said on
stderr); see server.py. The server finds the plugin's places (runs, workflows,
caches: places.py) from the environment it inherits; a front sends none, and
names the log (places.py's ``log``) with ``--log``. Everything a front may
ask, everything the server answers, and everything the server sends later of
its own accord is declared in this module, and documented for people who
write another front in ``:help workflow-protocol``, which says the same (a
test checks the fields).

Requests (msgpack-RPC ``[0, id, method, params]``; the answer is
``[1, id, error, result]``, ``error`` set only for an unknown method or a bug;
in JSON ``[id, {"method": method, "params": params}]``, answered ``[id, result]``,
with ``{"error": error}`` for the result in those cases):

``hello(Hello) -> Welcome``
    First, always. A front and a server of different ``PROTOCOL`` versions
    get one line saying so (``Welcome.error``), and every later request is
    refused with the same line.
``command(name, Params) -> Response``
    Run one of ``COMMANDS`` (``:Workflow {name}``), or one of ``INTERNAL``.
``complete(kind, arglead, Params) -> list[str]``
    The candidates for an argument of completion kind ``kind``.

Pushed messages (the server's notifications, sent to the front that started
it and to nobody else): ``Push``, a finished background commit, a batch of
annotation progress or a buffer's diagnostics, as ``[2, "nvim_exec_lua", [code, [push]]]``. Neovim runs
``code``, ``require('workflow.host').receive(...)``, with the push; another
front takes the one push from the arguments. In JSON a push is ``[0, push]``,
which Vim hands to the channel's callback.

Responses carry meaning, never an editor's words: ``error``, ``warning`` and
``info`` are lines for the person; the front chooses how to show them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Union

if TYPE_CHECKING:
    from typing import TypedDict
else:

    class TypedDict:
        """At run time the declarations below are documentation (and their field names, which a
        test compares with the help): typing.TypedDict compiles every field's annotation, ~4 ms
        of the editor's first command. The type checker sees typing's TypedDict."""

        def __init_subclass__(cls, total: bool = True) -> None:
            pass


# Bumped on every change a front must know of: a field renamed or removed, a method added.
PROTOCOL = 4


class Hello(TypedDict, total=False):
    """What a front says first."""

    protocol: int  # the PROTOCOL the front speaks
    front: str  # "neovim", "vim", ...
    version: str  # the editor's version, for the log


class Welcome(TypedDict, total=False):
    """The server's answer to hello."""

    protocol: int
    python: str  # sys.executable
    python_version: str
    pid: int
    missing: list[str]  # distributions this Python lacks, required ones first
    required_missing: list[str]  # the subset without which no command runs
    problem: str  # when required_missing: one line saying what to do (the front tries another Python)
    error: str  # set when the versions differ: one line for the person


class Params(TypedDict, total=False):
    """What every command carries: where to look, and which run and buffer the person is in."""

    args: list[str]  # the command's arguments
    options: dict[str, Any]  # vim.g.workflow as the person set it: options.py applies the defaults
    cwd: str  # the editor's working directory (a project's .workflows/ is found there)
    dirs: list[list[str]]  # [kind, path] search directories, nearest first (absent: catalog.default_dirs)
    buffer_step: dict[str, Any]  # {run, id} of the step buffer the command was given in
    run_dir: str  # the run the front shows: a restarted server reopens it from git; log, show: another run's
    editor_pid: int  # the editor that holds the run's lock
    # per command
    buf: int  # annotate, annotate_cancel, check, and any command given in a step buffer: the buffer
    request: int  # annotate: the front's number for it, in every push of its progress
    lines: list[str]  # annotate, check: the text
    first_line: int  # annotate: the number of its first line in the buffer
    quiet: bool  # annotate_cancel: no message, nor an error when none runs
    timeout: float  # wait: how long, at most
    path: str  # check: the buffer's file name, absolute ("" for none)
    tick: int  # check, and any command given in a step buffer: b:changedtick, repeated in Diagnostics
    live: bool  # check: answer {} at once and push the Diagnostics (typing, saving)
    where: str  # new: "project" or "user", the person's answer to Response.choose
    bang: bool  # the command was given with ! (:WorkflowTrust!, :WorkflowNext!)
    answer: str  # trust: "allow", "deny" or "revoke", the person's answer to Response.trust
    sha256: str  # trust: the file content the answer is about (Response.trust.sha256)
    buffer_file: str  # trust: the current buffer's file, when no run and no argument name one


Severity = Literal["error", "warning", "info"]

# A line for the person: plain, or [text, Severity] (the front picks the colour for what it means).
Line = Union[str, list[str]]


class Diagnostic(TypedDict, total=False):
    """One problem of a workflow file, located (1-based lines and columns; end exclusive)."""

    line: int
    col: int
    end_line: int  # absent: the same line
    end_col: int  # absent: to the end of the line
    severity: Literal["error", "warning"]
    message: str  # one line, e.g. "unknown key 'intructions', did you mean 'instructions'?"


class Diagnostics(TypedDict, total=False):
    """The problems of one buffer's text: check's answer, or pushed as {"diagnostics": Diagnostics}."""

    buf: int  # the front's buffer number, from Params.buf
    tick: int  # Params.tick: a front drops a push whose tick is older than the newest it has shown
    path: str  # the file the text is of
    items: list[Diagnostic]
    summary: str  # one line: "ok: essay, 3 steps" or "2 errors, 1 warning: line 4: <first message>"


class StepOpen(TypedDict, total=False):
    """A step file to open: the front edits ``path``, shows ``instructions`` above its first line."""

    path: str
    scratch: str  # where the front writes a save first, before renaming it over ``path``
    run: str
    id: str
    index: int
    total: int
    title: str
    filetype: str
    workflow: str  # the workflow's title
    progress: str  # "Step 2/5: Outline"
    instructions: list[str]  # a paragraph or list item a line (reflow.py): the front wraps each to its width
    readonly: bool  # another editor holds the run
    running: bool  # the step's command runs: its buffer takes no typing until the output's ``done``
    autorun: bool  # the step's command runs now, as :WorkflowRun in its buffer would (first opening)
    stale: str  # one line, shown below the instructions: earlier steps revised since the template copied them
    notice: str  # one line, shown as stale is: the run is finished, and how to reopen it


class Response(TypedDict, total=False):
    """A command's answer. Every field is optional; the front shows what is there."""

    error: str  # what went wrong and what to do: one line
    restart: bool  # the server cannot go on: the front stops it (the next command starts another)
    warning: str
    info: list[Line]  # lines to say, in order
    page: str  # status, list: ``info`` is a page to show whole (a window), not a message
    open: StepOpen  # a step to open
    state: dict[str, Any] | None  # the run, as WorkflowState() returns it (None: no run)
    stopped: str  # the run that was stopped: close its buffers
    log: dict[str, Any]  # :WorkflowLog's entries and their lines
    text: str  # show: a step file at a commit, or a commit's diff
    runs: RunsList  # runs: every run, as lines to show
    unfinished: list[dict[str, Any]]  # unfinished: the runs :WorkflowResume offers
    problems: list[str]
    committing: str  # a step file whose commit now runs in the background
    committed: str
    events: list[dict[str, Any]]  # User autocommands to fire: {name, data}
    idle: bool  # wait: no commit is running
    models: list[str]
    annotating: dict[str, Any]
    removed: list[str]  # step files a revert made pending again: close their buffers
    remote: dict[str, str]  # models: a model -> the machine it runs on, for those not on this one
    host: str  # models: the Ollama server asked
    model: str  # models: the model in effect (the person's option, or the default)
    allow_remote: bool  # models: whether the person allows text to leave the machine
    diagnostics: Diagnostics  # check, next: the buffer's problems (a step's failed checks), drawn as a pushed one is
    refreshed: dict[str, Any]  # refresh: {path, first, last, lines}: lines first..last-1 (0-based) become lines
    edit: str  # new: a file to open for editing (not a step)
    choose: dict[str, Any]  # new: {prompt, choices: [{key, label}]}: ask, then the same command with Params.where = key
    compare: dict[str, Any]  # refresh: {title, lines}: an earlier step's text, to show beside the buffer in diff mode
    running: dict[str, Any]  # run: {buf, run, id, path, keep, lines}: lines from keep on become lines; output follows
    trust: TrustQuestion  # a command would run an untrusted command: ask, answer with trust, then repeat


class RunItem(TypedDict, total=False):
    """One run of :WorkflowRuns' list."""

    run: str  # its id (resume takes it)
    dir: str  # its directory (Params.run_dir of log, export)
    line: int  # the line that shows it (1-based)


class RunsList(TypedDict, total=False):
    """:WorkflowRuns: every run under runs_dir, newest first (Response.runs): lines to show, and
    which run each line is."""

    lines: list[str]
    items: list[RunItem]


class TrustQuestion(TypedDict, total=False):
    """What to ask before a workflow file's commands may run (Response.trust)."""

    path: str  # the file, as the person reads it
    sha256: str  # its content: send it back with the answer
    commands: list[str]  # every command it can run
    prompt: str  # the whole question, commands included
    trusted: bool  # it is trusted already: the question is whether to keep trusting it
    deny: str  # the answer to send for "Deny": "deny", or "revoke" for a trusted file
    default: int  # the choice Enter gives: 2 (Deny) for a new question, 1 (keep) for a trusted file
    unanswered: str  # what to say when the question is dismissed (Escape)


class CommandOutput(TypedDict, total=False):
    """Output of a step's command, pushed in batches as {"output": CommandOutput}."""

    buf: int
    run: str
    id: str  # the step
    lines: list[str]  # append these to the buffer
    done: bool
    exit: int  # done: the exit status (-9: killed)
    seconds: float
    cancelled: bool
    timed_out: bool
    truncated: bool  # more lines were printed than kept
    reload: bool  # done: the step file holds the record now: show the file
    path: str  # the step file: its buffer, when ``buf`` is gone (the step was opened again)
    message: Line  # done: one line for the person


class CheckedStep(TypedDict, total=False):
    """How a step's check command ended, pushed as {"checked": CheckedStep} (it runs in the
    background: :WorkflowNext and :WorkflowCheck answer at once)."""

    buf: int  # the step's buffer, from Params.buf
    tick: int  # Params.tick of the command that started it
    run: str
    id: str  # the step
    passed: bool  # it exited 0: the server remembers that it passed on the step file as it was
    # Asked by :WorkflowNext: when passed, in the current buffer, at the same tick, give :WorkflowNext
    # again there (it completes the step, running nothing); otherwise draw ``response``.
    completes: bool
    response: Response  # the failure (Diagnostics on line 1, a warning), or the pass (one line)


class AnnotationProgress(TypedDict, total=False):
    """Progress of one annotation request, pushed as it streams."""

    buf: int
    request: int
    notes: list[dict[str, Any]]  # {line, severity, note}: new since the last push
    replace: bool  # set once, on the push whose notes take the place of those shown before
    tokens: int  # chunks of the answer so far
    done: bool
    cancelled: bool
    error: str
    summary: str
    warning: str
    incomplete: bool
    covered: list[int]  # [first, last]: the lines the answer covered
    dropped: int


class Push(TypedDict, total=False):
    """A message the server sends of its own accord: a background commit's outcome (a Response
    naming ``committed``), annotation progress (``annotation``), the problems of a buffer
    checked in the background (``diagnostics``), a command's output (``output``), or how a
    step's check command ended (``checked``)."""

    annotation: AnnotationProgress
    diagnostics: Diagnostics
    output: CommandOutput
    checked: CheckedStep
    committed: str
    error: str
    info: list[Line]
    events: list[dict[str, Any]]
    state: dict[str, Any] | None


Completion = Literal["workflows", "steps", "runs", "file", ""]


class Command(NamedTuple):
    """A subcommand: ``:Workflow {name}`` and its own ``:WorkflowXxx``.

    A NamedTuple, not a dataclass: the server imports this module before it answers hello, and
    dataclasses pulls in inspect (~12 ms of the editor's first command).
    """

    name: str
    command: str  # the Ex command
    fewest: int  # arguments
    most: int  # -1: any number (free text)
    complete: Completion  # what <Tab> offers for the argument
    what: str  # the argument, for messages ("a workflow name")
    desc: str  # one line, for :command and menus
    needs_run: bool = True  # False: works on any buffer, without a run (saves no step buffer)
    takes_range: bool = False
    bang: bool = False  # the Ex command takes ! (sent as Params.bang)


# The table a front mirrors (lua/workflow/commands.lua; tests/e2e/test_agreement.py proves they agree).
COMMANDS: tuple[Command, ...] = (
    Command("start", "WorkflowStart", 1, 1, "workflows", "a workflow name", "Start a workflow by name"),
    Command("next", "WorkflowNext", 0, 0, "", "", "Complete the current step and open the next", bang=True),
    Command("prev", "WorkflowPrev", 0, 0, "", "", "Open the previous step"),
    Command("goto", "WorkflowGoto", 1, 1, "steps", "a step id or number", "Open a step by id or number"),
    Command("status", "WorkflowStatus", 0, 0, "", "", "Show the progress of the current run"),
    Command("list", "WorkflowList", 0, 0, "", "", "List the workflows found, with errors"),
    Command("stop", "WorkflowStop", 0, 0, "", "", "Stop the current run (its files stay)"),
    Command(
        "revert",
        "WorkflowRevert",
        1,
        1,
        "steps",
        "a step id or number",
        "Go back to a step: later steps become pending (history kept)",
    ),
    Command("log", "WorkflowLog", 0, 0, "", "", "Show the run's history: one line per step commit"),
    Command("refresh", "WorkflowRefresh", 0, 0, "", "", "Update this step's copies of earlier steps revised since"),
    Command("resume", "WorkflowResume", 0, 1, "runs", "a run id", "Resume an unfinished run"),
    Command(
        "annotate",
        "WorkflowAnnotate",
        0,
        -1,
        "",
        "an instruction",
        "Ask the local model for notes on the buffer or range",
        needs_run=False,
        takes_range=True,
    ),
    Command("annotate_cancel", "WorkflowAnnotateCancel", 0, 0, "", "", "Stop the running annotation", needs_run=False),
    Command(
        "annotate_clear",
        "WorkflowAnnotateClear",
        0,
        0,
        "",
        "",
        "Remove the model's notes from the buffer",
        needs_run=False,
    ),
    Command(
        "models", "WorkflowModels", 0, 0, "", "", "Choose the Ollama model from the server's list", needs_run=False
    ),
    Command("new", "WorkflowNew", 1, 1, "", "a workflow name", "Create a workflow file to fill in", needs_run=False),
    Command("install", "WorkflowInstall", 0, 0, "", "", "Install the plugin's own Python environment", needs_run=False),
    Command("health", "WorkflowHealth", 0, 0, "", "", "Check Python, git, the places and workflows", needs_run=False),
    Command(
        "check",
        "WorkflowCheck",
        0,
        0,
        "",
        "",
        "Check the workflow file in this buffer, or the step's checks in a step buffer",
        needs_run=False,
    ),
    Command("skip", "WorkflowSkip", 0, 0, "", "", "Complete an optional step with no text"),
    Command("run", "WorkflowRun", 0, 0, "", "", "Run this step's command"),
    Command(
        "cancel",
        "WorkflowCancel",
        0,
        0,
        "",
        "",
        "Stop what runs in this buffer: a command or an annotation",
        needs_run=False,
    ),
    Command("runs", "WorkflowRuns", 0, 0, "", "", "List every run, finished or not", needs_run=False),
    Command(
        "trust",
        "WorkflowTrust",
        0,
        1,
        "file",
        "a workflow file",
        "Allow a workflow file's commands to run",
        needs_run=False,
        bang=True,
    ),
    # finish (issue 16)
    Command("reopen", "WorkflowReopen", 0, 0, "", "", "Make a finished run editable again"),
    Command(
        "export",
        "WorkflowExport",
        0,
        1,
        "file",
        "a file",
        "Write the whole run as one Markdown document",
        needs_run=False,
    ),
)

BY_NAME = {c.name: c for c in COMMANDS}

# Requests that are not commands but the front's own business (never typed by a person).
INTERNAL = ("wait", "show", "unfinished", "annotate_cancel")

# Commands the front carries out alone: the server has no handler for them.
FRONT_ONLY = ("annotate_clear", "install", "health")

Method = Literal["hello", "command", "complete"]
METHODS: tuple[str, ...] = ("hello", "command", "complete")


def mismatch(front: object) -> str | None:
    """One line when a front speaks another protocol version, else None."""
    if front == PROTOCOL:
        return None
    # Its halves come from different versions of the plugin; the line fits 80 columns with [workflow].
    return f"protocol {front!s} in the editor, {PROTOCOL} in Python: update the plugin, restart"
