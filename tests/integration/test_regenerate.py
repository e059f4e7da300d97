"""`profilepics regenerate` on a stack of its own, after a settings change: every picture
converges, a second run changes nothing, readers never see a broken URL meanwhile, and the old
objects go once the URLs handed out for them can no longer work."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from profilepics.config import TABLE_LAG_SECONDS

from infra.local import REPO_ROOT
from tests.api_client import accepted, create_user, profile, put_picture
from tests.integration.invariants import dangling_references, sweep, unreferenced_objects
from tests.integration.test_invoke_cli import invoke
from tests.integration.test_thumbnails import key_of, small_jpeg, wait_status
from tests.stackrun import OwnStack, RunningStack

pytestmark = pytest.mark.integration

# The change: sizes, formats and quality all differ from the defaults the stack ran with. A
# URL life of 2 s (window 1 s) and no read cache for this operator's runs, so the retired
# objects fall due soon (their URLs' reach: 2 s plus the table's lag allowance).
NEW = {
    "PROFILEPICS_READ_CACHE_SECONDS": "0",
    "PROFILEPICS_THUMBNAIL_SIZES": "64,200",
    "PROFILEPICS_THUMBNAIL_FORMATS": "webp,jpeg",
    "PROFILEPICS_WEBP_QUALITY": "70",
    "PROFILEPICS_URL_EXPIRY_SECONDS": "2",
    "PROFILEPICS_URL_WINDOW_SECONDS": "1",
}
NEW_KEYS = {"64.webp": "64.q70m4.webp", "200.webp": "200.q70m4.webp"}


def regenerate(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "regenerate", "--local", *args],
        env={**stack.env, **NEW},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def state(stack: RunningStack) -> tuple[Any, ...]:
    # The app's keys list only the service's prefixes; the whole bucket takes the admin's.
    objects = stack.admin_minio().list_objects(stack.bucket, recursive=True)
    items = stack.dynamodb().scan(TableName=stack.table, ConsistentRead=True)["Items"]
    return (
        sorted((o.object_name, o.etag, o.last_modified) for o in objects),
        sorted(items, key=lambda item: item["user_id"]["S"]),
    )


@pytest.fixture
def pictured(own_stack: OwnStack) -> tuple[RunningStack, list[dict[str, Any]]]:
    """Three users with ready pictures made under the default settings, one with a size
    made on request."""
    stack = own_stack.current
    pictures = []
    with requests.Session() as http:
        for shade in (0, 60, 120):
            user_id = create_user(stack.api, http=http)["user_id"]
            uploaded = accepted(put_picture(stack.api, user_id, small_jpeg(shade), http=http))
            wait_status(http, stack.api, user_id, uploaded["id"])
            pictures.append({"user_id": user_id, **uploaded})
        on_demand = http.get(
            f"{stack.api}/users/{pictures[0]['user_id']}/picture?size=100", timeout=30
        )
        assert on_demand.status_code == 200
    return stack, pictures


def test_regenerate_converges_is_idempotent_and_breaks_nothing_while_it_runs(
    pictured: tuple[RunningStack, list[dict[str, Any]]], tmp_path: Path
) -> None:
    stack, pictures = pictured
    old = {p["user_id"]: profile(stack.api, p["user_id"])["picture"] for p in pictures}
    before = state(stack)

    dry = regenerate(stack, "--dry-run")
    assert "pictures: 3; to regenerate (dry run, nothing written): 3" in dry.stdout
    assert state(stack) == before

    # Readers keep fetching what the API hands out while the run switches every picture.
    failures: list[str] = []
    reads: list[int] = []
    stop = threading.Event()

    def read() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                for p in pictures:
                    url = http.get(
                        f"{stack.api}/users/{p['user_id']}/picture?size=64", timeout=30
                    ).json()["url"]
                    got = http.get(url, timeout=30)
                    reads.append(got.status_code)
                    if got.status_code != 200:
                        failures.append(f"{got.status_code} for {key_of(url, stack.bucket)}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = regenerate(stack)
    finally:
        stop.set()
        reader.join()
    assert failures == [] and len(reads) >= 3
    assert "pictures: 3; regenerated: 3; up to date: 0" in done.stdout
    assert "3/3 pictures" in done.stderr  # the progress bar, on stderr
    assert dangling_references(stack) == []

    for p in pictures:
        user_id, picture_id = p["user_id"], p["id"]
        stored = stack.dynamodb().get_item(
            TableName=stack.table, Key={"user_id": {"S": user_id}}, ConsistentRead=True
        )["Item"]["picture"]["M"]
        variants = {k: v["S"] for k, v in stored["variants"]["M"].items()}
        prefix = f"thumbnails/{user_id}/{picture_id}/"
        assert variants == {
            **{k: prefix + v for k, v in NEW_KEYS.items()},
            "64.jpeg": prefix + "64.q85.jpg",
            "200.jpeg": prefix + "200.q85.jpg",
        }
        for variant_id, key in variants.items():
            size = int(variant_id.split(".")[0])
            data = stack.minio().get_object(stack.bucket, key).read()
            img = Image.open(io.BytesIO(data))
            assert (img.size, str(img.format).lower()) == ((size, size), variant_id.split(".")[1])
        # The old set, made-on-request size included, stays until its URLs expire.
        retired = {v["S"] for v in stored["retired"]["L"]}
        old_keys = {key_of(u, stack.bucket) for u in old[user_id]["variants"].values()}
        assert old_keys <= retired
        assert all(stack.keys(key) == [key] for key in retired)

    # Idempotent: a second run finds everything current and writes nothing.
    settled = state(stack)
    again = regenerate(stack)
    assert "pictures: 3; regenerated: 0; up to date: 3" in again.stdout
    assert state(stack) == settled

    # The old objects go with the sweep, once no URL handed out for them can work.
    time.sleep(2 + TABLE_LAG_SECONDS + 0.5)
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "sweep", "--local", "--grace-seconds", "0"],
        env={**stack.env, **NEW},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # 3 x 8 configured variants of the old settings, and the size made on request.
    assert "orphans deleted: 25 (originals 0, thumbnails 25, uploads 0)" in done.stdout
    assert unreferenced_objects(stack) == [] and dangling_references(stack) == []
    for p in pictures:
        assert len(stack.keys(f"thumbnails/{p['user_id']}/")) == 4
    assert "orphans deleted: 0" in sweep(stack, "--grace-seconds", "0")


def test_the_regenerate_function_counts_on_a_dry_run(stack: RunningStack) -> None:
    before = state(stack)
    result = invoke(stack, "RegenerateFunction", REPO_ROOT / "tests/events/regenerate.json")
    assert result["dry_run"] is True and result["complete"] is True
    assert result["pictures"] >= 0 and result["errors"] == {}
    assert state(stack)[0] == before[0]
