"""Ask a local model, served by Ollama, for notes on a text: plain Python, no editor.

The model is asked for structured output (Ollama's ``format`` with a JSON
schema): ``{"notes": [{"line", "severity", "note"}], "summary"}``. Small
models often write broken JSON or prose instead, so nothing here trusts the
answer: notes are picked out of the stream as soon as each one is complete,
and whatever cannot be parsed becomes a plain summary. Nor does it trust the
server: the stream is read with a bound on each line, and a looping or
endless answer is stopped at the limits below (MAX_*), keeping its notes.

``ollama`` (and with it httpx and pydantic, ~0.35 s) is imported only when an
annotation is first asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .destination import DEFAULT_HOST as DEFAULT_HOST
from .destination import (
    FROM_OPTION,
    Destination,
    ServerTrouble,
    destination,
    get_json,
    is_loopback,
    model_refusal,
    ollama_error,
    remote_host,
    runs_on,
    trouble,
)
from .errors import WorkflowError
from .options import DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_SEED, DEFAULT_TEMPERATURE

CONNECT_TIMEOUT = 2.0
DEFAULT_CONTEXT = 4096  # tokens, when the server does not say
CHARS_PER_TOKEN = 3.5  # a cautious estimate for English and code
SEVERITIES = ("error", "warning", "info", "hint")
MAX_NOTES = 200  # notes kept from one answer; more are counted and dropped
MAX_NOTE_CHARS = 4_000  # one note object: longer, the model is looping, and the answer is stopped
MAX_ANSWER_CHARS = 200_000  # the whole answer (a 32K-token context holds about 115,000)
MAX_LINE_BYTES = 1 << 20  # one line of Ollama's NDJSON stream

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


def _parse_int(digits: str) -> int | float:
    # Python refuses to turn more than 4,300 digits into an int (ValueError): as a float, a huge
    # line number is just infinitely far and is clamped like any other.
    return int(digits) if len(digits) <= 30 else float(digits)


def _loads(text: str) -> Any:
    """``json.loads`` for a model's answer: NaN, Infinity and huge numbers parse; no RecursionError."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:  # a thousand nested brackets
        raise ValueError("nested too deeply") from None


def _line_number(value: Any, first: int, last: int) -> int:
    """``value`` as a line in first..last: out of range is clamped; no number at all is the first line."""
    if isinstance(value, str):  # "12", or "1e999": a number a model put in quotes
        try:
            value = float(value)
        except ValueError:
            return first
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # NaN != NaN
        return first
    return int(min(max(value, first), last))  # ±Infinity clamps too


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
    severity = obj.get("severity", "info")
    severity = severity.lower() if isinstance(severity, str) else "info"
    if severity not in SEVERITIES:
        severity = {"warn": "warning", "err": "error", "suggestion": "hint"}.get(severity, "info")
    return Note(_line_number(obj.get("line", first), first, last), severity, " ".join(text.split()))


# What the scanner stops at: in a string, its end or an escape; in an object, a string or a brace;
# between the notes, the next object or the end of the list.
_STRING_STOP = re.compile(r'["\\]')
_OBJECT_STOP = re.compile(r'["{}]')
_ARRAY_STOP = re.compile(r"[{\]]")
_KEY = '"notes"'


class NoteStream:
    """Picks complete note objects out of a JSON answer as it streams in.

    Each character is looked at once: the scanner keeps its place (inside a string, after an
    escape, how deep in braces) from one chunk to the next. It keeps at most MAX_NOTES notes,
    counting the rest in ``dropped``, and stops reading (``stopped`` says why) when one note
    runs past MAX_NOTE_CHARS or the answer past MAX_ANSWER_CHARS.
    """

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self.notes: list[Note] = []
        self.dropped = 0  # notes past MAX_NOTES
        self.stopped: str | None = None  # why the rest of the answer was not read
        self.size = 0  # characters of the answer read
        self._chunks: list[str] = []  # the answer, joined once at the end
        self._tail = ""  # the last characters before a chunk, where '"notes"' may have begun
        self._where = "key"  # "key", "bracket" (then "["), "list" (between notes), "note", "end"
        self._note: list[str] = []  # the note object read so far, in pieces
        self._note_size = 0
        self._depth, self._in_string, self._escaped = 0, False, False

    @property
    def held(self) -> int:
        """How many characters of the answer the parser holds."""
        return self.size + self._note_size

    def feed(self, chunk: str) -> list[Note]:
        """Add ``chunk``; return the notes it completed."""
        if self.stopped is not None or not chunk:
            return []
        if self.size + len(chunk) > MAX_ANSWER_CHARS:
            chunk = chunk[: MAX_ANSWER_CHARS - self.size]
            self.stopped = f"the answer passed {MAX_ANSWER_CHARS:,} characters"
        self._chunks.append(chunk)
        self.size += len(chunk)
        new: list[Note] = []
        pos = 0
        while pos < len(chunk) and self._where != "end":
            pos = self._step(chunk, pos, new)
        return new

    def _step(self, chunk: str, pos: int, new: list[Note]) -> int:
        """Scan ``chunk`` from ``pos`` to the next change of place; the position after it."""
        if self._where == "key":
            window = self._tail + chunk[pos:]
            found = window.find(_KEY)
            if found < 0:
                self._tail = window[-(len(_KEY) - 1) :]
                return len(chunk)
            after = pos + found + len(_KEY) - len(self._tail)
            self._tail, self._where = "", "bracket"
            return after
        if self._where == "bracket":
            found = chunk.find("[", pos)
            if found < 0:
                return len(chunk)
            self._where = "list"
            return found + 1
        if self._where == "list":
            m = _ARRAY_STOP.search(chunk, pos)
            if m is None:
                return len(chunk)
            if m.group() == "]":
                self._where = "end"
                return len(chunk)
            self._where, self._note, self._note_size = "note", [], 0
            self._depth, self._in_string, self._escaped = 0, False, False
            return self._scan_note(chunk, m.start(), new)
        return self._scan_note(chunk, pos, new)

    def _scan_note(self, chunk: str, pos: int, new: list[Note]) -> int:
        """Read the note object from ``pos`` to its end, or to the end of ``chunk``."""
        start, end = pos, len(chunk)
        while pos < end:
            if self._escaped:
                self._escaped, pos = False, pos + 1
                continue
            m = (_STRING_STOP if self._in_string else _OBJECT_STOP).search(chunk, pos)
            if m is None:
                break
            c, pos = m.group(), m.end()
            if c == "\\":
                self._escaped = True
            elif c == '"':
                self._in_string = not self._in_string
            elif c == "{":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._note.append(chunk[start:pos])
                    self._note_size += pos - start
                    self._end_note(new)
                    return pos
        self._note.append(chunk[start:])
        self._note_size += end - start
        if self._note_size > MAX_NOTE_CHARS:
            self._end_note(new)
        return end

    def _end_note(self, new: list[Note]) -> None:
        text, size = "".join(self._note), self._note_size
        self._note, self._note_size, self._where = [], 0, "list"
        if size > MAX_NOTE_CHARS:  # a model looping inside one note: it would go on for ever
            self.stopped = f"a note passed {MAX_NOTE_CHARS:,} characters"
            self._where = "end"
            return
        try:
            note = note_from(_loads(text), self.first, self.last)
        except ValueError:
            note = None
        if note is None:
            return
        if len(self.notes) < MAX_NOTES:
            self.notes.append(note)
            new.append(note)
        else:
            self.dropped += 1

    def finish(self) -> tuple[list[Note], str, bool]:
        """The final notes, the summary, and whether the answer was the JSON asked for."""
        text = "".join(self._chunks)
        self._chunks = [text]
        answer = None
        if self.stopped is None:
            with contextlib.suppress(ValueError):
                answer = _loads(text)
        if isinstance(answer, dict):
            items = answer.get("notes")
            items = items if isinstance(items, list) else []  # {"notes": 3} is not worth a traceback
            notes = [n for n in (note_from(o, self.first, self.last) for o in items) if n]
            self.dropped = max(0, len(notes) - MAX_NOTES)
            summary = answer.get("summary")
            return notes[:MAX_NOTES], summary if isinstance(summary, str) else "", True
        # Prose, broken JSON or a stopped answer: keep the notes that were parsed, and show the rest as it came.
        return self.notes, "" if self.stopped else " ".join(text.split())[:2000], False


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


_DIGEST = re.compile(r"(?:sha256:)?([0-9a-f]{64})\Z")


def digest_of(model: str, tags: Any) -> str | None:
    """``model``'s digest (``sha256:<hex>``) in an /api/tags answer, or None when it is not there.

    Ollama lists ``llama3.2`` as ``llama3.2:latest``; its ``digest`` is the hex of the model's
    manifest, which changes whenever the model does (a new ``ollama pull``, another quantization)."""
    entries = tags.get("models") if isinstance(tags, dict) else None
    names = {model, model if ":" in model else f"{model}:latest"}
    for m in entries if isinstance(entries, list) else []:
        if not isinstance(m, dict) or not ({m.get("model"), m.get("name")} & names):
            continue
        found = _DIGEST.match(str(m.get("digest") or "").strip().lower())
        return f"sha256:{found.group(1)}" if found else None
    return None


def prompt_sha256(prompt: str) -> str:
    """The hex SHA-256 of a prompt as sent (UTF-8): what the ``Workflow-Prompt`` trailer says."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sent:
    """Exactly what an annotation asked of the model, kept in the notes file as ``request``, so that
    the same request can be sent again (``reannotate``) and the answer compared."""

    model: str
    digest: str | None  # sha256:<hex> from the server's /api/tags; None when it did not say
    prompt: str  # the user message
    system: str | None  # the system message
    options: dict[str, Any]  # Ollama's options: num_ctx, temperature, seed

    def messages(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system is not None else []
        return [*head, {"role": "user", "content": self.prompt}]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "digest": self.digest,
            "prompt": self.prompt,
            "system": self.system,
            "options": dict(self.options),
            "sha256": prompt_sha256(self.prompt),
        }

    @classmethod
    def of(cls, data: Any) -> Sent | None:
        """The request recorded in a notes file (``data["request"]``), or None when it is not one."""
        if not isinstance(data, dict):
            return None
        model, digest, prompt = data.get("model"), data.get("digest"), data.get("prompt")
        system, options = data.get("system"), data.get("options")
        if not (isinstance(model, str) and model and isinstance(prompt, str) and isinstance(options, dict)):
            return None
        if system is not None and not isinstance(system, str):
            return None
        valid = isinstance(digest, str) and _DIGEST.match(digest) and digest.startswith("sha256:")
        return cls(model, digest if valid else None, prompt, system, options)


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
    dropped: int = 0  # notes past MAX_NOTES, said once, with the last batch


def notes_record(model: str, notes: list[dict[str, Any]], p: Progress, sent: Sent | None) -> dict[str, Any]:
    """What a step's notes file holds once an annotation is done: the notes (in line order), the
    summary, and the request that brought them (``request``, see Sent), to be asked again."""
    data: dict[str, Any] = {
        "model": model,
        "lines": list(p.covered) if p.covered else None,
        "incomplete": p.incomplete,
        "summary": p.summary,
        "notes": sorted(notes[:MAX_NOTES], key=lambda n: n["line"]),
    }
    if p.dropped:
        data["dropped"] = p.dropped  # notes past the limit, not kept
    if sent is not None:
        data["request"] = sent.to_dict()
    return data


class BadStream(Exception):
    """The server's stream is not Ollama's; the message says what came ("a line over 1 MiB")."""


def ndjson_lines(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The lines of a stream of byte chunks; BadStream as soon as one runs past ``limit`` bytes.

    No more than ``limit`` bytes of a line are ever held, besides the chunk being split.
    """
    held = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if len(held) + end - start > limit:
                raise BadStream(f"a line over {_size(limit)}")
            if held:
                held += chunk[start:end]
                yield bytes(held)
                held.clear()
            else:
                yield chunk[start:end]
            start = end + 1
        if len(held) + len(chunk) - start > limit:
            raise BadStream(f"a line over {_size(limit)}")
        held += chunk[start:]
    if held:
        yield bytes(held)


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _read_at_most(response: Any, limit: int) -> str:
    """The start of a response's body, never more than about ``limit`` bytes of it."""
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) >= limit:
            break
    return body[:limit].decode("utf-8", "replace")


def _response_error(text: str, status: int = -1) -> Exception:
    """ollama.ResponseError for what the server said (its constructor trips on JSON that is no object)."""
    import ollama

    try:
        return ollama.ResponseError(text, status)
    except AttributeError:
        return ollama.ResponseError(f"HTTP {status}: {text}", status)


def _one_line(text: object, limit: int = 200) -> str:
    """Server text fit for a one-line message: whitespace folded, cut at ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
        source: str = FROM_OPTION,
        temperature: float = DEFAULT_TEMPERATURE,
        seed: int = DEFAULT_SEED,
        replay: Sent | None = None,
        replay_last: int = 0,
    ):
        """``allow_remote``: the person's consent to a model that runs off the server (a cloud model);
        ``source``: where ``host`` came from (destination.FROM_*), the setting a message names;
        ``temperature`` and ``seed``: the options asked for (0 and a fixed seed: the same answer again).
        ``replay``: send exactly this recorded request instead of one built from ``req`` (whose
        ``first_line`` and ``replay_last`` say which lines it covered)."""
        self.req, self.model, self.host, self.source = req, model, host, source
        self.temperature, self.seed = temperature, seed
        self.replay, self.replay_last = replay, replay_last
        self.sent: Sent | None = None  # what was asked, once it is known (before the chat request)
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
        first = self.req.first_line
        if self.replay is None:
            messages, last, warning = build_messages(self.req, context)
            options = {"num_ctx": context, "temperature": self.temperature, "seed": self.seed}
            system, prompt = messages[0]["content"], messages[1]["content"]
            self.sent = Sent(self.model, self._digest(client), prompt, system, options)
        else:
            last, warning = self.replay_last, None
            replay = self.replay
            self.sent = Sent(self.model, self._digest(client), replay.prompt, replay.system, replay.options)
        parser = NoteStream(first, last)
        stream = self._chat(
            client,
            {
                "model": self.model,
                "messages": self.sent.messages(),
                "format": SCHEMA,
                "stream": True,
                "options": self.sent.options,
            },
        )
        pending = Progress(warning=warning, covered=(first, last))
        tokens, last_sent = 0, 0.0
        try:
            for text in stream:
                if self._cancelled.is_set():
                    break
                tokens += 1
                pending.notes += parser.feed(text)
                pending.tokens = tokens
                if parser.stopped:
                    break
                now = time.monotonic()
                # The first chunk goes out at once (the person sees the model has started), then batches.
                if tokens == 1 or (pending.notes and last_sent == 0.0) or now - last_sent >= self.batch_interval:
                    self.report(pending)
                    pending, last_sent = Progress(tokens=tokens), now
        except (ollama.ResponseError, BadStream) as e:
            if tokens == 0:
                raise
            # A fault in the middle of the stream: keep what came, marked incomplete.
            if isinstance(e, BadStream):
                error = f"Ollama sent {e}: stopped, notes so far are kept"
            else:
                why = _one_line(e.error)
                error = f"the model stopped with an error after {tokens} chunks ({why}): notes so far are kept"
            self._report_stopped(pending, parser, tokens, error, warning)
            return
        finally:
            stream.close()  # the response, and with it the connection: the server stops generating
        if self._cancelled.is_set():
            self.report(Progress(done=True, cancelled=True, tokens=tokens))
            return
        if parser.stopped:
            self._report_stopped(pending, parser, tokens, f"{parser.stopped}: stopped, notes so far are kept", warning)
            return
        notes, summary, ok = parser.finish()
        known = {(n.line, n.note) for n in parser.notes}
        late = [n for n in notes if (n.line, n.note) not in known]  # only at the end (odd JSON)
        pending.notes += late[: max(0, MAX_NOTES - len(parser.notes))]
        pending.done = True
        pending.tokens = tokens
        pending.dropped = parser.dropped
        # The editor shows the warning and keeps the covered lines (notes.json too) from the last batch.
        pending.warning, pending.covered = warning, (first, last)
        pending.summary = summary if ok else f"(not the JSON asked for) {summary}"
        pending.incomplete = not ok
        self.report(pending)

    def _report_stopped(
        self, pending: Progress, parser: NoteStream, tokens: int, error: str, warning: str | None
    ) -> None:
        """The last report of an answer cut short: the notes so far, marked incomplete, and why."""
        _, summary, _ = parser.finish()
        pending.done, pending.incomplete, pending.error = True, True, error
        pending.tokens, pending.summary, pending.dropped = tokens, summary, parser.dropped
        pending.warning, pending.covered = warning, (self.req.first_line, parser.last)
        self.report(pending)

    def _chat(self, client: Any, body: dict[str, Any]) -> Generator[str, None, None]:
        """The content of each part of a streamed /api/chat answer, read with a bound on each line.

        ollama's own chat() reads lines without a bound (one 300 MB line is held whole): this asks
        through the httpx client that ``client`` holds (its host, headers and hooks) and splits the
        bytes itself. Raises ollama.ResponseError for an error the server sends, BadStream for a
        line that is too long or not Ollama's JSON.
        """
        # No compression: a few kilobytes of gzip could unpack into gigabytes before any line is split.
        headers = {"Accept-Encoding": "identity"}
        # No redirects: a server answering 307 would have the text sent on to wherever it names.
        with client._client.stream("POST", "/api/chat", json=body, headers=headers, follow_redirects=False) as response:
            content_type = response.headers.get("content-type", "")
            if not response.is_success:
                text = _read_at_most(response, 4096)
                if ollama_error(text.encode("utf-8")) is None:  # not Ollama's {"error": ...}
                    raise ServerTrouble(
                        trouble(self.host, "http", response.status_code, content_type, "/api/chat", self.source)
                    )
                raise _response_error(text, response.status_code)
            if content_type.split(";")[0].strip().lower().startswith("text/"):  # a web page, say
                raise ServerTrouble(trouble(self.host, "http", response.status_code, content_type, "", self.source))
            for line in ndjson_lines(response.iter_raw(), MAX_LINE_BYTES):
                if not line.strip():
                    continue
                try:
                    part = _loads(line.decode("utf-8"))
                except ValueError:  # UnicodeDecodeError is one too
                    raise BadStream("a line of bad JSON") from None
                if not isinstance(part, dict):
                    raise BadStream("a line of bad JSON")
                if part.get("error"):
                    raise _response_error(str(part["error"]))
                message = part.get("message")
                content = message.get("content", "") if isinstance(message, dict) else ""
                if not isinstance(content, str):
                    raise BadStream("a line of bad JSON")
                yield content
                if part.get("done") is True:
                    return

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

    def _digest(self, client: Any) -> str | None:
        """The model's digest as the server lists it now (asked each time: a pull changes it)."""
        try:
            return digest_of(self.model, client._request_raw("GET", "/api/tags").json())
        except Exception:
            return None  # the chat request will say what is wrong

    def explain(self, e: BaseException) -> str:
        """One line saying what went wrong and what to do."""
        import httpx
        import ollama

        if isinstance(e, (WorkflowError, ServerTrouble)):
            return str(e)
        kind = connection_trouble(e)
        if kind:
            return trouble(self.host, kind, source=self.source)
        if isinstance(e, httpx.TimeoutException):
            return (
                f"the model sent nothing for {self.first_token_timeout:g} s: cancelled "
                "(g:workflow.annotate_timeout sets how long to wait)"
            )
        if isinstance(e, ollama.ResponseError):
            if e.status_code == 404:
                return self._missing_model()
            return f"Ollama answered with an error: {_one_line(e.error)}"
        if isinstance(e, BadStream):
            return f"Ollama at {self.host} sent {e}: is it Ollama?"
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


def connection_trouble(e: BaseException) -> str:
    """What kind of trouble (destination.trouble's ``kind``) an HTTP client's failure to get an
    answer is: "refused", "unreachable", "closed", or "" when it is none of these."""
    import httpx

    chain: list[BaseException] = []
    seen: BaseException | None = e
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(x, ConnectionRefusedError) for x in chain):
        return "refused"
    if isinstance(e, httpx.RemoteProtocolError) and "without sending a response" in str(e):
        return "closed"  # "Server disconnected without sending a response"
    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError)):
        return "refused" if "refused" in str(e).lower() else "unreachable"
    return ""


def list_models(where: Destination, timeout: float = 5.0) -> dict[str, str]:
    """The models the server has, in its order, each with where it runs when that is elsewhere
    (an Ollama cloud model; "" for the others); WorkflowError saying why not (destination.trouble)."""
    try:
        # Raw JSON: it has remote_host, which says where a model runs.
        entries = get_json(where, "/api/tags", timeout).get("models")
    except ServerTrouble as e:
        raise WorkflowError(str(e)) from None
    found = {}
    for m in entries if isinstance(entries, list) else []:
        name = m.get("model") or m.get("name") if isinstance(m, dict) else None
        if isinstance(name, str) and name:
            found[name] = runs_on(name, remote_host(m))
    return found
