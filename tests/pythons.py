"""Pythons and wheels for the installer's tests.

``bare_python``: a python3 with the standard library only (none of the
dependencies, none of this machine's site-packages), as a person's system
Python may be; optionally without modules, as Debian's is without python3-venv.

``wheelhouse``: wheels of the dependencies, downloaded once into pytest's
cache directory. The tests hand them to pip through pip's own settings
(PIP_FIND_LINKS, PIP_NO_INDEX), so each new environment is made from files on
disk: the same pip, the same wheels, without waiting for the index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def wheelhouse(directory: Path) -> Path:
    """``directory`` holding a wheel of every dependency (and theirs) for this Python; skips without network."""
    from workflow_nvim.dependencies import requirements

    marker = directory / "requirements.txt"
    want = "\n".join([*requirements(), f"python {sys.version_info[0]}.{sys.version_info[1]}"]) + "\n"
    if marker.exists() and marker.read_text(encoding="utf-8") == want:
        return directory
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(directory)]
    result = subprocess.run(
        [*download, *requirements()],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot download the dependencies' wheels: {result.stderr.strip().splitlines()[-1:]}")
    marker.write_text(want, encoding="utf-8")
    return directory


def offline_pip(directory: Path) -> dict[str, str]:
    """The environment variables that make pip (and uv) install from ``directory`` alone."""
    return {"PIP_FIND_LINKS": str(directory), "PIP_NO_INDEX": "1", "UV_FIND_LINKS": str(directory), "UV_NO_INDEX": "1"}


def uv_binary(directory: Path) -> Path:
    """``directory``/bin/uv, taken from uv's wheel (downloaded once); skips without network."""
    import zipfile

    uv = directory / "bin" / "uv"
    if uv.exists():
        return uv
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps"]
    result = subprocess.run([*download, "--dest", str(directory), "uv"], capture_output=True, text=True, check=False)
    wheels = sorted(directory.glob("uv-*.whl"))
    if result.returncode != 0 or not wheels:
        pytest.skip(f"cannot download uv: {result.stderr.strip().splitlines()[-1:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        (member,) = [n for n in wheel.namelist() if n.endswith(".data/scripts/uv")]
        uv.parent.mkdir(parents=True, exist_ok=True)
        uv.write_bytes(wheel.read(member))
    uv.chmod(0o755)
    return uv


def site_packages_listing() -> list[str]:
    """What the base Python's own site-packages hold: the installer must never change it."""
    out = subprocess.run(
        [BASE_PYTHON, "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(os.listdir(out.stdout.strip()))


BASE_PYTHON = os.path.join(sys.base_prefix, "bin", "python3")


def bare_python(directory: Path, without: tuple[str, ...] = ()) -> Path:
    """``directory``/python3: this machine's Python with no site-packages, lacking the modules ``without``."""
    directory.mkdir(parents=True, exist_ok=True)
    hide = directory / "hidden-modules"
    hide.mkdir(exist_ok=True)
    for name in without:  # found first on the path, and failing as a missing module does
        (hide / f"{name}.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r}'!r}, name={name!r})\n", encoding="utf-8"
        )
    script = directory / "python3"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={hide}${{PYTHONPATH:+:$PYTHONPATH}} exec {BASE_PYTHON} -S "$@"\n')
    script.chmod(0o755)
    return script


@pytest.fixture(name="wheels", scope="session")
def wheels_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheelhouse, in pytest's cache directory when there is one."""
    cache = getattr(request.config, "cache", None)
    return wheelhouse(cache.mkdir("wheelhouse") if cache else tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(name="uv", scope="session")
def uv_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv's binary, in pytest's cache directory when there is one."""
    cache = getattr(request.config, "cache", None)
    return uv_binary(cache.mkdir("uv") if cache else tmp_path_factory.mktemp("uv"))
