"""A server on loopback that is not Ollama: what a wrong ``ollama_host`` may point at.

``WebServer(kind)`` answers every request (GET or POST, any path) as:

- ``"html"``: HTTP 200 with a web page, as a development server or a router's admin page does;
- ``"404"``: HTTP 404 with an HTML "Not Found" page, as nginx or Apache answer an unknown path;
- ``"close"``: it accepts the connection, reads the request and closes without a word.

It records the paths it was asked for.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = (
    b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome</title>\n</head>\n<body>\n<h1>It works!</h1>\n"
    b"<p>This is the default web page for this server.</p>\n<p>The web server software is running\n"
    b"but no content has been added, yet.</p>\n</body>\n</html>\n"
)
NOT_FOUND = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n</body>\r\n</html>\r\n"
)


class WebServer:
    """A real HTTP server on 127.0.0.1 that answers as ``kind`` says (see the module's docstring)."""

    def __init__(self, kind: str = "html"):
        assert kind in ("html", "404", "close"), kind
        self.kind = kind
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                server.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if server.kind == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, body = (200, PAGE) if server.kind == "html" else (404, NOT_FOUND)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
