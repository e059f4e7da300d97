"""The README's shell examples, run as printed (with the test stack's address) in bash."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.stackrun import RunningStack, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_try_it_and_the_direct_upload_example_work_as_printed(
    stack: RunningStack, tmp_path: Path
) -> None:
    try_it = next(b for b in shell_blocks() if b.startswith("TOKEN=$(.venv/bin/profilepics token"))
    direct = next(b for b in shell_blocks() if "picture/uploads" in b)
    host = stack.api.split("://", 1)[1]
    script = "set -euo pipefail\n" + "\n".join(
        block.replace("localhost:3000", host) for block in (try_it, direct)
    )
    # Run where the files it writes (photo.jpg, ada.jpg, policy.json) are the test's own.
    (tmp_path / ".venv").symlink_to(REPO / ".venv")

    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("204\n") == 2, done.stdout  # the DELETE, then the store's answer
    assert '"email":"ada@example.com"' in done.stdout  # GET /me
    assert "Traceback" not in done.stderr

    def published() -> bool:
        profile = requests.get(f"{stack.api}/users/ada", timeout=10).json()
        return bool((profile["upload"] or {}).get("state") == "done" and profile["picture"])

    wait_for(published, "the direct upload published")
