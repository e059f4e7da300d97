"""Finds a Python of Lambda's runtime version (3.12), which `sam build` needs on PATH.

sam builds python3.12 functions with the python3.12 it finds on PATH, and the layer is
compiled by it. A machine may have one without it being on PATH (pyenv keeps versions under
~/.pyenv/versions), or a pyenv shim on PATH that refuses to run it: each candidate is run, not
just found.

    python -m infra.runtime_python   # its path, or a failure saying what to install
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

VERSION = (3, 12)
NAME = f"python{VERSION[0]}.{VERSION[1]}"


def candidates(environ: dict[str, str] | None = None) -> Iterator[Path]:
    env = os.environ if environ is None else environ
    if given := env.get("PYTHON312"):
        yield Path(given)
    if found := shutil.which(NAME, path=env.get("PATH")):
        yield Path(found)
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    yield from sorted((pyenv_root / "versions").glob(f"{VERSION[0]}.{VERSION[1]}*/bin/{NAME}"))
    for prefix in ("/usr/local/bin", "/usr/bin", "/opt/python/bin"):
        yield Path(prefix) / NAME


def runs(path: Path) -> bool:
    """Whether path is an interpreter of VERSION that actually starts."""
    try:
        done = subprocess.run(
            [str(path), "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == "True"


def find(environ: dict[str, str] | None = None) -> Path:
    """The first runnable Python 3.12; SystemExit naming what to install when there is none."""
    for path in candidates(environ):
        if path.is_file() and runs(path):
            return path
    raise SystemExit(
        f"no runnable {NAME} found (looked at $PYTHON312, PATH, ~/.pyenv/versions/3.12*, "
        f"/usr/local/bin, /usr/bin): `sam build` needs Lambda's Python version; install it, "
        f"e.g. `pyenv install 3.12`, or set PYTHON312=/path/to/{NAME}"
    )


def main() -> int:
    sys.stdout.write(f"{find()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
