"""No bucket event is lost, on the real stack: kill -9 everything right after a 201 or a direct
upload's 204 and start again; an event that keeps failing is kept on disk across a crash, ends
in the dead letters, and `profilepics events --redrive` delivers it once its cause is fixed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from profilepics import keys
from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.models import Picture, PictureStatus

from infra.local import REPO_ROOT
from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import assert_invariants, settle
from tests.stackrun import RunningStack, bearer, start_stack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[RunningStack]]:
    """Stacks started one after another on one data dir; the last is stopped at the end."""
    started: list[RunningStack] = []
    try:
        yield started
    finally:
        if started:
            started[-1].stop()


def picture_of(api: str, user_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = requests.get(f"{api}/users/{user_id}", timeout=10).json()
    return found


def ready(api: str, user_id: str) -> dict[str, Any] | None:
    profile = picture_of(api, user_id) or {}
    picture = profile.get("picture") or {}
    return picture if picture.get("status") == "ready" else None


def events_cli(stack: RunningStack, *args: str) -> Any:
    """`profilepics events` on the stack's data dir, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "events", *args],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def test_thumbnails_arrive_after_a_kill_9_right_after_the_201(
    stacks: list[RunningStack], tmp_path: Path
) -> None:
    stacks.append(start_stack(tmp_path / "data"))
    first = stacks[-1]
    user = new_user(first.api, "k")
    assert put_picture(first.api, user, jpeg(640, 480)).status_code == 201

    first.crash()
    stacks.append(start_stack(first.data_dir))
    again = stacks[-1]

    picture = wait_for(lambda: ready(again.api, user), "thumbnails after the restart", 30)
    variant = requests.get(picture["variants"]["128"], timeout=10)
    assert Image.open(io.BytesIO(variant.content)).size == (128, 128)
    settle(again, [user])
    assert_invariants(again)


def test_a_direct_upload_is_published_after_a_kill_9_right_after_its_204(
    stacks: list[RunningStack], tmp_path: Path
) -> None:
    stacks.append(start_stack(tmp_path / "data"))
    first = stacks[-1]
    user = new_user(first.api, "k")
    policy = requests.post(
        f"{first.api}/users/{user}/picture/uploads", headers=bearer(user), timeout=10
    ).json()
    form = {**policy["fields"], "Content-Type": "image/jpeg"}
    posted = requests.post(
        policy["url"], data=form, files={"file": ("p", jpeg(300, 200))}, timeout=30
    )
    assert posted.status_code == 204, posted.text

    first.crash()
    stacks.append(start_stack(first.data_dir))
    again = stacks[-1]

    picture = wait_for(lambda: ready(again.api, user), "the upload published", 30)
    assert (picture["width"], picture["height"]) == (300, 200)
    profile = picture_of(again.api, user) or {}
    assert profile["upload"]["state"] == "done"
    settle(again, [user])
    assert_invariants(again)


def test_a_failing_event_survives_a_crash_ends_dead_and_redrive_delivers_it(
    stacks: list[RunningStack], tmp_path: Path
) -> None:
    # A long pause before the second attempt, so the crash finds the event waiting for it.
    slow = {"PROFILEPICS_EVENT_ATTEMPTS": "3", "PROFILEPICS_EVENT_BACKOFF_SECONDS": "60"}
    stacks.append(start_stack(tmp_path / "data", slow))
    first = stacks[-1]
    user = new_user(first.api, "p")
    assert put_picture(first.api, user, jpeg()).status_code == 201
    wait_for(lambda: ready(first.api, user), "the first picture ready")
    # The poison: an original no profile points at, yet still in the bucket. Its thumbnails
    # run waits for a profile write that never comes and fails, every time.
    stray_id = uuid.uuid4().hex
    stray = keys.original(user, stray_id, "jpg")
    data = jpeg(64, 48, "navy")
    first.minio().put_object(first.bucket, stray, io.BytesIO(data), len(data), "image/jpeg")

    def failed_once() -> list[Any]:
        rows = events_cli(first, "--json")
        return [r for r in rows if r["key"] == stray and r["attempts"] == 1 and r["error"]]

    (waiting,) = wait_for(failed_once, "the first attempt failed", 30)
    assert (waiting["state"], waiting["function"]) == ("pending", "ThumbnailsFunction")

    first.crash()
    assert [r["key"] for r in events_cli(first, "--json")] == [stray]  # on disk, stack down

    fast = {"PROFILEPICS_EVENT_ATTEMPTS": "3", "PROFILEPICS_EVENT_BACKOFF_SECONDS": "0.1"}
    stacks.append(start_stack(first.data_dir, fast))
    again = stacks[-1]

    def dead() -> list[Any]:
        return [r for r in events_cli(again, "--json") if r["state"] == "dead"]

    (entry,) = wait_for(dead, "the event dead after its last attempt", 60)
    assert (entry["key"], entry["attempts"], entry["error"]) == (stray, 3, "Conflict")
    assert "1 dead" in events_cli(again)

    # The cause fixed: the profile now points at that original (the write that never came).
    table = DynamoDBTable(again.settings())
    profile = table.get(user)
    assert profile is not None
    late = Picture(
        id=stray_id,
        key=stray,
        format="jpeg",
        content_type="image/jpeg",
        width=64,
        height=48,
        bytes=len(data),
        uploaded_at=datetime.now(UTC),
    )
    table.set_picture(user, late, profile.version, datetime.now(UTC))
    assert "1 dead event(s) back in the queue" in events_cli(again, "--redrive")

    picture = wait_for(lambda: ready(again.api, user), "thumbnails of the redriven event", 30)
    assert picture["id"] == stray_id
    assert events_cli(again, "--json") == []
    settle(again, [user])
    assert_invariants(again)


def test_the_sweep_re_drives_a_picture_a_store_fault_left_failed(
    stack: RunningStack, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    assert put_picture(stack.api, user_id, jpeg(320, 240)).status_code == 201
    wait_for(lambda: ready(stack.api, user_id), "the picture ready")
    table = DynamoDBTable(stack.settings())
    profile = table.get(user_id)
    assert profile is not None and profile.picture is not None
    # What a thumbnails run that met a dead store records, once its retries are spent.
    failed = profile.picture.model_copy(
        update={
            "status": PictureStatus.FAILED,
            "error": "storage_unavailable",
            "variants": {},
            "uploaded_at": datetime.now(UTC) - timedelta(seconds=30),
        }
    )
    table.swap_picture(user_id, failed, failed.revision, datetime.now(UTC))

    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "sweep", "--local"],
        env={**stack.env, "PROFILEPICS_PROCESSING_DEADLINE_SECONDS": "10"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "stuck pictures re-driven:" in done.stdout
    picture = ready(stack.api, user_id)
    assert picture is not None and set(picture["variants"]) >= {"64", "128", "256", "512"}
