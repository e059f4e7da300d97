"""`profilepics token`: with PROFILEPICS_JWT_SECRET it signs with that and touches no data folder.

In a container (`docker-compose exec app profilepics token USER`) the app folder belongs to
root and the process does not, so making `.local/` there would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt

from infra.local import REPO_ROOT

SECRET = "compose-jwt-secret-0123456789abcdef0123456789"


def run_token(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "token", *args],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'layers' / 'core'}",
            **env,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def claims(token: str, secret: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(
        token, secret, algorithms=["HS256"], audience="profilepics", issuer="profilepics-local"
    )
    return decoded


def test_token_signs_with_the_configured_secret_and_makes_no_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    done = run_token(
        tmp_path, "ada", PROFILEPICS_JWT_SECRET=SECRET, PROFILEPICS_DATA_DIR=str(data_dir)
    )

    assert done.returncode == 0, done.stderr
    assert claims(done.stdout.strip(), SECRET)["sub"] == "ada"
    assert not data_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_admin_token_from_the_configured_secret_carries_the_admin_scope(
    tmp_path: Path,
) -> None:
    done = run_token(
        tmp_path,
        "ops",
        "--admin",
        PROFILEPICS_JWT_SECRET=SECRET,
        PROFILEPICS_DATA_DIR=str(tmp_path / "data"),
    )

    assert done.returncode == 0, done.stderr
    assert claims(done.stdout.strip(), SECRET)["scope"] == "profilepics/admin"
    assert not (tmp_path / "data").exists()


def test_without_a_configured_secret_the_data_folder_keeps_one_that_later_tokens_reuse(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"

    first = run_token(tmp_path, "ada", PROFILEPICS_DATA_DIR=str(data_dir))
    second = run_token(tmp_path, "grace", PROFILEPICS_DATA_DIR=str(data_dir))

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    secret = json.loads((data_dir / "secrets.json").read_text())["jwt_secret"]
    assert claims(first.stdout.strip(), secret)["sub"] == "ada"
    assert claims(second.stdout.strip(), secret)["sub"] == "grace"
