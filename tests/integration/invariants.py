"""Helpers for fault tests: the real stack's store and table, the sweep, and the two invariants.

1. Every profile reference points at an existing object (no dangling reference).
2. After the sweep, no stored object is unreferenced (no orphan).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import requests
from PIL import Image
from profilepics.config import Settings
from profilepics.models import PictureStatus, Profile
from profilepics.profiles import DynamoProfiles
from profilepics.storage import MinioStore

from infra.local import REPO_ROOT
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack, bearer

PREFIXES = ("originals/", "thumbnails/", "uploads/")


def jpeg(colour: str = "teal", size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def new_user(api: str, prefix: str = "f") -> str:
    user_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
    body = {"user_id": user_id, "display_name": "Fault Tester", "email": f"{user_id}@example.com"}
    response = requests.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
    assert response.status_code == 201, response.text
    return user_id


def put_picture(api: str, user_id: str, data: bytes, timeout: float = 30) -> requests.Response:
    headers = {**bearer(user_id), "Content-Type": "image/jpeg"}
    url = f"{api}/users/{user_id}/picture"
    return requests.put(url, data=data, headers=headers, timeout=timeout)


def settings_for(stack: RunningStack) -> Settings:
    """The service's settings pointed at this stack, as its functions get them."""
    ca = stack.info.get("ca_bundle")
    return Settings(
        s3_endpoint=stack.info["s3_endpoint"],
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        s3_ca_bundle=Path(ca) if ca else None,
        dynamodb_endpoint=stack.info["dynamodb_endpoint"],
        dynamodb_access_key="local",
        dynamodb_secret_key="local",
        bucket=stack.bucket,
        table=stack.table,
        api_base_url=stack.api,
    )


def all_profiles(table: DynamoProfiles) -> Iterator[Profile]:
    cursor: str | None = None
    while True:
        page, cursor = table.scan(100, cursor)
        yield from page
        if cursor is None:
            return


def stored_keys(store: MinioStore) -> set[str]:
    return {key for prefix in PREFIXES for key in store.list_keys(prefix)}


def dangling_references(stack: RunningStack) -> list[str]:
    """Keys some profile refers to that the store does not have.

    Profiles first: objects are stored before a profile refers to them, so a listing taken
    after is complete for those references even while thumbnails are still being written
    (listing first raced with them: variants recorded between the two reads looked dangling).
    """
    settings = settings_for(stack)
    wanted = [
        key
        for profile in all_profiles(DynamoProfiles(settings))
        if profile.picture is not None
        for key in (profile.picture.key, *profile.picture.variants.values())
    ]
    stored = stored_keys(MinioStore(settings))
    return sorted(key for key in wanted if key not in stored)


def unreferenced_objects(stack: RunningStack) -> list[str]:
    """Stored keys that no profile's current picture refers to (its key, variants, folder)."""
    settings = settings_for(stack)
    keys: set[str] = set()
    folders: set[str] = set()
    for profile in all_profiles(DynamoProfiles(settings)):
        if profile.picture is not None:
            keys.update((profile.picture.key, *profile.picture.variants.values()))
            folders.add(f"thumbnails/{profile.user_id}/{profile.picture.id}/")
    stored = stored_keys(MinioStore(settings))
    return sorted(k for k in stored if k not in keys and k.rsplit("/", 1)[0] + "/" not in folders)


def sweep(stack: RunningStack, *args: str) -> str:
    """`profilepics sweep --local` against this stack, as an operator runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "sweep", "--local", *args],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_invariants(stack: RunningStack) -> str:
    """Both invariants, the second after a sweep with no grace; returns the sweep's output."""
    assert dangling_references(stack) == []
    report = sweep(stack, "--grace-seconds", "0")
    assert unreferenced_objects(stack) == []
    assert dangling_references(stack) == []
    return report


def settle(stack: RunningStack, user_ids: Iterable[str], timeout: float = 30) -> None:
    """Wait until event-driven work is done: no picture processing, the bucket unchanged 1 s."""
    settings = settings_for(stack)
    store, table = MinioStore(settings), DynamoProfiles(settings)
    users = list(user_ids)
    deadline = time.monotonic() + timeout
    seen: set[str] | None = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        keys = stored_keys(store)
        if keys != seen:
            seen, stable_since = keys, time.monotonic()
        busy = [
            u
            for u in users
            if (p := table.get(u)) and p.picture and p.picture.status is PictureStatus.PROCESSING
        ]
        if not busy and time.monotonic() - stable_since >= 1.0:
            return
        time.sleep(0.2)
    raise AssertionError(f"event-driven work did not settle in {timeout} s")


def signal_server(stack: RunningStack, server: str, sig: signal.Signals) -> None:
    """Signal one of the stack's servers (seaweedfs, dynalite), a process group of its own.

    SIGSTOP makes a hung server (connections accepted, never answered); SIGKILL a crashed one
    (connections refused).
    """
    os.killpg(int(stack.info["pids"][server]), sig)
