"""The invoker's bucket events: the token, the template's prefix filters, the spool, retries
and dead letters, both ways of acknowledging; the events' formats."""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.invoker.delivery import Ack, Delivery, RetryPolicy
from infra.invoker.events import decoded_key, http_event, s3_record
from infra.invoker.server import Invoker
from infra.invoker.spool import DEAD, HELD, PENDING, Entry, Spool
from infra.invoker.template import Template, load
from infra.invoker.workers import FunctionPool, Outcome
from tests.stackrun import wait_for

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
TOKEN = "events-token-for-unit-tests"
AUTH = [("Authorization", f"Bearer {TOKEN}")]
ORIGINAL = "originals/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"


class FakePool:
    """A function pool that records its events and fails the first `failures` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.failures = failures
        self.called = threading.Condition()

    def invoke(self, event: dict[str, Any], answer_within: float | None = None) -> Outcome:
        with self.called:
            self.events.append(event)
            self.called.notify_all()
            if len(self.events) <= self.failures:
                return Outcome(error="Conflict")
        return Outcome(result={"outcomes": {}})

    def wait_for(self, count: int, timeout: float = 5) -> None:
        with self.called:
            assert self.called.wait_for(lambda: len(self.events) >= count, timeout), self.events


FAST = RetryPolicy(attempts=3, backoff=0.05, factor=2)


class RecordingInvoker(Invoker):
    def __init__(
        self,
        template: Template,
        pools: dict[str, FakePool],
        spool: Spool | None = None,
        ack: Ack = Ack.PERSIST,
    ) -> None:
        super().__init__(
            template, lambda _: {}, dict, events_token=TOKEN, spool=spool, ack=ack, retry=FAST
        )
        self.fakes = pools

    def pool(self, name: str) -> FunctionPool:
        return self.fakes.setdefault(name, FakePool())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def template() -> Template:
    return load(REPO / "template.yaml")


@pytest.fixture
def invoker(template: Template) -> Iterator[RecordingInvoker]:
    made = RecordingInvoker(template, {})
    made.delivery.start()
    yield made
    made.close()


def post(invoker: Invoker, path: str, body: Any, headers: list[tuple[str, str]] = AUTH) -> int:
    return invoker.handle("POST", path, headers, json.dumps(body).encode(), "127.0.0.1").status


def records(*keys: str, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {"Records": [s3_record(name, "profilepics", key, 10) for key in keys]}


def spooled(invoker: Invoker, *states: str) -> list[Entry]:
    return invoker.delivery.spool.entries(states or (PENDING, HELD, DEAD))


def wait_until_empty(invoker: Invoker) -> None:
    wait_for(lambda: not spooled(invoker, PENDING), "every pending event delivered", timeout=5)


@pytest.mark.parametrize("headers", [[], [("Authorization", "Bearer wrong")]])
def test_events_without_the_token_are_refused(
    invoker: RecordingInvoker, headers: list[tuple[str, str]]
) -> None:
    assert post(invoker, "/_events/s3", records(ORIGINAL), headers) == 401
    assert post(invoker, "/_events/seaweedfs", {}, headers) == 401
    assert spooled(invoker) == []
    assert invoker.fakes == {}


def test_original_goes_to_thumbnails_and_upload_to_ingest(invoker: RecordingInvoker) -> None:
    upload = "uploads/ada/4c7b8701783d4942880b1972bde34388"
    assert post(invoker, "/_events/s3", records(ORIGINAL, upload)) == 204
    invoker.fakes.setdefault("ThumbnailsFunction", FakePool()).wait_for(1)
    invoker.fakes.setdefault("IngestFunction", FakePool()).wait_for(1)
    wait_until_empty(invoker)
    thumbnails = invoker.fakes["ThumbnailsFunction"].events
    ingest = invoker.fakes["IngestFunction"].events
    assert [decoded_key(e["Records"][0]) for e in thumbnails] == [ORIGINAL]
    assert [decoded_key(e["Records"][0]) for e in ingest] == [upload]


@pytest.mark.parametrize("name", ["ObjectCreated:Put", "s3:ObjectCreated:Post"])
def test_s3_and_minio_event_names_both_match(invoker: RecordingInvoker, name: str) -> None:
    assert post(invoker, "/_events/s3", records(ORIGINAL, name=name)) == 204
    invoker.fakes.setdefault("ThumbnailsFunction", FakePool()).wait_for(1)


def test_thumbnails_and_stray_keys_trigger_nothing(invoker: RecordingInvoker) -> None:
    """Loop safety at the trigger: the variants' own events reach no function."""
    written = [
        "thumbnails/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b/64.webp",
        "elsewhere/originals/x.jpg",
    ]
    assert post(invoker, "/_events/s3", records(*written)) == 204
    removed = records(ORIGINAL, name="ObjectRemoved:Delete")
    assert post(invoker, "/_events/s3", removed) == 204
    assert spooled(invoker) == []
    assert invoker.fakes == {}


def test_seaweedfs_webhook_is_delivered_as_an_s3_record(invoker: RecordingInvoker) -> None:
    payload = json.loads((EVENTS / "seaweedfs_webhook_object_created.json").read_text())
    assert post(invoker, "/_events/seaweedfs", payload) == 204
    pool = invoker.fakes.setdefault("ThumbnailsFunction", FakePool())
    pool.wait_for(1)
    (record,) = pool.events[0]["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert decoded_key(record) == "originals/user-123/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"


@pytest.mark.parametrize("body", [{"Records": [{"s3": {}}]}, {"Records": "x"}, {"Records": [1]}])
def test_records_without_an_object_key_are_a_bad_event(
    invoker: RecordingInvoker, body: dict[str, Any]
) -> None:
    assert post(invoker, "/_events/s3", body) == 400
    reply = invoker.handle("POST", "/_events/s3", AUTH, b"not json", "127.0.0.1")
    assert (reply.status, json.loads(reply.body)["code"]) == (400, "bad_event")
    assert spooled(invoker) == []


def failed_after(spool: Spool, attempts: int, before: float) -> list[Entry]:
    return [e for e in spool.entries((PENDING,)) if e.attempts == attempts and e.due < before]


class ManualClock:
    """The delivery's and the spool's clock, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_event_is_retried_with_backoff_then_dead_lettered(template: Template) -> None:
    """Given a function that always fails, each retry comes due exactly its backoff after the
    failure, none runs before the clock reaches it, and after the last the event is dead with
    nothing left due: no fourth attempt can come."""
    clock, pool = ManualClock(), FakePool(failures=5)
    spool = Spool(":memory:", clock=clock)
    delivery = Delivery(
        template.triggers, lambda _f, event: pool.invoke(event), spool, retry=FAST, clock=clock
    )
    delivery.start()
    try:
        assert delivery.accept(records(ORIGINAL)["Records"]).status == 204
        for attempt in (1, 2):
            pool.wait_for(attempt)
            # A claimed entry is due again when its lease (120 s) ends; a failed one at its retry.
            (entry,) = wait_for(
                functools.partial(failed_after, spool, attempt, clock.now + 60),
                f"attempt {attempt} recorded as failed",
            )
            assert entry.due == clock.now + FAST.delay(attempt)
            assert spool.claim(60) is None and len(pool.events) == attempt  # not due yet
            clock.now = entry.due
            delivery.wake()
        pool.wait_for(3)
        (dead,) = wait_for(lambda: spool.entries((DEAD,)), "the event is dead")
    finally:
        delivery.close()

    assert (dead.key, dead.attempts, dead.error) == (ORIGINAL, 3, "Conflict")
    assert spool.next_due() is None and len(pool.events) == 3


def test_redrive_delivers_a_dead_event_again(invoker: RecordingInvoker) -> None:
    pool = invoker.fakes["ThumbnailsFunction"] = FakePool(failures=3)
    assert post(invoker, "/_events/s3", records(ORIGINAL)) == 204
    (dead,) = wait_for(lambda: spooled(invoker, DEAD), "the event is dead")

    assert invoker.delivery.spool.redrive([dead.id]) == 1
    invoker.delivery.wake()

    pool.wait_for(4)
    wait_for(lambda: not spooled(invoker), "the redriven event is delivered")
    assert decoded_key(pool.events[3]["Records"][0]) == ORIGINAL


def test_delivery_stops_at_the_first_success(invoker: RecordingInvoker) -> None:
    pool = invoker.fakes["ThumbnailsFunction"] = FakePool(failures=0)
    assert post(invoker, "/_events/s3", records(ORIGINAL)) == 204
    pool.wait_for(1)
    wait_until_empty(invoker)
    assert len(pool.events) == 1


def test_an_acknowledged_event_is_delivered_after_a_restart(
    template: Template, tmp_path: Path
) -> None:
    """The 204 comes after the event is on disk: an invoker that stops before delivering it
    (here, one whose delivery never started) leaves it for the next one on the same data dir."""
    first = RecordingInvoker(template, {}, Spool.in_dir(tmp_path))
    assert post(first, "/_events/s3", records(ORIGINAL)) == 204
    first.close()
    assert first.fakes == {}

    again = RecordingInvoker(template, {}, Spool.in_dir(tmp_path))
    again.delivery.start()
    try:
        again.fakes.setdefault("ThumbnailsFunction", FakePool()).wait_for(1)
        wait_until_empty(again)
    finally:
        again.close()


def test_an_event_the_spool_cannot_record_is_refused_for_the_sender_to_retry(
    invoker: RecordingInvoker,
) -> None:
    invoker.delivery.spool.close()
    reply = invoker.handle("POST", "/_events/s3", AUTH, json.dumps(records(ORIGINAL)).encode(), "")
    assert (reply.status, json.loads(reply.body)["code"]) == (503, "events_unavailable")


@pytest.fixture
def sync_invoker(template: Template) -> Iterator[RecordingInvoker]:
    made = RecordingInvoker(template, {}, ack=Ack.SUCCESS)
    made.delivery.start()
    yield made
    made.close()


def test_acknowledged_only_after_the_function_succeeded(sync_invoker: RecordingInvoker) -> None:
    """Behind MinIO: the function runs inside the request; a failure is a 503 for MinIO's
    queue_dir to send the same event again, and the redelivery counts as its next attempt."""
    pool = sync_invoker.fakes["ThumbnailsFunction"] = FakePool(failures=1)
    event = records(ORIGINAL)

    reply = sync_invoker.handle("POST", "/_events/s3", AUTH, json.dumps(event).encode(), "")
    assert (reply.status, json.loads(reply.body)["code"]) == (503, "event_failed")
    assert [(e.state, e.attempts) for e in spooled(sync_invoker)] == [(HELD, 1)]

    assert post(sync_invoker, "/_events/s3", event) == 204
    assert len(pool.events) == 2
    assert spooled(sync_invoker) == []


def test_behind_minio_a_poison_event_is_dead_lettered_not_retried_forever(
    sync_invoker: RecordingInvoker,
) -> None:
    """MinIO resends one failing event every 3 s and sends nothing behind it meanwhile: after
    the last attempt the invoker takes it into its dead letters and lets MinIO move on."""
    pool = sync_invoker.fakes["ThumbnailsFunction"] = FakePool(failures=99)
    event = records(ORIGINAL)
    statuses = [post(sync_invoker, "/_events/s3", event) for _ in range(FAST.attempts + 1)]

    assert statuses == [503] * (FAST.attempts - 1) + [204, 204]
    assert len(pool.events) == FAST.attempts
    (dead,) = spooled(sync_invoker)
    assert (dead.state, dead.attempts) == (DEAD, FAST.attempts)


def test_s3_record_encodes_the_key_as_s3_does() -> None:
    record = s3_record("ObjectCreated:Put", "pics", "originals/a b/ç+1.jpg", 5, "abc")
    assert record["s3"]["object"] == {
        "key": "originals/a+b/%C3%A7%2B1.jpg",
        "size": 5,
        "eTag": "abc",
        "sequencer": record["s3"]["object"]["sequencer"],
    }
    assert decoded_key(record) == "originals/a b/ç+1.jpg"


def test_sample_s3_events_are_what_the_template_triggers_on(template: Template) -> None:
    for name, function in [
        ("s3_original_created.json", "ThumbnailsFunction"),
        ("s3_upload_created.json", "IngestFunction"),
    ]:
        (record,) = json.loads((EVENTS / name).read_text())["Records"]
        matching = [
            t.function
            for t in template.triggers
            if t.matches(f"s3:{record['eventName']}", decoded_key(record))
        ]
        assert matching == [function], name


def test_sample_http_events_match_their_routes(template: Template) -> None:
    for name in ("get_user", "create_user", "get_picture_url", "default_picture"):
        event = json.loads((EVENTS / f"{name}.json").read_text())
        method = event["requestContext"]["http"]["method"]
        (route,) = [r for r in template.routes if r.match(method, event["rawPath"]) is not None]
        assert route.route_key == event["routeKey"] == event["requestContext"]["routeKey"]
        assert route.match(method, event["rawPath"]) == event.get("pathParameters", {}), name


def test_http_event_is_api_gateway_v2(template: Template) -> None:
    route = next(r for r in template.routes if r.route_key == "PUT /users/{user_id}/picture")
    headers = [("Content-Type", "image/png"), ("Cookie", "a=1; b=2"), ("X-A", "1"), ("x-a", "2")]
    event = http_event(
        route,
        "PUT",
        "/users/ada/picture",
        "x=1&x=2",
        headers,
        b"\x89PNG",
        {"user_id": "ada"},
        "::1",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PUT /users/{user_id}/picture"
    assert event["headers"] == {"content-type": "image/png", "x-a": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"
    assert "authorizer" not in event["requestContext"]


def test_triggers_are_filtered_to_prefixes_their_outputs_never_use(template: Template) -> None:
    triggered = {t.function: t.prefix for t in template.triggers}
    assert triggered == {"ThumbnailsFunction": "originals/", "IngestFunction": "uploads/"}
