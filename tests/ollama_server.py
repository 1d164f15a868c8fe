"""A test Ollama: a real HTTP server on loopback speaking Ollama's API, scripted per test.

It serves ``/api/chat`` and ``/api/generate`` (NDJSON streamed with chunked
transfer encoding, as Ollama does), ``/api/tags`` (each model with its
``digest``), ``/api/show`` and ``/api/version``, and can misbehave on
purpose: an unknown model (404), a stall, slow tokens, a dropped
connection, an error in the middle of the stream, broken JSON, prose instead of JSON, and what a hostile server or a
broken model sends: thousands of notes (``flood``), a model looping inside
one note for ever (``endless_note``), one NDJSON line of many megabytes
(fault "huge-line"). It records the requests it got, the bytes it sent and
whether the client closed the connection before the answer was done.

A model can be one that runs elsewhere, as Ollama describes its cloud models
(a model pulled as ``gpt-oss:120b-cloud``, or made ``FROM`` one under any
name): its ``/api/tags`` entry and its ``/api/show`` answer carry
``remote_model`` and ``remote_host`` (Ollama's api/types.go, ListModelResponse
and ShowResponse), and the local server forwards its chats there, each
streamed line naming them too (ChatResponse).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """How the next chat answers."""

    chunks: Iterable[str] = field(default_factory=list)  # content pieces, streamed one per line; may be endless
    delay: float = 0.0  # seconds between chunks
    fault: str | None = None  # None, "stall", "disconnect", "error", "invalid-line", "huge-line"
    fault_after: int = 0  # chunks sent before the fault
    status: int = 200
    huge_line: int = 64 << 20  # bytes of the "huge-line" fault's line, if the client reads them all


class OllamaReplies(BaseHTTPRequestHandler):
    """How Ollama answers on the wire: JSON bodies, and NDJSON lines in HTTP/1.1 chunks."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # As Ollama (Go's net package) does: no Nagle delay, so each streamed line leaves at once.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _start_stream(self, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()


def answer(notes: list[dict[str, Any]], summary: str = "Fine.") -> str:
    """The JSON answer a good model gives."""
    return json.dumps({"notes": notes, "summary": summary})


def split(text: str, size: int = 7) -> list[str]:
    """``text`` in token-like pieces."""
    return [text[i : i + size] for i in range(0, len(text), size)]


OLLAMA_CLOUD = "https://ollama.com:443"  # the remote_host Ollama gives its cloud models


def flood(count: int, summary: str = "Many notes.") -> list[str]:
    """An answer of ``count`` notes, one note a chunk: a model that never stops finding things."""
    notes = [json.dumps({"line": 1 + i % 5, "severity": "info", "note": f"Note {i + 1}."}) for i in range(count)]
    return ['{"notes": [', *(n if i == 0 else ", " + n for i, n in enumerate(notes)), f'], "summary": "{summary}"}}']


def endless_note(before: list[dict[str, Any]], token: str = "and again ") -> Iterator[str]:
    """The notes ``before``, then a note whose text a looping model writes for ever, a token a chunk."""
    head = json.dumps({"notes": before})[:-2]  # without the closing "]}"
    opening = (", " if before else "") + '{"line": 1, "severity": "info", "note": "It '
    return itertools.chain([head, opening], itertools.repeat(token))


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client may hang up at any time (cancel, a bound reached): Ollama says nothing either.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOllama:
    def __init__(
        self,
        models: tuple[str, ...] = ("tiny:latest",),
        context_length: int = 4096,
        remote: dict[str, str] | None = None,
    ):
        """``remote``: model -> the model it is on ``OLLAMA_CLOUD``, for models that run there."""
        self.models = list(models)
        # Each model's digest, as /api/tags gives it (bare hex); a test may change one (a new pull).
        self.digests = {m: hashlib.sha256(m.encode()).hexdigest() for m in models}
        self.context_length = context_length
        self.remote = dict(remote or {})
        self.script = Script()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client_closed = threading.Event()  # the client hung up before the answer was done
        self.answer_started = threading.Event()
        self.sent: list[float] = []  # monotonic time each chunk was written
        self.bytes_sent = 0  # bytes of answer lines written to the socket
        self._stop = threading.Event()
        server = self

        class Handler(OllamaReplies):
            def _chunk(self, data: bytes) -> None:
                super()._chunk(data)
                server.bytes_sent += len(data)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    return dict(json.loads(raw or b"{}"))
                except ValueError:
                    return {}

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    server.requests.append(("tags", {}))
                    self._json(
                        200,
                        {
                            "models": [
                                {
                                    "name": m,
                                    "model": m,
                                    "size": 1000,
                                    "digest": server.digests.get(m, ""),
                                    **server.where(m),
                                }
                                for m in server.models
                            ]
                        },
                    )
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.0.0-test"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = self._body()
                kind = self.path.rsplit("/", 1)[-1]
                server.requests.append((kind, body))
                if kind == "show":
                    if body.get("model") not in server.models:
                        self._json(404, {"error": f"model '{body.get('model')}' not found"})
                    else:
                        info = {"llama.context_length": server.context_length}
                        self._json(200, {"model_info": info, **server.where(str(body.get("model")))})
                elif kind in ("chat", "generate"):
                    self._stream(kind, body)
                else:
                    self._json(404, {"error": "not found"})

            def _line(self, kind: str, model: str, content: str, done: bool) -> bytes:
                part: dict[str, Any] = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": done}
                part.update(server.where(model))  # as Ollama says which upstream answered
                if kind == "chat":
                    part["message"] = {"role": "assistant", "content": content}
                else:
                    part["response"] = content
                if done:
                    part["done_reason"] = "stop"
                return (json.dumps(part) + "\n").encode()

            def _client_gone(self, wait: float) -> bool:
                """True if the client closed its end within ``wait`` seconds."""
                sock: socket.socket = self.connection
                readable, _, _ = select.select([sock], [], [], wait)
                if readable:
                    try:
                        return sock.recv(1, socket.MSG_PEEK) == b""
                    except OSError:
                        return True
                return False

            def _stream(self, kind: str, body: dict[str, Any]) -> None:
                model = str(body.get("model"))
                if model not in server.models:
                    self._json(404, {"error": f"model '{model}' not found, try pulling it first"})
                    return
                script = server.script
                self._start_stream(script.status)
                server.answer_started.set()
                count = 0  # chunks sent
                try:
                    for piece in script.chunks:
                        if server._stop.is_set():
                            return
                        if script.fault and count == script.fault_after and self._fault(script.fault, kind, model):
                            return
                        if script.delay and self._client_gone(script.delay):
                            server.client_closed.set()
                            return
                        self._chunk(self._line(kind, model, piece, False))
                        server.sent.append(time.monotonic())
                        count += 1
                    ends = script.fault and script.fault_after >= count
                    if ends and self._fault(str(script.fault), kind, model):
                        return
                    self._chunk(self._line(kind, model, "", True))
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    server.client_closed.set()
                    self.close_connection = True

            def _fault(self, fault: str, kind: str, model: str) -> bool:
                """Misbehave; True when the answer ends here."""
                if fault == "stall":
                    while not server._stop.is_set():
                        if self._client_gone(0.05):
                            server.client_closed.set()
                            return True
                    return True
                if fault == "disconnect":
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return True
                if fault == "error":
                    self._chunk((json.dumps({"error": "out of memory"}) + "\n").encode())
                    self._chunk(b"")
                    return True
                if fault == "invalid-line":
                    self._chunk(b"this is not json\n")
                    self._chunk(b"")
                    return True
                if fault == "huge-line":
                    # One valid line of script.huge_line bytes, in pieces, as long as the client reads.
                    head = self._line(kind, model, "", False).split(b'"content": ""')[0] + b'"content": "'
                    self._chunk(head)
                    piece = b"x" * (64 << 10)
                    for _ in range(server.script.huge_line // len(piece)):
                        if server._stop.is_set():
                            return True
                        self._chunk(piece)
                    self._chunk(b'"}, "done": false}\n')
                    self._chunk(self._line(kind, model, "", True))
                    self._chunk(b"")
                    return True
                return False

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def chats(self) -> list[dict[str, Any]]:
        return [body for kind, body in self.requests if kind == "chat"]

    def where(self, model: str) -> dict[str, str]:
        """What Ollama adds to a model's description when it runs elsewhere."""
        if model not in self.remote:
            return {}
        return {"remote_model": self.remote[model], "remote_host": OLLAMA_CLOUD}

    def url_by_name(self) -> str:
        """This server's URL with its address spelt as a name (2130706433 is 127.0.0.1 to the
        resolver): not literally loopback, so another machine to the plugin, yet it reaches here."""
        return self.url.replace("127.0.0.1", str(int.from_bytes(bytes([127, 0, 0, 1]), "big")))


def free_port() -> int:
    """A loopback port nobody listens on (for 'Ollama is not running')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
