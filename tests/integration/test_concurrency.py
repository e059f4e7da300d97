"""Concurrent uploads over real HTTP: clean outcomes, one current picture, no orphans."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.adapters.minio_store import MinioStore

from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import (
    assert_invariants,
    settle,
    unreferenced_objects,
)
from tests.stackrun import RunningStack, start_stack

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)
UPLOADS = 50
# Lost races may answer 409 (the profile kept changing) or 503; never a 500, 502 or a hang.
CLEAN_FAILURES = {409: "conflict", 503: "storage_unavailable"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of the module's own: its sweeps run with no grace, and 4 instances per
    function make the uploads really race for the profile's conditional write."""
    directory = tmp_path_factory.mktemp("concurrency")
    with start_stack(directory, {"PROFILEPICS_INSTANCES": "4"}) as running:
        yield running


def images(count: int) -> list[bytes]:
    return [jpeg(colour=f"#{(i * 5) % 256:02x}{(i * 37) % 256:02x}80") for i in range(count)]


def upload_all(api: str, jobs: list[tuple[str, bytes]]) -> list[requests.Response]:
    began = time.monotonic()
    with ThreadPoolExecutor(len(jobs)) as pool:
        responses = list(pool.map(lambda job: put_picture(api, job[0], job[1], timeout=60), jobs))
    log.info(
        "%d uploads in %.1f s: %s",
        len(jobs),
        time.monotonic() - began,
        Counter(r.status_code for r in responses),
    )
    return responses


def assert_clean(responses: list[requests.Response]) -> list[requests.Response]:
    """Every response a success or a clean problem; returns the successes."""
    for response in responses:
        if response.status_code in CLEAN_FAILURES:
            assert response.json()["code"] == CLEAN_FAILURES[response.status_code]
        else:
            assert response.status_code in (200, 201), response.text
    return [r for r in responses if r.status_code in (200, 201)]


def assert_no_orphans(stack: RunningStack) -> None:
    """Every replaced or lost-race picture already deleted by the uploads themselves: orphans
    are counted before any sweep, and the sweep then finds none to delete."""
    assert unreferenced_objects(stack) == []
    assert "orphans deleted: 0 " in assert_invariants(stack)


def user_keys(stack: RunningStack, user_id: str) -> set[str]:
    store = MinioStore(stack.settings())
    return {
        key
        for prefix in ("originals/", "thumbnails/", "uploads/")
        for key in store.list_keys(f"{prefix}{user_id}/")
    }


def test_50_concurrent_uploads_for_one_user_leave_exactly_one_picture_and_no_orphans(
    stack: RunningStack,
) -> None:
    user = new_user(stack.api, "c")

    responses = upload_all(stack.api, [(user, data) for data in images(UPLOADS)])

    succeeded = assert_clean(responses)
    assert len(succeeded) >= UPLOADS // 2
    assert [r.status_code for r in succeeded].count(201) == 1
    uploaded = {r.json()["id"] for r in succeeded}
    assert len(uploaded) == len(succeeded)
    settle(stack, [user])
    profile = DynamoDBTable(stack.settings()).get(user)
    assert profile is not None and profile.picture is not None
    assert profile.picture.id in uploaded
    assert_no_orphans(stack)
    picture = profile.picture
    assert user_keys(stack, user) == {picture.key, *picture.variants.values()}


def test_50_concurrent_uploads_for_50_users_give_50_pictures(stack: RunningStack) -> None:
    with ThreadPoolExecutor(10) as pool:
        users = list(pool.map(lambda _: new_user(stack.api, "m"), range(UPLOADS)))

    responses = upload_all(stack.api, list(zip(users, images(UPLOADS), strict=True)))

    assert [r.status_code for r in responses] == [201] * UPLOADS
    table = DynamoDBTable(stack.settings())
    for user, response in zip(users, responses, strict=True):
        profile = table.get(user)
        assert profile is not None and profile.picture is not None
        assert profile.picture.id == response.json()["id"]
    settle(stack, users)
    assert_no_orphans(stack)
    for user in users:
        assert len([k for k in user_keys(stack, user) if k.startswith("originals/")]) == 1
