"""Where annotation text may go: the rules, on their own (see test_privacy.py for them at work)."""

from __future__ import annotations

import pytest
from workflow_nvim.destination import (
    DEFAULT_HOST,
    FROM_DEFAULT,
    FROM_ENVIRONMENT,
    FROM_OPTION,
    cloud_name,
    destination,
    is_loopback,
    model_refusal,
    remote_host,
    runs_on,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434",
        "http://127.8.9.10:11434",  # all of 127.0.0.0/8
        "http://localhost:11434",
        "https://LOCALHOST",
        "http://[::1]:11434",
        "http://[0:0:0:0:0:0:0:1]:11434",
        "http://[::ffff:127.0.0.1]:11434",
        "http://0.0.0.0:11434",  # a client's connection to it reaches this machine
        "http://[::]:11434",
        "http://:11434",  # Ollama's client takes a missing host for 127.0.0.1
    ],
)
def test_this_machine(url):
    assert is_loopback(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:11434",
        "http://192.168.1.2",
        "https://ollama.com",
        "http://gpu-box:11434",
        "http://2130706433:11434",  # 127.0.0.1 to the resolver, but not literally
        "http://127.1:11434",
        "http://localhost.:11434",  # a name DNS answers for, not `localhost` itself
        "http://localhost.example.org:11434",
        "http://foo.localhost:11434",
        "http://ip6-localhost:11434",
        "http://127.0.0.1.nip.io:11434",
        "http://127.0.0.1@example.org:11434",  # the host is example.org, the rest is a user name
        "http://[fe80::1%25eth0]:11434",
        "http://[::1",  # unparsable: not this machine
    ],
)
def test_another_machine(url):
    assert not is_loopback(url)


def test_where_the_host_comes_from():
    assert destination(None, environ={}).url == DEFAULT_HOST
    assert destination(None, environ={}).source == FROM_DEFAULT
    assert destination(" ", environ={"OLLAMA_HOST": "10.0.0.5:11434"}).source == FROM_ENVIRONMENT
    assert destination(None, environ={"OLLAMA_HOST": "10.0.0.5:11434"}).url == "http://10.0.0.5:11434"
    assert destination("http://127.0.0.1:9/", environ={"OLLAMA_HOST": "10.0.0.5"}).source == FROM_OPTION
    assert destination("http://127.0.0.1:9/", environ={"OLLAMA_HOST": "10.0.0.5"}).url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("configured", "allow", "environ", "allowed_by", "refused"),
    [
        (None, False, {}, "", False),  # the default: this machine
        ("http://localhost:11434", False, {}, "", False),
        ("http://10.0.0.5:11434", False, {}, "", True),
        ("http://10.0.0.5:11434", True, {}, "g:workflow.allow_remote", False),
        (None, False, {"OLLAMA_HOST": "10.0.0.5:11434"}, "$OLLAMA_HOST", False),  # setting it is consent
        ("10.0.0.5:11434", False, {"OLLAMA_HOST": "http://10.0.0.5:11434/"}, "$OLLAMA_HOST", False),
        ("http://10.0.0.6:11434", False, {"OLLAMA_HOST": "10.0.0.5:11434"}, "", True),  # consent to that host only
    ],
)
def test_who_allows_another_machine(configured, allow, environ, allowed_by, refused):
    where = destination(configured, allow, environ)
    assert where.allowed_by == allowed_by
    assert (where.refusal() is not None) == refused


def test_the_refusal_says_where_and_how_to_allow():
    where = destination("http://10.0.0.5:11434", environ={})
    assert where.refusal() == "not sent: 10.0.0.5 is remote (set g:workflow.allow_remote)"
    assert len("[workflow] " + str(where.refusal())) <= 80


@pytest.mark.parametrize("url", ["unix:///run/ollama.sock", "http+unix://%2Frun%2Follama.sock", "ftp://127.0.0.1"])
def test_only_http_is_spoken(url):
    where = destination(url, True, {})
    assert where.unusable() == where.refusal()
    assert where.refusal() == (
        f"g:workflow.ollama_host must be an http:// or https:// URL (Ollama listens on TCP), not {url}"
    )


@pytest.mark.parametrize(
    ("model", "cloud"),
    [
        ("gpt-oss:120b-cloud", True),
        ("kimi-k2:1t-CLOUD", True),
        ("deepseek-v3.1:cloud", True),
        ("qwen3-coder:480b-cloud ", True),
        ("llama3.2", False),
        ("cloudy:7b", False),
        ("mycloud", False),
    ],
)
def test_cloud_model_names(model, cloud):
    assert cloud_name(model) is cloud
    assert runs_on(model) == ("ollama.com" if cloud else "")


def test_what_the_server_says_of_a_model_that_runs_elsewhere():
    # As /api/show and /api/tags describe a model made FROM a cloud model (Ollama's api/types.go).
    shown = {"model_info": {}, "remote_model": "gpt-oss:120b", "remote_host": "https://ollama.com:443"}
    assert remote_host(shown) == "https://ollama.com:443"
    assert runs_on("reviewer", remote_host(shown)) == "ollama.com"
    assert remote_host({"remote_model": "x"}) == "another host"
    assert runs_on("x", remote_host({"remote_host": "<b>Evil</b> text"})) == "another host"
    assert remote_host({"model_info": {}}) == remote_host(None) == remote_host({"remote_host": 3}) == ""


def test_a_model_that_runs_elsewhere_needs_allow_remote():
    assert model_refusal("llama3.2", "", False) is None
    assert model_refusal("gpt-oss:120b-cloud", "", True) is None
    assert model_refusal("gpt-oss:120b-cloud", "", False) == (
        "not sent: gpt-oss:120b-cloud runs on ollama.com (set g:workflow.allow_remote)"
    )
    assert model_refusal("reviewer", "https://gpu.example.org:443", False) == (
        "not sent: reviewer runs on gpu.example.org (set g:workflow.allow_remote)"
    )
