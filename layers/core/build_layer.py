"""Builds the core layer for Lambda: what the functions import, precompiled, for one architecture.

`sam build` runs it through layers/core/Makefile (BuildMethod: makefile) in a copy of this
folder, with Python 3.12, the runtime's version:

    python3.12 build_layer.py ARTIFACTS_DIR [--arch arm64|x86_64]

The layer is ARTIFACTS_DIR/python: requirements.txt installed from wheels built for Lambda's
platform (never the build machine's), the profilepics package, and a .pyc beside every module.
Lambda mounts a layer read-only at /opt, so without them every cold start compiles each module
it imports and can't keep the result. The .pyc files use unchecked hashes (PEP 552): a zip
doesn't keep source mtimes exactly, and a timestamp .pyc that no longer matches is ignored.
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

RUNTIME = (3, 12)
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's names -> the wheels' names
# Lambda's python3.12 runtime is Amazon Linux 2023: glibc 2.34. pip doesn't widen an explicit
# manylinux_2_34 tag to the older ones, and given manylinux2014 alone it picks old releases
# (Pillow 12 where 13 has only manylinux_2_28 wheels): every tag the runtime runs is listed.
GLIBC_MINOR = 34
HERE = Path(__file__).resolve().parent
LAYER_ROOT = "/opt/python"  # where Lambda mounts the layer's python/: tracebacks name it

# The service models botocore loads: the table adapter's (dynamodb), the runtime secret's
# (secretsmanager), and sts for the SDK's own credential chain. Each other service's model is
# dead weight (23 MB of 94 MB before this pruning).
BOTOCORE_SERVICES = frozenset({"dynamodb", "secretsmanager", "sts"})
# Console scripts with the build machine's interpreter in their shebang: nothing runs them.
DROPPED_DIRS = ("bin",)


def platform_tags(arch: str) -> list[str]:
    """The wheel platform tags Lambda's python3.12 runs on arch, most specific first."""
    machine = MACHINES[arch]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def pip_install(target: Path, arch: str, *requirements: str) -> None:
    """pip-install requirements (pip's arguments) as wheels for Lambda's platform and Python."""
    platforms = [arg for tag in platform_tags(arch) for arg in ("--platform", tag)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *platforms,
            "--implementation",
            "cp",
            "--python-version",
            "".join(map(str, RUNTIME)),
            "--only-binary=:all:",
            *requirements,
        ],
        check=True,
    )


def prune_botocore(site: Path, keep: Iterable[str] = BOTOCORE_SERVICES) -> list[str]:
    """Remove the service models no function uses; returns the services removed."""
    data = site / "botocore" / "data"
    if not data.is_dir():
        return []
    wanted = set(keep)
    removed = sorted(p.name for p in data.iterdir() if p.is_dir() and p.name not in wanted)
    for name in removed:
        shutil.rmtree(data / name)
    missing = wanted - {p.name for p in data.iterdir() if p.is_dir()}
    if missing:
        raise SystemExit(f"botocore has no model for {', '.join(sorted(missing))}")
    return removed


def drop_unused(site: Path) -> None:
    for name in DROPPED_DIRS:
        shutil.rmtree(site / name, ignore_errors=True)
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache)


def copy_package(source: Path, site: Path) -> None:
    """The profilepics package itself, without any local run's bytecode."""
    shutil.copytree(
        source, site / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def precompile(site: Path) -> None:
    """A .pyc beside every module, trusted without a look at the source (see the docstring)."""
    ok = compileall.compile_dir(
        site,
        quiet=1,
        workers=0,
        stripdir=str(site),
        prependdir=LAYER_ROOT,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit("some modules of the layer do not compile")


def size_of(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def build(artifacts: Path, arch: str, source: Path = HERE) -> Path:
    if sys.version_info[:2] != RUNTIME:
        raise SystemExit(
            f"build the layer with Python {RUNTIME[0]}.{RUNTIME[1]} (Lambda's python3.12 "
            f"runtime); this is {sys.version.split()[0]}"
        )
    site = artifacts / "python"
    if site.exists():
        shutil.rmtree(site)
    pip_install(site, arch, "--requirement", str(source / "requirements.txt"))
    prune_botocore(site)
    drop_unused(site)
    copy_package(source / "profilepics", site)
    precompile(site)
    return site


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("artifacts", type=Path, help="the layer's root (sam's ARTIFACTS_DIR)")
    parser.add_argument("--arch", choices=sorted(MACHINES), default="arm64")
    args = parser.parse_args(argv)
    site = build(args.artifacts.resolve(), args.arch)
    files, total = size_of(site)
    sys.stderr.write(f"layer {args.arch}: {files} files, {total / 1e6:.1f} MB in {site}\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
