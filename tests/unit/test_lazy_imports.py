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


@pytest.mark.parametrize("function", sorted(p.parent.name for p in REPO.glob("functions/*/app.py")))
def test_no_function_loads_pydantic_settings(function: str) -> None:
    """Reading a dozen variables is config.py's own work: pydantic-settings cost ~85 ms of CPU
    on every cold start (bench section 4)."""
    path = os.pathsep.join([str(REPO / "functions" / function), str(REPO / "layers" / "core")])
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "AWS_REGION": "us-east-1"}
    probe = "import sys\nimport app\nprint('pydantic_settings' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO / "functions" / function,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "False"
