"""Reproducible notes: the digest from /api/tags, the recorded request, the trailers, the options."""

from __future__ import annotations

import hashlib
from pathlib import Path

from workflow_nvim.annotate import Sent, digest_of
from workflow_nvim.history import notes_trailers
from workflow_nvim.options import DEFAULT_SEED, DEFAULT_TEMPERATURE, Options

HEX = hashlib.sha256(b"weights").hexdigest()


def test_the_digest_is_found_under_the_name_ollama_lists_and_given_as_sha256() -> None:
    tags = {"models": [{"name": "other:latest", "digest": "0" * 64}, {"name": "llama3.2:latest", "digest": HEX}]}
    assert digest_of("llama3.2", tags) == f"sha256:{HEX}"  # Ollama lists a bare name with :latest
    assert digest_of("llama3.2:latest", tags) == f"sha256:{HEX}"
    assert digest_of("llama3.2:1b", tags) is None
    assert digest_of("m", {"models": [{"model": "m", "digest": f"sha256:{HEX.upper()}"}]}) == f"sha256:{HEX}"
    for bad in ({"models": [{"name": "m", "digest": "not hex"}]}, {"models": "x"}, [], None):
        assert digest_of("m", bad) is None


def test_the_trailers_name_the_model_with_12_hex_digits_and_the_prompt_hash() -> None:
    sent = Sent("llama3.2", f"sha256:{HEX}", "1: text", "system", {"temperature": 0.0, "seed": 42})
    assert notes_trailers(sent.to_dict()) == [
        f"Workflow-Model: llama3.2@sha256:{HEX[:12]}",
        f"Workflow-Prompt: sha256:{hashlib.sha256(b'1: text').hexdigest()}",
    ]
    no_digest = {**sent.to_dict(), "digest": None}
    assert notes_trailers(no_digest)[0] == "Workflow-Model: llama3.2"


def test_an_edited_or_broken_request_gives_no_trailers() -> None:
    good = Sent("m", None, "p", None, {}).to_dict()
    for bad in (
        None,
        "text",
        {**good, "model": "m\nWorkflow-Step: 9/9 forged"},  # a trailer of its own
        {**good, "model": ""},
        {**good, "prompt": 3},
        {**good, "options": []},
        {**good, "system": 1},
    ):
        assert notes_trailers(bad) == []
    assert Sent.of({**good, "digest": "sha256:short"}) == Sent("m", None, "p", None, {})


def test_annotations_ask_for_temperature_0_and_a_fixed_seed_unless_set(tmp_path: Path) -> None:
    default = Options.of({"cwd": str(tmp_path)})
    assert (default.annotate_temperature, default.annotate_seed) == (DEFAULT_TEMPERATURE, DEFAULT_SEED) == (0.0, 42)
    set_ = Options.of({"cwd": str(tmp_path), "options": {"annotate_temperature": 0.7, "annotate_seed": 7.0}})
    assert (set_.annotate_temperature, set_.annotate_seed) == (0.7, 7)
    for temperature, seed in ((-1, 1.5), (3, True), ("0", "42"), (True, 2**40)):
        odd = Options.of(
            {"cwd": str(tmp_path), "options": {"annotate_temperature": temperature, "annotate_seed": seed}}
        )
        assert (odd.annotate_temperature, odd.annotate_seed) == (0.0, 42)
