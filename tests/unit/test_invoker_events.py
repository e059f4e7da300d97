"""The invoker's bucket events: the token, the template's prefix filters, retries; the events."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.invoker import server
from infra.invoker.events import decoded_key, http_event, s3_record
from infra.invoker.server import Invoker
from infra.invoker.template import Template, load
from infra.invoker.workers import FunctionPool, Outcome

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
TOKEN = "events-token-for-unit-tests"
AUTH = [("Authorization", f"Bearer {TOKEN}")]
ORIGINAL = "originals/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"


class FakePool:
    """A function pool that records its events and fails the first `failures` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.failures = failures
        self.called = threading.Condition()

    def invoke(self, event: dict[str, Any], answer_within: float | None = None) -> Outcome:
        with self.called:
            self.events.append(event)
            self.times.append(time.monotonic())
            self.called.notify_all()
            if len(self.events) <= self.failures:
                return Outcome(error="Conflict")
        return Outcome(result={"outcomes": {}})

    def wait_for(self, count: int, timeout: float = 5) -> None:
        with self.called:
            assert self.called.wait_for(lambda: len(self.events) >= count, timeout), self.events


class RecordingInvoker(Invoker):
    def __init__(self, template: Template, pools: dict[str, FakePool]) -> None:
        super().__init__(template, lambda _: {}, dict, events_token=TOKEN)
        self.fakes = pools

    def pool(self, name: str) -> FunctionPool:
        return self.fakes.setdefault(name, FakePool())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def template() -> Template:
    return load(REPO / "template.yaml")


@pytest.fixture
def invoker(template: Template) -> Iterator[RecordingInvoker]:
    made = RecordingInvoker(template, {})
    yield made
    made.close()


def post(invoker: Invoker, path: str, body: Any, headers: list[tuple[str, str]] = AUTH) -> int:
    return invoker.handle("POST", path, headers, json.dumps(body).encode(), "127.0.0.1").status


def records(*keys: str, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {"Records": [s3_record(name, "profilepics", key, 10) for key in keys]}


def quiet(invoker: RecordingInvoker) -> None:
    """Wait for every delivery queued so far to have run."""
    invoker._events.shutdown(wait=True)


@pytest.mark.parametrize("headers", [[], [("Authorization", "Bearer wrong")]])
def test_events_without_the_token_are_refused(
    invoker: RecordingInvoker, headers: list[tuple[str, str]]
) -> None:
    assert post(invoker, "/_events/s3", records(ORIGINAL), headers) == 401
    assert post(invoker, "/_events/seaweedfs", {}, headers) == 401
    quiet(invoker)
    assert invoker.fakes == {}


def test_original_goes_to_thumbnails_and_upload_to_ingest(invoker: RecordingInvoker) -> None:
    upload = "uploads/ada/4c7b8701783d4942880b1972bde34388"
    assert post(invoker, "/_events/s3", records(ORIGINAL, upload)) == 204
    invoker.fakes.setdefault("ThumbnailsFunction", FakePool()).wait_for(1)
    invoker.fakes.setdefault("IngestFunction", FakePool()).wait_for(1)
    quiet(invoker)
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
    quiet(invoker)
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


def test_failed_delivery_is_retried_twice_with_a_pause(
    invoker: RecordingInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "EVENT_RETRY_DELAYS", (0.05, 0.1))
    pool = invoker.fakes["ThumbnailsFunction"] = FakePool(failures=5)

    assert post(invoker, "/_events/s3", records(ORIGINAL)) == 204
    pool.wait_for(3)
    time.sleep(0.3)  # long enough for a fourth attempt, were there one

    assert len(pool.events) == 3
    first, second, third = pool.times
    assert second - first >= 0.05 and third - second >= 0.1


def test_delivery_stops_at_the_first_success(invoker: RecordingInvoker) -> None:
    pool = invoker.fakes["ThumbnailsFunction"] = FakePool(failures=0)
    assert post(invoker, "/_events/s3", records(ORIGINAL)) == 204
    pool.wait_for(1)
    quiet(invoker)
    assert len(pool.events) == 1


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
