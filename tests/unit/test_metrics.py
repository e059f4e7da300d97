"""Metrics operators can alarm on: what each path records, and the EMF lines that carry it."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler import Response
from profilepics import deps, keys
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.errors import ImageCorrupt, StorageUnavailable
from profilepics.http import make_resolver
from profilepics.metrics import EmfMeter, Metric, counting_uploads
from profilepics.models import DirectUpload, Profile
from profilepics.processing import Outcome

from tests.fakes import FakeMeter, FakeStore, FakeTable
from tests.unit import imagegen as gen

USER = "ada"


class World:
    def __init__(self) -> None:
        self.meter = FakeMeter()
        self.store, self.table = FakeStore(), FakeTable()
        parts = deps.build(
            Settings(thumbnail_sizes=[64, 128]),
            store=self.store,
            table=self.table,
            meter=self.meter,
            sleep=lambda _: None,
        )
        self.pictures, self.processing = parts.pictures, parts.processing
        now = utcnow()
        self.table.create(
            Profile(
                user_id=USER,
                display_name="Ada",
                email="a@example.com",
                created_at=now,
                updated_at=now,
            )
        )


@pytest.fixture
def world() -> World:
    return World()


def jpeg() -> bytes:
    return gen.encode(gen.photo(320, 240), "JPEG", quality=85)


def test_emf_lines_carry_the_namespace_unit_dimensions_and_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    EmfMeter().record(Metric.UPLOADS, 1, outcome="image_corrupt", path="api")
    EmfMeter().record(Metric.VALIDATION_TIME, 12.5, path="direct")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (uploads,) = lines[0]["_aws"]["CloudWatchMetrics"]
    assert uploads == {
        "Namespace": "profilepics",
        "Dimensions": [["outcome", "path"]],
        "Metrics": [{"Name": "Uploads", "Unit": "Count"}],
    }
    assert (lines[0]["outcome"], lines[0]["path"], lines[0]["Uploads"]) == (
        "image_corrupt",
        "api",
        [1.0],
    )
    assert lines[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
    assert lines[1]["ValidationTime"] == [12.5]


def test_an_api_upload_records_its_bytes_and_validation_time(world: World) -> None:
    data = jpeg()

    world.pictures.upload(USER, data)

    assert world.meter.named("UploadBytes") == [(len(data), {"path": "api"})]
    ((ms, dims),) = world.meter.named("ValidationTime")
    assert ms > 0 and dims == {"path": "api"}


def test_a_rejected_upload_still_records_what_validating_it_cost(world: World) -> None:
    with pytest.raises(ImageCorrupt):
        world.pictures.upload(USER, jpeg()[:400])

    assert len(world.meter.named("ValidationTime")) == 1
    assert world.meter.named("UploadBytes") == [(400, {"path": "api"})]


def _put_route(raises: Exception | None, status: int, meter: FakeMeter) -> Callable[[], Any]:
    app = make_resolver()

    @app.put("/users/<user_id>/picture", middlewares=[counting_uploads(lambda: meter)])
    def put(user_id: str) -> Response[str]:
        if raises is not None:
            raise raises
        return Response(status, "application/json", "{}")

    event = {
        "version": "2.0",
        "routeKey": "PUT /users/{user_id}/picture",
        "rawPath": "/users/ada/picture",
        "rawQueryString": "",
        "headers": {"content-type": "image/jpeg"},
        "requestContext": {
            "stage": "$default",
            "http": {"method": "PUT", "path": "/users/ada/picture"},
        },
        "body": "",
        "isBase64Encoded": False,
    }
    return lambda: app.resolve(event, cast(Any, None))


@pytest.mark.parametrize(
    ("raises", "status", "outcome"),
    [
        (None, 201, "created"),
        (None, 200, "replaced"),
        (ImageCorrupt(), 422, "image_corrupt"),
        (StorageUnavailable(), 503, "storage_unavailable"),
        (RuntimeError("bug"), 500, "internal_error"),
    ],
)
def test_every_answer_of_the_upload_route_is_counted_by_outcome(
    raises: Exception | None, status: int, outcome: str
) -> None:
    meter = FakeMeter()

    result = _put_route(raises, status, meter)()

    assert result["statusCode"] == status
    assert meter.named("Uploads") == [(1, {"outcome": outcome, "path": "api"})]


def test_variants_record_processing_time_and_upload_to_ready(world: World) -> None:
    picture, _ = world.pictures.replace(USER, world.pictures.validated(jpeg(), "api"))

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    ((processing, _),) = world.meter.named("ProcessingTime")
    ((waited, _),) = world.meter.named("UploadToReady")
    assert processing > 0 and waited >= processing
    assert world.meter.named("EventsFailed") == []


def test_a_run_that_raises_counts_a_failed_event_for_retry(world: World) -> None:
    picture, _ = world.pictures.replace(USER, world.pictures.validated(jpeg(), "api"))
    world.store.fault = lambda op: StorageUnavailable() if op == "put" else None

    with pytest.raises(StorageUnavailable):
        world.processing.make_thumbnails(picture.key)

    assert world.meter.named("EventsFailed") == [(1, {"function": "thumbnails", "kind": "retry"})]


def test_a_corrupt_original_counts_a_permanent_failure(world: World) -> None:
    picture, _ = world.pictures.replace(USER, world.pictures.validated(jpeg(), "api"))
    world.store.objects[picture.key] = b"\xff\xd8\xff" + b"\0" * 64

    assert world.processing.make_thumbnails(picture.key) is Outcome.FAILED
    assert world.meter.named("EventsFailed") == [
        (1, {"function": "thumbnails", "kind": "permanent"})
    ]


def _direct_upload(world: World, data: bytes) -> str:
    upload_id = uuid.uuid4().hex
    key = keys.upload(USER, upload_id)
    world.table.start_upload(
        USER, DirectUpload(id=upload_id, key=key, created_at=utcnow()), utcnow()
    )
    world.store.put(key, data, "image/jpeg", "no-store")
    return key


def test_direct_uploads_are_counted_by_outcome_with_their_bytes(world: World) -> None:
    good, bad = jpeg(), jpeg()[:400]
    assert world.processing.ingest(_direct_upload(world, good)) is Outcome.INGESTED
    assert world.processing.ingest(_direct_upload(world, bad)) is Outcome.REJECTED

    outcomes = [(value, dims["outcome"]) for value, dims in world.meter.named("Uploads")]
    assert outcomes == [(1, "created"), (1, "image_corrupt")]
    assert all(dims["path"] == "direct" for _, dims in world.meter.named("Uploads"))
    assert [value for value, _ in world.meter.named("UploadBytes")] == [len(good), len(bad)]


def test_emf_output_is_one_json_document_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    for metric in Metric:
        EmfMeter().record(metric, 1)

    out = io.StringIO(capsys.readouterr().out)
    names = [
        next(iter(json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"]))["Name"]
        for line in out
    ]
    assert names == [m.value for m in Metric]


def test_direct_uploads_record_their_path_and_a_replacement_is_counted_as_one(
    world: World,
) -> None:
    first, second = jpeg(), jpeg()
    world.processing.ingest(_direct_upload(world, first))
    world.processing.ingest(_direct_upload(world, second))

    assert world.meter.named("Uploads") == [
        (1, {"outcome": "created", "path": "direct"}),
        (1, {"outcome": "replaced", "path": "direct"}),
    ]
    assert world.meter.named("UploadBytes") == [
        (len(first), {"path": "direct"}),
        (len(second), {"path": "direct"}),
    ]
    assert [dims for _, dims in world.meter.named("ValidationTime")] == [{"path": "direct"}] * 2


def test_an_ingest_that_raises_counts_a_failed_ingest_event_for_retry(world: World) -> None:
    key = _direct_upload(world, jpeg())
    world.store.fault = lambda op: StorageUnavailable() if op == "get" else None

    with pytest.raises(StorageUnavailable):
        world.processing.ingest(key)

    assert world.meter.named("EventsFailed") == [(1, {"function": "ingest", "kind": "retry"})]


def test_upload_to_ready_is_the_milliseconds_from_upload_to_ready_on_the_clock() -> None:
    meter, store, table = FakeMeter(), FakeStore(), FakeTable()
    start = utcnow()
    now = [start]
    parts = deps.build(
        Settings(thumbnail_sizes=[64]), store=store, table=table, meter=meter, clock=lambda: now[0]
    )
    table.create(
        Profile(
            user_id=USER, display_name="Ada", email="a@example.com", created_at=start,
            updated_at=start,
        )
    )  # fmt: skip
    picture, _ = parts.pictures.replace(USER, parts.pictures.validated(jpeg(), "api"))
    now[0] = start + timedelta(seconds=2.5)

    assert parts.processing.make_thumbnails(picture.key) is Outcome.READY
    assert meter.named("UploadToReady") == [(2500.0, {})]
