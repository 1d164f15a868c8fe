"""The cache of validated workflows (spec.load_workflow's ``cache``): a file validated before is not
validated again, and the cache never changes what a file validates to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_nvim import spec
from workflow_nvim.spec import WorkflowInvalid, load_workflow

from tests.unit.conftest import BLOG

BUNDLED = sorted((Path(__file__).resolve().parents[2] / "workflows").glob("*.yaml"))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json")) if cache.is_dir() else []


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_workflow_from_the_cache_is_the_one_validation_gives(path: Path, cache: Path) -> None:
    fresh = load_workflow(path)
    assert load_workflow(path, cache=cache) == fresh  # a miss: validated, then kept
    assert len(entries(cache)) == 1
    assert load_workflow(path, cache=cache) == fresh  # a hit


def test_a_hit_does_not_import_yaml(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    code = (
        "import sys; from pathlib import Path; from workflow_nvim.spec import load_workflow;"
        f"w = load_workflow(Path({str(path)!r}), cache=Path({str(cache)!r}));"
        "print(w.name, len(w.steps), sorted(m for m in sys.modules if m.split('.')[0] == 'yaml'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.split() == ["blog", str(len(load_workflow(path).steps)), "[]"]


def test_a_changed_file_is_validated_again(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    path.write_text(BLOG.replace("title:", "title: Changed", 1), encoding="utf-8")
    assert load_workflow(path, cache=cache) == load_workflow(path)
    assert load_workflow(path, cache=cache).title.startswith("Changed")
    path.write_text(BLOG + "\nbogus: 1\n", encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as cached:
        load_workflow(path, cache=cache)
    with pytest.raises(WorkflowInvalid) as fresh:
        load_workflow(path)
    assert [str(p) for p in cached.value.problems] == [str(p) for p in fresh.value.problems]
    assert len(entries(cache)) == 2  # the two versions that validated; the broken one is not kept


def test_the_same_bytes_under_another_name_are_validated_again(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    # BLOG says ``name: blog``: under another name the same bytes do not validate
    with pytest.raises(WorkflowInvalid, match="differs from the file name"):
        load_workflow(path, name="other", cache=cache)


def test_another_version_of_the_rules_does_not_use_the_entry(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    [entry] = entries(cache)
    entry.write_text(entry.read_text().replace('"title": "', '"title": "Stale '), encoding="utf-8")
    assert load_workflow(path, cache=cache).title.startswith("Stale")  # the entry is what is used...
    monkeypatch.setattr(spec, "CACHE_VERSION", spec.CACHE_VERSION + 1)
    assert load_workflow(path, cache=cache) == load_workflow(path)  # ...until the rules change
    assert len(entries(cache)) == 2


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"[]", b"null", b'{"version": 1}', b'{"version": 1, "name": 3, "steps": []}', b"\x00" * 100],
)
def test_a_corrupt_entry_is_ignored_and_written_again(tmp_path: Path, cache: Path, garbage: bytes) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    [entry] = entries(cache)
    good = entry.read_bytes()
    entry.write_bytes(garbage)
    assert load_workflow(path, cache=cache) == load_workflow(path)
    assert entry.read_bytes() == good


def test_an_entry_that_is_not_a_regular_file_or_too_large_is_ignored(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    load_workflow(path, cache=cache)
    [entry] = entries(cache)
    entry.unlink()
    os.mkfifo(entry)  # reading it would wait forever
    assert load_workflow(path, cache=cache) == load_workflow(path)
    entry.unlink()
    entry.write_bytes(b" " * (spec.MAX_CACHE_ENTRY + 1) + b"{}")
    assert load_workflow(path, cache=cache) == load_workflow(path)


def test_an_unwritable_cache_only_costs_the_validation(tmp_path: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(BLOG, encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert load_workflow(path, cache=blocker / "cache") == load_workflow(path)


def test_the_key_is_the_sha256_of_the_version_the_name_and_the_bytes() -> None:
    import hashlib

    data = BLOG.encode()
    expected = hashlib.sha256(f"workflow.nvim spec {spec.CACHE_VERSION}\0blog\0".encode() + data).hexdigest()
    assert spec._cache_key("blog", data) == f"{expected}.json"
