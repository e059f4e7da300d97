"""`profilepics demo` against the running local stack: its printed URL really opens."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.stackrun import RunningStack
from tests.unit import imagegen as gen

UPLOADED = re.compile(r"^File '(?P<name>[^']+)' successfully uploaded as (?P<key>\S+)$", re.M)
PRESIGNED = re.compile(r"^Generated presigned URL: (?P<url>\S+)$", re.M)


def demo(stack: RunningStack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "demo", *args],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_demo_uploads_a_sample_and_prints_a_working_signed_url(stack: RunningStack) -> None:
    user_id = f"demo-{time.time_ns():x}"

    out = demo(stack, "--user-id", user_id)

    assert f"Bucket '{stack.bucket}' already exists" in out
    assert f"User '{user_id}' created" in out
    uploaded = UPLOADED.search(out)
    assert uploaded is not None, out
    assert uploaded["name"] == "sample.jpg"
    assert re.fullmatch(rf"originals/{user_id}/[0-9a-f]{{32}}\.jpg", uploaded["key"])
    assert stack.keys(f"originals/{user_id}/") == [uploaded["key"]]

    printed = PRESIGNED.search(out)
    assert printed is not None, out
    url = printed["url"]
    assert f"/{stack.bucket}/{uploaded['key']}?" in url
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=" in url
    image = requests.get(url, timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert gen.decode(image.content).size == (640, 480)
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403

    profile = requests.get(f"{stack.api}/users/{user_id}", timeout=10).json()
    assert profile["profile_picture_url"].split("?")[0] == url.split("?")[0]


def test_demo_again_reuses_the_user_and_replaces_the_picture(
    stack: RunningStack, tmp_path: Path
) -> None:
    user_id = f"demo-{time.time_ns():x}"
    first = UPLOADED.search(demo(stack, "--user-id", user_id))
    assert first is not None
    own = tmp_path / "portrait.png"
    own.write_bytes(gen.encode(gen.marked(30, 20), "PNG"))

    out = demo(stack, "--user-id", user_id, "--file", str(own))

    assert f"User '{user_id}' already exists" in out
    second = UPLOADED.search(out)
    printed = PRESIGNED.search(out)
    assert second is not None and printed is not None, out
    assert second["name"] == "portrait.png"
    assert second["key"].endswith(".png") and second["key"] != first["key"]
    assert stack.keys(f"originals/{user_id}/") == [second["key"]]
    image = requests.get(printed["url"], timeout=10)
    assert image.status_code == 200
    assert gen.decode(image.content).size == (30, 20)


def test_demo_with_an_invalid_file_fails_cleanly(stack: RunningStack, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.jpg"
    bogus.write_bytes(b"not a picture")
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "demo", "--user-id", "demo-bad", "--file", str(bogus)],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "unsupported_media_type" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert stack.keys("originals/demo-bad/") == []
