"""pyproject.toml's build requirements are the ones it needs: the wheel builds with their floor.

The app image (Dockerfile) runs `pip install --no-deps .`, which builds with whatever
[build-system] allows; a floor too old to read this pyproject.toml breaks that build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from infra.local import REPO_ROOT

FLOOR = re.compile(r"^setuptools>=(?P<version>[0-9.]+)$")
SOURCES = ("pyproject.toml", "README.md", "layers/core", "infra")
BUILD_WHEEL = (
    "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
)


def build_requirements() -> list[str]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        requires: list[str] = tomllib.load(pyproject)["build-system"]["requires"]
    return requires


def _installer() -> list[str]:
    """The venv's own installer: uv in the Makefile's venv (made without pip), else pip."""
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        return [str(uv), "pip", "install", "-q", "--python", sys.executable]
    return [sys.executable, "-m", "pip", "install", "-q"]


def test_the_wheel_builds_with_the_oldest_setuptools_pyproject_allows(tmp_path: Path) -> None:
    (requirement,) = build_requirements()
    floor = FLOOR.match(requirement)
    assert floor, f"one setuptools floor expected, got {requirement!r}"
    backend = tmp_path / "backend"
    subprocess.run(
        [*_installer(), "--target", str(backend), f"setuptools=={floor['version']}"],
        check=True, timeout=180,
    )  # fmt: skip
    source = tmp_path / "source"
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(
                REPO_ROOT / name,
                source / name,
                ignore=shutil.ignore_patterns("node_modules", "__pycache__", "*.egg-info"),
            )
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)

    built = subprocess.run(
        [sys.executable, "-c", BUILD_WHEEL, str(tmp_path / "dist")],
        cwd=source,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(backend)},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip

    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "profilepics/config.py" in names
    assert "infra/cli.py" in names
    assert "License-Expression: Apache-2.0" in metadata
