"""Ask a local model, served by Ollama, for notes on a text: plain Python, no editor.

The model is asked for structured output (Ollama's ``format`` with a JSON
schema): ``{"notes": [{"line", "severity", "note"}], "summary"}``. Small
models often write broken JSON or prose instead, so nothing here trusts the
answer: notes are picked out of the stream as soon as each one is complete,
and whatever cannot be parsed becomes a plain summary.

``ollama`` (and with it httpx and pydantic, ~0.35 s) is imported only when an
annotation is first asked for.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .destination import DEFAULT_HOST as DEFAULT_HOST
from .destination import destination, is_loopback, model_refusal, remote_host, runs_on
from .errors import WorkflowError

DEFAULT_MODEL = "llama3.2"
DEFAULT_FIRST_TOKEN_TIMEOUT = 60.0
CONNECT_TIMEOUT = 2.0
DEFAULT_CONTEXT = 4096  # tokens, when the server does not say
CHARS_PER_TOKEN = 3.5  # a cautious estimate for English and code
SEVERITIES = ("error", "warning", "info", "hint")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "notes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "note": {"type": "string"},
                },
                "required": ["line", "severity", "note"],
            },
        },
        "summary": {"type": "string"},
    },
    "required": ["notes", "summary"],
}

SYSTEM_PROMPT = """You review a text for the person writing it and give short, concrete notes.
Each note is anchored to one line of the text, given by the number at the start of that line.
Answer only with JSON of this shape:
{"notes": [{"line": <line number>, "severity": "error" | "warning" | "info" | "hint",
            "note": "<one or two sentences>"}],
 "summary": "<two sentences at most on the whole text>"}
Give at most 10 notes, most important first. Do not repeat the text. If there is nothing to say, give no notes."""


def resolve_host(configured: str | None) -> str:
    """The Ollama URL: the option, else $OLLAMA_HOST, else the default."""
    return destination(configured).url


@dataclass(frozen=True)
class ModelFacts:
    """What the server's /api/show says of a model."""

    context: int  # tokens
    remote_host: str = ""  # where it runs when not on the server itself (an Ollama cloud model)


_MODELS: dict[tuple[str, str], ModelFacts] = {}  # (host, model) -> what /api/show said of it, asked once


@dataclass
class Note:
    line: int  # 1-based, in the annotated text
    severity: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "severity": self.severity, "note": self.note}


def note_from(obj: Any, first: int, last: int) -> Note | None:
    """A Note from a parsed object, or None when it is not one; lines outside first..last are clamped."""
    if not isinstance(obj, dict):
        return None
    text = obj.get("note") or obj.get("message") or obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        line = int(obj.get("line", first))
    except (TypeError, ValueError):
        line = first
    severity = str(obj.get("severity", "info")).lower()
    if severity not in SEVERITIES:
        severity = {"warn": "warning", "err": "error", "suggestion": "hint"}.get(severity, "info")
    return Note(min(max(line, first), last), severity, " ".join(text.split()))


class NoteStream:
    """Picks complete note objects out of a JSON answer as it streams in."""

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self.text = ""
        self.notes: list[Note] = []
        self._scan = 0  # where to look for the next object in self.text
        self._array_at: int | None = None

    def feed(self, chunk: str) -> list[Note]:
        """Add ``chunk``; return the notes it completed."""
        self.text += chunk
        if self._array_at is None:
            key = self.text.find('"notes"')
            if key < 0:
                return []
            bracket = self.text.find("[", key)
            if bracket < 0:
                return []
            self._array_at = self._scan = bracket + 1
        new: list[Note] = []
        while True:
            start = self.text.find("{", self._scan)
            close = self.text.find("]", self._scan)
            if start < 0 or (0 <= close < start):
                break
            end = _object_end(self.text, start)
            if end is None:
                break
            self._scan = end
            try:
                note = note_from(json.loads(self.text[start:end]), self.first, self.last)
            except ValueError:
                note = None
            if note:
                new.append(note)
        self.notes += new
        return new

    def finish(self) -> tuple[list[Note], str, bool]:
        """The final notes, the summary, and whether the answer was the JSON asked for."""
        try:
            answer = json.loads(self.text)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            items = answer.get("notes")
            items = items if isinstance(items, list) else []  # {"notes": 3} is not worth a traceback
            notes = [n for n in (note_from(o, self.first, self.last) for o in items) if n]
            summary = answer.get("summary")
            return notes, summary if isinstance(summary, str) else "", True
        # Prose, or broken JSON: keep the notes that were parsed, and show the rest as it came.
        return self.notes, " ".join(self.text.split())[:2000], False


def _object_end(text: str, start: int) -> int | None:
    """The index after the JSON object starting at ``start``, or None if it is not complete yet."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


@dataclass
class Request:
    """What to annotate and with what context."""

    lines: list[str]  # the text to annotate
    first_line: int = 1  # its first line's number in the buffer (for a range)
    instruction: str = ""  # the person's own request, if any
    workflow_title: str = ""
    step_title: str = ""
    step_instructions: str = ""
    step_annotate: str = ""  # the step's YAML annotate: text
    earlier: list[tuple[str, str]] = field(default_factory=list)  # (title, text) of earlier steps


def build_messages(req: Request, context_tokens: int) -> tuple[list[dict[str, str]], int, str | None]:
    """The chat messages, the last buffer line they cover, and a warning if the text did not fit."""
    budget = int(context_tokens * CHARS_PER_TOKEN * 0.6)  # the rest is for the answer and the system prompt
    head: list[str] = []
    if req.workflow_title:
        head.append(f"Workflow: {req.workflow_title}")
    if req.step_title:
        head.append(f"Step: {req.step_title}")
    if req.step_instructions:
        head.append(f"What the person was asked to do in this step:\n{req.step_instructions.strip()}")
    if req.step_annotate:
        head.append(f"What to look for:\n{req.step_annotate.strip()}")
    if req.instruction:
        head.append(f"The person asks: {req.instruction.strip()}")
    text_budget = budget - sum(len(h) for h in head)
    numbered: list[str] = []
    used = 0
    for i, line in enumerate(req.lines):
        entry = f"{req.first_line + i}: {line}"
        if used + len(entry) + 1 > text_budget and numbered:
            break
        numbered.append(entry)
        used += len(entry) + 1
    last = req.first_line + len(numbered) - 1
    warning = None
    if len(numbered) < len(req.lines):
        warning = (
            f"the text is too long for the model's context ({context_tokens} tokens): "
            f"annotated lines {req.first_line}-{last} of {req.first_line}-{req.first_line + len(req.lines) - 1}"
        )
    # Earlier steps' text, newest first, in what room is left.
    room = text_budget - used
    earlier: list[str] = []
    for title, text in reversed(req.earlier):
        piece = f"Earlier step '{title}':\n{text.strip()}"
        if len(piece) > room:
            break
        earlier.insert(0, piece)
        room -= len(piece)
    user = "\n\n".join([*head, *earlier, "The text, with line numbers:\n" + "\n".join(numbered)])
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}], last, warning


@dataclass
class Progress:
    """What a running annotation has to say so far (sent to the editor in batches)."""

    notes: list[Note] = field(default_factory=list)  # new since the last batch
    tokens: int = 0
    done: bool = False
    summary: str = ""
    error: str | None = None
    warning: str | None = None
    incomplete: bool = False
    covered: tuple[int, int] | None = None
    cancelled: bool = False


class Annotation:
    """One request to the model, streamed in a thread of its own; cancel() closes the connection."""

    def __init__(
        self,
        req: Request,
        model: str,
        host: str,
        report: Callable[[Progress], None],
        first_token_timeout: float = DEFAULT_FIRST_TOKEN_TIMEOUT,
        batch_interval: float = 0.05,
        allow_remote: bool = False,
    ):
        """``allow_remote``: the person's consent to a model that runs off the server (a cloud model)."""
        self.req, self.model, self.host = req, model, host
        self.allow_remote = allow_remote
        self.report = report
        self.first_token_timeout = first_token_timeout
        self.batch_interval = batch_interval
        self._cancelled = threading.Event()
        self._client: Any = None
        self._sockets: list[socket.socket] = []  # the connections the client opened, for cancel()
        self._thread = threading.Thread(target=self._run, name="workflow-annotate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Stop generating: close the HTTP stream, so the server stops too."""
        self._cancelled.set()
        # Closing a socket does not wake a read blocked on it in another thread (the model may take
        # a minute before its first token): shutting it down does, and the server sees the hang-up.
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client._client.close()  # the httpx client under ollama's: a blocked read ends now

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._stream()
        except Exception as e:  # one clear line for everything, never a traceback in the editor
            if self._cancelled.is_set():
                self.report(Progress(done=True, cancelled=True))
            else:
                self.report(Progress(done=True, error=self.explain(e)))
        finally:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client._client.close()  # its keep-alive connection to Ollama

    def _watch_connections(self, request: Any) -> None:
        """httpx request hook: have httpcore tell which sockets it opens (its documented trace extension)."""
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self._sockets.append(sock)
                if self._cancelled.is_set():
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def _stream(self) -> None:
        import httpx
        import ollama

        timeout = httpx.Timeout(self.first_token_timeout, connect=CONNECT_TIMEOUT)
        self._client = client = ollama.Client(
            host=self.host,
            timeout=timeout,
            event_hooks={"request": [self._watch_connections]},
            trust_env=not is_loopback(self.host),  # a proxy from the environment is for other machines
        )
        if self._cancelled.is_set():
            raise WorkflowError("cancelled")
        facts = self._model_facts(client)
        refusal = model_refusal(self.model, facts.remote_host, self.allow_remote)
        if refusal:
            raise WorkflowError(refusal)  # before any of the person's text is sent
        context = facts.context
        messages, last, warning = build_messages(self.req, context)
        first = self.req.first_line
        parser = NoteStream(first, last)
        stream = client.chat(
            model=self.model,
            messages=messages,
            format=SCHEMA,
            stream=True,
            options={"num_ctx": context, "temperature": 0.2},
        )
        pending = Progress(warning=warning, covered=(first, last))
        tokens, last_sent = 0, 0.0
        try:
            for part in stream:
                if self._cancelled.is_set():
                    break
                text = part.message.content or ""
                tokens += 1
                pending.notes += parser.feed(text)
                pending.tokens = tokens
                now = time.monotonic()
                # The first chunk goes out at once (the person sees the model has started), then batches.
                if tokens == 1 or (pending.notes and last_sent == 0.0) or now - last_sent >= self.batch_interval:
                    self.report(pending)
                    pending, last_sent = Progress(tokens=tokens), now
        except ollama.ResponseError as e:
            if tokens == 0:
                raise
            # An error in the middle of the stream: keep what came, marked incomplete.
            notes, summary, _ = parser.finish()
            self.report(
                Progress(
                    notes=pending.notes,
                    tokens=tokens,
                    done=True,
                    incomplete=True,
                    summary=summary,
                    warning=warning,
                    covered=(first, last),
                    error=f"the model stopped with an error after {tokens} chunks ({e.error}): notes so far are kept",
                )
            )
            return
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        if self._cancelled.is_set():
            self.report(Progress(done=True, cancelled=True, tokens=tokens))
            return
        notes, summary, ok = parser.finish()
        known = {(n.line, n.note) for n in parser.notes}
        late = [n for n in notes if (n.line, n.note) not in known]  # only at the end (odd JSON)
        pending.notes += late
        pending.done = True
        pending.tokens = tokens
        # The editor shows the warning and keeps the covered lines (notes.json too) from the last batch.
        pending.warning, pending.covered = warning, (first, last)
        pending.summary = summary if ok else f"(not the JSON asked for) {summary}"
        pending.incomplete = not ok
        self.report(pending)

    def _model_facts(self, client: Any) -> ModelFacts:
        """The model's context and where it runs, as the server reports them (asked once per host and model)."""
        key = (self.host, self.model)
        if key in _MODELS:
            return _MODELS[key]
        if model_refusal(self.model, "", self.allow_remote):
            return ModelFacts(DEFAULT_CONTEXT)  # its name says enough: not even its name is sent
        try:
            # Raw JSON: the client's ShowResponse drops remote_host, which says where the model runs.
            info = client._request_raw("POST", "/api/show", json={"model": self.model}).json()
        except Exception:
            return ModelFacts(DEFAULT_CONTEXT)  # the chat request will say what is wrong
        if not isinstance(info, dict):
            return ModelFacts(DEFAULT_CONTEXT)
        length = DEFAULT_CONTEXT
        model_info = info.get("model_info")
        for name, value in (model_info if isinstance(model_info, dict) else {}).items():
            if name.endswith(".context_length") and isinstance(value, int):
                length = max(512, min(value, 32768))
        facts = _MODELS[key] = ModelFacts(length, remote_host(info))
        return facts

    def explain(self, e: BaseException) -> str:
        """One line saying what went wrong and what to do."""
        import httpx
        import ollama

        if isinstance(e, WorkflowError):
            return str(e)
        if isinstance(e, (httpx.ConnectError, ConnectionError, httpx.ConnectTimeout)):
            return f"Ollama is not reachable at {self.host}: start it with `ollama serve`"
        if isinstance(e, httpx.TimeoutException):
            return (
                f"the model sent nothing for {self.first_token_timeout:g} s: cancelled "
                "(vim.g.workflow.annotate_timeout sets how long to wait)"
            )
        if isinstance(e, ollama.ResponseError):
            if e.status_code == 404:
                return self._missing_model()
            return f"Ollama answered with an error: {e.error}"
        if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError)):
            return f"the connection to Ollama at {self.host} broke off: try again"
        if isinstance(e, ValueError):
            return f"Ollama at {self.host} sent something that is not its API's JSON: is it Ollama?"
        return f"annotation failed ({type(e).__name__}: {e})"

    def _missing_model(self) -> str:
        names: list[str] = []
        with contextlib.suppress(Exception):
            names = [m.model for m in self._client.list().models if m.model]
        have = f"the server has: {', '.join(names)}" if names else "the server has no models yet"
        return f"model '{self.model}' is not on the Ollama server ({have}): run `ollama pull {self.model}`"


def list_models(host: str, timeout: float = 5.0) -> dict[str, str]:
    """The models the server has, in its order, each with where it runs when that is elsewhere
    (an Ollama cloud model; "" for the others); WorkflowError saying why not."""
    import httpx
    import ollama

    client: Any = None  # its _request_raw is untyped
    try:
        client = ollama.Client(
            host=host, timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT), trust_env=not is_loopback(host)
        )
        # Raw JSON: the client's own model list drops remote_host, which says where a model runs.
        entries = client._request_raw("GET", "/api/tags").json().get("models") or []
        found = {}
        for m in entries:
            name = m.get("model") or m.get("name") if isinstance(m, dict) else None
            if isinstance(name, str) and name:
                found[name] = runs_on(name, remote_host(m))
        return found
    except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
        raise WorkflowError(f"Ollama is not reachable at {host}: start it with `ollama serve`") from None
    except Exception as e:
        raise WorkflowError(f"cannot list the models at {host}: {e}") from None
    finally:
        if client is not None:
            client._client.close()  # its keep-alive connection, left open until garbage collection otherwise
