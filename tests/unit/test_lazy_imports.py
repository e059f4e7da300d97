"""Read-only functions start without Pillow or the SDKs: they load on first use, if ever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, sys\n"
    "import app\n"
    "print(json.dumps([m for m in ('PIL', 'boto3', 'minio') if m in sys.modules]))\n"
)


@pytest.mark.parametrize("function", ["get_url", "profiles"])
def test_importing_a_read_only_function_loads_neither_pillow_nor_the_sdks(function: str) -> None:
    path = os.pathsep.join([str(REPO / "functions" / function), str(REPO / "layers" / "core")])
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=REPO / "functions" / function,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
