"""Generates the core layer's requirements.txt from pyproject.toml, the one source of dependencies.

`sam build` installs layers/core/requirements.txt into the layer; only the runtime
dependencies belong there, never the dev or bench extras.

    python -m infra.requirements          # write the file
    python -m infra.requirements --check  # exit 1 if it has drifted
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
LAYER_REQUIREMENTS = REPO_ROOT / "layers" / "core" / "requirements.txt"
HEADER = "# generated from pyproject.toml by `python -m infra.requirements`; do not edit"


def runtime_dependencies(pyproject: Path) -> list[str]:
    """The [project].dependencies of pyproject, in their declared order."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    dependencies = project.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ValueError(f"{pyproject}: [project].dependencies must be a list of strings")
    return [d.strip() for d in dependencies]


def render(pyproject: Path) -> str:
    """The requirements.txt text for pyproject's runtime dependencies."""
    return "\n".join([HEADER, *runtime_dependencies(pyproject)]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.requirements", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT)
    parser.add_argument("--output", type=Path, default=LAYER_REQUIREMENTS)
    args = parser.parse_args(argv)

    wanted = render(args.pyproject)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != wanted:
            sys.stderr.write(f"{args.output} is out of date: run `python -m infra.requirements`\n")
            return 1
        return 0
    if current != wanted:
        args.output.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
