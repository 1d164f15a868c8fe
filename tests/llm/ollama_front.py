"""An Ollama-API front for llama.cpp's llama-server, for the real-model test tier.

llama-server speaks the OpenAI API; workflow.nvim speaks Ollama's through the
official client. This front translates ``/api/chat`` (streamed NDJSON, with
``format`` as a JSON schema) into ``/v1/chat/completions`` (server-sent
events, with ``response_format``; ``temperature`` and ``seed`` passed on), and
answers ``/api/tags``, ``/api/show`` and ``/api/version`` for the one model
llama-server holds. Its digest in ``/api/tags`` is the SHA-256 of the GGUF
file, as Ollama's changes with the weights.

    python tests/llm/ollama_front.py --upstream http://127.0.0.1:PORT --model gemma3:270m --gguf FILE
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # also run as a script
from tests.ollama_server import OllamaReplies


def file_digest(path: Path) -> str:
    """The hex SHA-256 of a file (the model's weights)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def make_server(upstream: str, model: str, context: int, port: int = 0, digest: str = "") -> ThreadingHTTPServer:
    class Front(OllamaReplies):
        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._json(200, {"models": [{"name": model, "model": model, "size": 0, "digest": digest}]})
            elif self.path == "/api/version":
                self._json(200, {"version": "llama.cpp-front"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/api/show":
                if body.get("model") != model:
                    return self._json(404, {"error": f"model '{body.get('model')}' not found"})
                return self._json(200, {"model_info": {"llama.context_length": context}})
            if self.path != "/api/chat":
                return self._json(404, {"error": "not found"})
            if body.get("model") != model:
                return self._json(404, {"error": f"model '{body.get('model')}' not found, try pulling it first"})
            options = body.get("options") or {}
            request: dict[str, Any] = {
                "messages": body.get("messages", []),
                "stream": True,
                "temperature": options.get("temperature", 0.2),
                "max_tokens": 512,
                # A prompt evaluated afresh each time: a reused cache can change the numbers a little,
                # and so the notes (the reproducible-notes test sends the same prompt twice).
                "cache_prompt": False,
            }
            if isinstance(options.get("seed"), int):
                request["seed"] = options["seed"]
            if isinstance(body.get("format"), dict):
                request["response_format"] = {"type": "json_schema", "json_schema": {"schema": body["format"]}}
            up = urllib.request.Request(
                upstream + "/v1/chat/completions",
                data=json.dumps(request).encode(),
                headers={"Content-Type": "application/json"},
            )
            self._start_stream()
            try:
                with urllib.request.urlopen(up, timeout=300) as resp:
                    for raw in resp:
                        line = raw.decode().strip()
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        delta = json.loads(line[6:])["choices"][0].get("delta", {}).get("content") or ""
                        if delta:
                            part = {"model": model, "message": {"role": "assistant", "content": delta}, "done": False}
                            self._chunk((json.dumps(part) + "\n").encode())
                done = {"model": model, "message": {"role": "assistant", "content": ""}, "done": True}
                self._chunk((json.dumps(done) + "\n").encode())
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client cancelled; closing upstream stops generation there too

    return ThreadingHTTPServer(("127.0.0.1", port), Front)


def serve_in_thread(upstream: str, model: str, context: int, digest: str = "") -> tuple[ThreadingHTTPServer, str]:
    server = make_server(upstream, model, context, digest=digest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--model", default="gemma3:270m")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--gguf", type=Path, help="the model's file, whose SHA-256 is its digest")
    args = parser.parse_args()
    digest = file_digest(args.gguf) if args.gguf else ""
    make_server(args.upstream, args.model, args.context, args.port, digest).serve_forever()


if __name__ == "__main__":
    main()
