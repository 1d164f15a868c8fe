"""Where the person's text goes when a model annotates it, and on whose word.

Text is sent to another machine only with the person's own consent, given in
their own configuration, never by a workflow file (a workflow's ``model:``
chooses a model, nothing more):

- The Ollama host is this machine: a loopback address (127.0.0.0/8, ::1),
  the name ``localhost`` itself, or the unspecified address (0.0.0.0, ::),
  which a client's connection reaches on this machine. Any other name is
  another machine, whatever DNS or /etc/hosts would say of it today.
- Another host is allowed when it came from $OLLAMA_HOST (setting it is
  consent to that host) or when g:workflow.allow_remote is true.
- A model that runs elsewhere (an Ollama cloud model: a name ending in
  ``-cloud`` or ``:cloud``, or one that Ollama's /api/show or /api/tags
  describes with a ``remote_host``) needs g:workflow.allow_remote,
  whatever the host.

Only http:// and https:// hosts are spoken to (Ollama listens on TCP; a unix
socket is not a place Ollama serves from).

Standard library only: :checkhealth asks it (doctor.py) with any Python,
before the dependencies are installed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_HOST = "http://127.0.0.1:11434"
ALLOW_OPTION = "g:workflow.allow_remote"  # the help tag, and how Vim script names the option

# Where the host came from, as the person would name it.
FROM_OPTION = "g:workflow.ollama_host"
FROM_ENVIRONMENT = "$OLLAMA_HOST"
FROM_DEFAULT = "the default"

OLLAMA_CLOUD = "ollama.com"  # where Ollama's cloud models run (its OLLAMA_REMOTES default)
_HOST_NAME_RE = re.compile(r"[A-Za-z0-9._:-]{1,253}\Z")  # what a server's remote_host may show in a message


def normalize(host: str) -> str:
    """``host`` as a URL: a bare ``host:port`` gets http://, a trailing slash goes."""
    host = host.strip()
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


def scheme(url: str) -> str:
    """The scheme of ``url``, lowered ("" when it cannot be parsed)."""
    try:
        return urllib.parse.urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def hostname(url: str) -> str:
    """The host part of ``url``, as the HTTP client will connect to it ("" when there is none)."""
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return url


def is_loopback(url: str) -> bool:
    """True when a connection to ``url`` cannot leave this machine.

    Only literal addresses count, and the name ``localhost``: any other name is
    resolved by DNS or a hosts file that can change, so it is another machine.
    """
    name = hostname(url)
    if name == "":
        return True  # Ollama's client connects to 127.0.0.1 when a URL names no host (":11434")
    if name == "localhost":  # urlsplit lowers the case
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Connecting to the unspecified address reaches this machine (Linux, macOS, BSD).
    return address.is_loopback or address.is_unspecified


@dataclass(frozen=True)
class Destination:
    """The Ollama server annotation text is sent to, where that setting came from, and the consent."""

    url: str
    source: str  # FROM_OPTION, FROM_ENVIRONMENT or FROM_DEFAULT
    allow_remote: bool  # the person's g:workflow.allow_remote
    environment: str = ""  # $OLLAMA_HOST as a URL, "" when unset

    @property
    def host(self) -> str:
        """The machine, for messages."""
        return hostname(self.url) or "127.0.0.1"

    @property
    def local(self) -> bool:
        return is_loopback(self.url)

    @property
    def allowed_by(self) -> str:
        """Who allowed text to go to another machine ("" when nobody did, or it stays here)."""
        if self.local:
            return ""
        if self.environment and self.url == self.environment:
            return FROM_ENVIRONMENT
        return ALLOW_OPTION if self.allow_remote else ""

    def unusable(self) -> str | None:
        """Why this is no Ollama server to speak to at all, or None."""
        if scheme(self.url) not in ("http", "https"):
            return f"{self.source} must be an http:// or https:// URL (Ollama listens on TCP), not {self.url}"
        return None

    def refusal(self) -> str | None:
        """Why no text may be sent to this host (one line saying how to allow it), or None."""
        unusable = self.unusable()
        if unusable:
            return unusable
        if self.local or self.allowed_by:
            return None
        return f"not sent: {self.host} is remote (set {ALLOW_OPTION})"

    def describe(self) -> str:
        """Where text goes, for :checkhealth and the annotate info line."""
        if self.local:
            return f"{self.url} (this machine)"
        if self.allowed_by:
            return f"{self.url} (another machine, allowed by {self.allowed_by})"
        return f"{self.url} (another machine, not allowed)"


def destination(
    configured: str | None, allow_remote: bool = False, environ: Mapping[str, str] | None = None
) -> Destination:
    """Where annotation text goes: the option, else $OLLAMA_HOST, else this machine's default."""
    env = (os.environ if environ is None else environ).get("OLLAMA_HOST", "").strip()
    environment = normalize(env) if env else ""
    if configured and configured.strip():
        return Destination(normalize(configured), FROM_OPTION, allow_remote, environment)
    if environment:
        return Destination(environment, FROM_ENVIRONMENT, allow_remote, environment)
    return Destination(DEFAULT_HOST, FROM_DEFAULT, allow_remote, environment)


def cloud_name(model: str) -> bool:
    """True for the names of Ollama's cloud models: ``gpt-oss:120b-cloud``, ``kimi-k2:cloud``."""
    return model.strip().lower().endswith(("-cloud", ":cloud"))


def remote_host(info: Any) -> str:
    """The ``remote_host`` an /api/show answer or an /api/tags entry gives a model, or ""."""
    if not isinstance(info, dict):
        return ""
    host = info.get("remote_host")
    if isinstance(host, str) and host.strip():
        return host.strip()
    model = info.get("remote_model")
    return "another host" if isinstance(model, str) and model.strip() else ""


def runs_on(model: str, remote: str = "") -> str:
    """Where ``model`` runs when that is not the Ollama server itself ("" when it runs there).

    ``remote`` is the ``remote_host`` the server gave for it, if any.
    """
    if remote:
        name = hostname(remote) or remote
        return name if _HOST_NAME_RE.match(name) else "another host"  # never raw server text in a message
    return OLLAMA_CLOUD if cloud_name(model) else ""


def model_refusal(model: str, remote: str, allow_remote: bool) -> str | None:
    """Why no text may be sent to ``model`` (one line saying how to allow it), or None."""
    elsewhere = runs_on(model, remote)
    if not elsewhere or allow_remote:
        return None
    return f"not sent: {model} runs on {elsewhere} (set {ALLOW_OPTION})"


INSTALL_URL = "https://ollama.com/download"


class ServerTrouble(Exception):
    """The Ollama server could not be asked; the message is the one line to show (see ``trouble``)."""


def trouble(
    url: str, kind: str, status: int = 0, content_type: str = "", path: str = "", source: str = FROM_OPTION
) -> str:
    """The one line that says why the server at ``url`` gave no answer, and what to do.

    Every place that talks to the server (annotating, listing the models, :checkhealth) turns its
    failure into facts and asks here, so the person reads the same words whichever met it first.
    ``kind``: "refused" (nothing listens there), "unreachable" (no route, no such name, no answer
    to the connection), "timeout" (connected, then silence), "closed" (hung up without an answer),
    "http" (an answer that is not Ollama's: ``status`` and ``content_type`` say what it was, ``path``
    what was asked). ``source`` is where the host came from, the setting to check.
    """
    setting = "$OLLAMA_HOST" if source == FROM_ENVIRONMENT else "ollama_host"
    if kind == "refused":
        return f"nothing is listening at {url}: start Ollama (`ollama serve`), or install it from {INSTALL_URL}"
    if kind == "unreachable":
        return f"Ollama is not reachable at {url}: check {setting}, start Ollama, or install it from {INSTALL_URL}"
    if kind == "timeout":
        return f"{url} did not answer in time: is it Ollama? check {setting}"
    if kind == "closed":
        return f"{url} closed the connection without answering: is it Ollama? check {setting}"
    if status == 404:
        return f"{url} is not an Ollama server ({path or 'the path'} was not found): check {setting}"
    if content_type.split(";")[0].strip().lower() == "text/html":
        return f"{url} is not an Ollama server (it answered HTTP {status} with an HTML page): check {setting}"
    return f"{url} is not an Ollama server (HTTP {status}, not Ollama's JSON): check {setting}"


def ollama_error(body: bytes) -> str | None:
    """The ``error`` of an Ollama error answer ({"error": "..."}), or None when ``body`` is not one."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    error = obj.get("error") if isinstance(obj, dict) else None
    return error if isinstance(error, str) else None


def get_json(where: Destination, path: str, timeout: float = 2.0) -> dict[str, Any]:
    """GET ``path`` of the server as a JSON object; ServerTrouble with the line to show when that fails.

    Standard library only, so that :checkhealth can ask with any Python.
    """
    import http.client
    import socket
    import urllib.error
    import urllib.request

    url = where.url
    # A proxy from the environment is for other machines: this machine is asked directly.
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if where.local else []))
    try:
        with opener.open(url + path, timeout=timeout) as r:
            status, content_type = r.status, r.headers.get("Content-Type", "")
            body = r.read(MAX_JSON_BYTES)
    except urllib.error.HTTPError as e:  # before URLError: it is one
        raise ServerTrouble(
            trouble(url, "http", e.code, e.headers.get("Content-Type", ""), path, where.source)
        ) from None
    except urllib.error.URLError as e:
        why = e.reason
        if isinstance(why, ConnectionRefusedError):
            raise ServerTrouble(trouble(url, "refused", source=where.source)) from None
        if isinstance(why, (ConnectionResetError, http.client.RemoteDisconnected)):
            raise ServerTrouble(trouble(url, "closed", source=where.source)) from None
        raise ServerTrouble(trouble(url, "unreachable", source=where.source)) from None
    except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError):
        raise ServerTrouble(trouble(url, "closed", source=where.source)) from None
    except (socket.timeout, TimeoutError):
        raise ServerTrouble(trouble(url, "timeout", source=where.source)) from None
    except (OSError, http.client.HTTPException):
        raise ServerTrouble(trouble(url, "unreachable", source=where.source)) from None
    try:
        obj = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise ServerTrouble(trouble(url, "http", status, content_type, path, where.source))
    return obj


MAX_JSON_BYTES = 8 << 20  # an answer of /api/version or /api/tags; more is no Ollama's


def report(configured: str | None, allow_remote: bool, model: str) -> dict[str, Any]:
    """What :checkhealth says of where text goes: the host, and what the server says of its models."""
    where = destination(configured, allow_remote)
    out: dict[str, Any] = {
        "url": where.url,
        "source": where.source,
        "local": where.local,
        "allowed_by": where.allowed_by,
        "unusable": where.unusable(),
        "describe": where.describe(),
        "model_runs_on": runs_on(model),
    }
    if where.unusable():
        return out
    try:
        out["version"] = get_json(where, "/api/version").get("version")
        entries = [m for m in get_json(where, "/api/tags").get("models") or [] if isinstance(m, dict)]
    except ServerTrouble as e:
        out["error"] = str(e)
        return out
    out["models"] = [m.get("model") or m.get("name") for m in entries]
    out["remote"] = {
        str(m.get("model") or m.get("name")): runs_on("", remote_host(m)) for m in entries if remote_host(m)
    }
    return out
