"""The code a figure is compared with, measured in the same run: a git ref's whole tree.

`make bench` compares issue 15's goals with BEFORE, main as it was just before issue 15 landed;
`python -m bench --before REF` picks another ref. The tree is `git archive`d into a temporary
directory, with this checkout's node packages linked in, so its own stack, functions and core
run beside this one's, on the same interpreter and packages.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# main just before issue 15 (this branch's last merge of it): the HTTP edge on h11 included.
BEFORE = "b7d2862"
_OURS = ("bench", "tests")
_LINKED = ("infra/dynalite/node_modules", "infra/web/node_modules")


@contextmanager
def tree_at(ref: str) -> Iterator[Path]:
    """The checkout as it is at ref, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="profilepics-before-") as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # Its own bench and tests would shadow this checkout's, which drive it.
            members = [m for m in tar.getmembers() if m.name.split("/")[0] not in _OURS]
            tar.extractall(tmp, members, filter="data")
        for linked in _LINKED:
            if (ROOT / linked).exists() and not (Path(tmp) / linked).exists():
                os.symlink(ROOT / linked, Path(tmp) / linked)
        yield Path(tmp)


def python_path(tree: Path) -> str:
    """PYTHONPATH that imports tree's infra and core first, then this checkout's bench."""
    return os.pathsep.join([str(tree), str(tree / "layers" / "core"), str(ROOT)])
