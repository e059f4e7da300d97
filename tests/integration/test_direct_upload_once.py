"""A direct upload is published once, on the real stack: duplicate deliveries of its bucket event
arriving together, a claim left by a delivery that died, and a crash with the claim held."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from profilepics import keys

from infra.invoker.events import s3_record
from tests.api_client import new_user, profile
from tests.integration.test_direct_upload import JPEG, post_file, start, upload_state
from tests.integration.test_thumbnails import outcomes, post_records
from tests.stackrun import OwnStack, RunningStack, wait_for
from tests.unit import imagegen as gen

pytestmark = pytest.mark.integration

DUPLICATES = 6
# ~12 MP: its checks take a few hundred ms, the window in which deliveries overlap.
LARGE = gen.encode(gen.photo(4000, 3000), "JPEG", quality=90)


def version(stack: RunningStack, user_id: str) -> int:
    """The profile's version: one more for each change of its picture."""
    item = stack.dynamodb().get_item(
        TableName=stack.table, Key={"user_id": {"S": user_id}}, ConsistentRead=True
    )["Item"]
    return int(item["version"]["N"])


def claim(stack: RunningStack, user_id: str, at: datetime) -> None:
    """Leave the upload as a delivery that claimed it at `at` and then died leaves it."""
    stack.dynamodb().update_item(
        TableName=stack.table,
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET #u.#s = :processing, #u.#c = :at",
        ExpressionAttributeNames={"#u": "upload", "#s": "state", "#c": "claimed_at"},
        ExpressionAttributeValues={
            ":processing": {"S": "processing"},
            ":at": {"S": at.isoformat().replace("+00:00", "Z")},
        },
    )


def deliver_during(api: str, record: dict[str, Any], count: int, spread: float) -> list[int]:
    """count copies of one bucket event, each its own POST, sent over the next spread seconds:
    while the store's own delivery of it is still at work, whenever exactly that runs."""
    statuses: list[int] = []

    def send(delay: float) -> None:
        time.sleep(delay)
        with requests.Session() as http:
            statuses.append(post_records(http, api, [record]))

    threads = [threading.Thread(target=send, args=(spread * n / count,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def test_duplicate_deliveries_arriving_while_it_is_handled_publish_the_upload_once(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    """Given the store's event for a direct upload and six more copies of it arriving while it
    is being handled, then exactly one delivery publishes: one picture change, one original,
    one thumbnails run; the others stop (claimed elsewhere) or find the upload done."""
    user_id = user["user_id"]
    policy = start(http, api, user_id)
    record = s3_record("ObjectCreated:Post", stack.bucket, policy["key"], len(LARGE))

    assert post_file(policy, LARGE).status_code in (201, 204)
    assert deliver_during(api, record, DUPLICATES, 0.3) == [204] * DUPLICATES

    done = upload_state(http, api, user_id, "done")

    def every_outcome() -> list[str] | None:
        found = outcomes(stack, policy["key"])
        return found if len(found) > DUPLICATES else None

    seen = wait_for(every_outcome, "every delivery's outcome", timeout=60)
    assert seen.count("ingested") == 1, seen
    assert set(seen) <= {"ingested", "duplicate", "ignored"}, seen
    original = keys.original(user_id, done["picture"]["id"], "jpg")
    assert stack.keys(f"originals/{user_id}/") == [original]
    assert version(stack, user_id) == 1
    wait_for(lambda: profile(api, user_id, http)["picture"]["status"] == "ready", "thumbnails")
    assert outcomes(stack, original) == ["ready"]
    assert stack.keys(f"uploads/{user_id}/") == []


def test_a_live_claim_holds_other_deliveries_off_and_an_expired_one_is_taken_over(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)
    record = s3_record("ObjectCreated:Post", stack.bucket, policy["key"], len(JPEG))
    claim(stack, user_id, datetime.now(UTC))  # another delivery is at work

    assert post_file(policy, JPEG).status_code in (201, 204)

    assert wait_for(lambda: outcomes(stack, policy["key"]), "the store's event") == ["duplicate"]
    held = profile(api, user_id, http)
    assert (held["upload"]["state"], held["picture"]) == ("processing", None)
    assert stack.keys(f"uploads/{user_id}/") == [policy["key"]]  # its holder's to publish

    claim(stack, user_id, datetime.now(UTC) - timedelta(minutes=2))  # ... and it died
    assert post_records(http, api, [record]) == 204

    done = upload_state(http, api, user_id, "done")
    assert (done["picture"]["width"], done["picture"]["height"]) == (1200, 900)
    assert outcomes(stack, policy["key"]) == ["duplicate", "ingested"]
    assert version(stack, user_id) == 1


def test_a_claim_held_when_the_stack_was_killed_is_released_and_published_at_the_start(
    tmp_path: Path,
) -> None:
    """Given a delivery that claimed an upload a moment before a kill -9 of everything, when
    the stack starts again, then self-healing releases the claim and publishes the upload."""
    stacks = OwnStack(tmp_path / "stack")
    try:
        first = stacks.current
        with requests.Session() as http:
            user_id = new_user(first.api, "claim")
            policy = start(http, first.api, user_id)
            claim(first, user_id, datetime.now(UTC))
            assert post_file(policy, JPEG).status_code in (201, 204)
            wait_for(lambda: outcomes(first, policy["key"]), "the store's event")

        first.crash()
        again = stacks.restart()

        with requests.Session() as http:
            done = upload_state(http, again.api, user_id, "done")
        assert done["picture"]["width"] == 1200
        assert version(again, user_id) == 1
    finally:
        stacks.current.stop()
