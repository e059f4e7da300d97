"""Self-healing on in-memory fakes: what counts as stuck, when, and how uploads expire."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from profilepics import keys
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import StorageUnavailable
from profilepics.healing import Healer, HealPlan
from profilepics.models import DirectUpload, Picture, PictureStatus, Profile, UploadState
from profilepics.processing import Outcome as Ingested

from infra.healing import through_spool
from infra.invoker.delivery import Delivery
from infra.invoker.events import s3_record
from infra.invoker.spool import DEAD, PENDING, Spool
from infra.invoker.template import load
from infra.invoker.workers import Outcome
from infra.local import REPO_ROOT
from tests.fakes import FakeStore, FakeTable
from tests.unit import imagegen as gen

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=10)
DEADLINE = timedelta(minutes=5)


def picture(
    user_id: str, status: PictureStatus, age: timedelta, error: str | None = None
) -> Picture:
    picture_id = f"{user_id:a<32}"[:32]
    return Picture(
        id=picture_id,
        key=keys.original(user_id, picture_id, "jpg"),
        format="jpeg",
        content_type="image/jpeg",
        width=10,
        height=10,
        bytes=3,
        status=status,
        error=error,
        uploaded_at=NOW - age,
    )


def upload(user_id: str, age: timedelta) -> DirectUpload:
    upload_id = f"{user_id:b<32}"[:32]
    return DirectUpload(id=upload_id, key=keys.upload(user_id, upload_id), created_at=NOW - age)


def profile(user_id: str, pic: Picture | None = None, up: DirectUpload | None = None) -> Profile:
    return Profile(
        user_id=user_id,
        display_name=user_id,
        email=f"{user_id}@example.com",
        created_at=NOW - timedelta(days=1),
        updated_at=NOW,
        picture=pic,
        upload=up,
    )


@pytest.fixture
def table() -> FakeTable:
    return FakeTable()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def healer(store: FakeStore, table: FakeTable) -> Healer:
    return Healer(store, table, LIFETIME, clock=lambda: NOW)


def landed(store: FakeStore, key: str, age: timedelta) -> None:
    store.put(key, b"img", "image/jpeg", keys.IMMUTABLE)
    store.modified[key] = NOW - age


def test_pictures_stuck_past_the_deadline_or_failed_by_a_fault_are_re_driven(
    store: FakeStore, table: FakeTable
) -> None:
    stuck = picture("stuck", PictureStatus.PROCESSING, DEADLINE * 2)
    faulted = picture("faulted", PictureStatus.FAILED, DEADLINE * 2, "storage_unavailable")
    for p in (
        stuck,
        faulted,
        picture("young", PictureStatus.PROCESSING, DEADLINE / 2),
        picture("corrupt", PictureStatus.FAILED, DEADLINE * 2, "image_corrupt"),
        picture("ready", PictureStatus.READY, DEADLINE * 2),
    ):
        table.create(profile(p.key.split("/")[1], p))

    plan = healer(store, table).plan(DEADLINE)

    assert sorted(plan.originals) == sorted([stuck.key, faulted.key])


def test_at_a_restart_every_unfinished_picture_is_re_driven(
    store: FakeStore, table: FakeTable
) -> None:
    young = picture("young", PictureStatus.PROCESSING, timedelta(seconds=1))
    table.create(profile("young", young))
    assert healer(store, table).plan(timedelta(0)).originals == [young.key]


def test_a_pending_upload_whose_object_landed_is_re_driven_once_it_had_time(
    store: FakeStore, table: FakeTable
) -> None:
    old, fresh = upload("old", timedelta(minutes=30)), upload("fresh", timedelta(minutes=1))
    table.create(profile("old", up=old))
    table.create(profile("fresh", up=fresh))
    landed(store, old.key, DEADLINE * 2)
    landed(store, fresh.key, timedelta(seconds=5))

    plan = healer(store, table).plan(DEADLINE)

    assert (plan.uploads, plan.expired) == ([old.key], [])


def test_a_pending_upload_that_never_came_expires_after_its_policy(
    store: FakeStore, table: FakeTable
) -> None:
    gone, waiting = upload("gone", LIFETIME * 2), upload("waiting", LIFETIME / 2)
    done = upload("done", LIFETIME * 2).model_copy(update={"state": UploadState.DONE})
    for user_id, up in (("gone", gone), ("waiting", waiting), ("done", done)):
        table.create(profile(user_id, up=up))

    heal = healer(store, table)
    plan = heal.plan(DEADLINE)
    heal.settle(plan)

    assert [user for user, _ in plan.expired] == ["gone"]
    ended = table.profiles["gone"].upload
    assert ended is not None and (ended.state, ended.error_code) == (
        UploadState.FAILED,
        "upload_expired",
    )
    assert table.profiles["waiting"].upload == waiting


def claimed(user_id: str, age: timedelta) -> DirectUpload:
    return upload(user_id, timedelta(minutes=30)).model_copy(
        update={"state": UploadState.PROCESSING, "claimed_at": NOW - age}
    )


def test_a_claim_older_than_the_deadline_is_released_and_its_upload_re_driven(
    store: FakeStore, table: FakeTable
) -> None:
    """Its holder died (killed at the function's timeout): the claim goes back to pending, for
    the re-driven delivery to take; a younger claim may still have a live holder."""
    dead, live = claimed("dead", DEADLINE * 2), claimed("live", DEADLINE / 2)
    table.create(profile("dead", up=dead))
    table.create(profile("live", up=live))
    heal = healer(store, table)

    plan = heal.plan(DEADLINE)
    heal.settle(plan)

    assert (plan.uploads, plan.released) == ([dead.key], [("dead", dead)])
    assert table.profiles["dead"].upload == upload("dead", timedelta(minutes=30))
    assert table.profiles["live"].upload == live


def test_at_a_restart_every_claim_is_released_since_no_delivery_survived_it(
    store: FakeStore, table: FakeTable
) -> None:
    fresh = claimed("fresh", timedelta(seconds=1))
    table.create(profile("fresh", up=fresh))

    plan = healer(store, table).plan(timedelta(0))

    assert plan.released == [("fresh", fresh)]


def test_a_claim_that_moved_on_before_the_release_is_left_alone(
    store: FakeStore, table: FakeTable
) -> None:
    dead = claimed("dead", DEADLINE * 2)
    table.create(profile("dead", up=dead))
    heal = healer(store, table)
    plan = heal.plan(DEADLINE)
    finished = dead.model_copy(update={"state": UploadState.DONE})
    table.swap_upload("dead", dead, finished, NOW)

    heal.settle(plan)

    assert table.profiles["dead"].upload == finished


def test_a_re_driven_dead_claim_is_published_once(table: FakeTable) -> None:
    store = FakeStore()
    dead = claimed("ada", DEADLINE * 2)
    table.create(profile("ada", up=dead))
    store.put(dead.key, gen.encode(gen.photo(64, 48), "JPEG"), "image/jpeg", "")
    parts = build(Settings(), store=store, table=table, clock=lambda: NOW)

    plan = parts.healer.heal(parts.processing, DEADLINE)

    assert plan.uploads == [dead.key]
    assert parts.processing.ingest(dead.key) is Ingested.IGNORED  # the event, late: done
    ada = table.profiles["ada"]
    assert ada.version == 1 and ada.upload is not None and ada.upload.state is UploadState.DONE


def test_at_start_the_invoker_spools_what_is_stuck_unless_the_spool_holds_it_already(
    store: FakeStore, table: FakeTable
) -> None:
    """A dead event waits for an operator's redrive: healing does not sneak it back in."""
    fresh = picture("fresh", PictureStatus.PROCESSING, timedelta(seconds=1))
    known = picture("known", PictureStatus.PROCESSING, timedelta(seconds=1))
    table.create(profile("fresh", fresh))
    table.create(profile("known", known))
    delivery = Delivery(load(REPO_ROOT / "template.yaml").triggers, fail, Spool(":memory:"))
    (dead,) = delivery.spool.add([("ThumbnailsFunction", s3_record("x", "b", known.key, 1))])
    delivery.spool.failed(dead.id, "Conflict", retry_at=None)

    through_spool(delivery, healer(store, table), "profilepics", timedelta(0))()

    assert delivery.spool.keys(PENDING) == {("ThumbnailsFunction", fresh.key)}
    assert delivery.spool.keys(DEAD) == {("ThumbnailsFunction", known.key)}


def fail(function: str, event: dict[str, Any]) -> Outcome:
    raise AssertionError("nothing is delivered in this test")


def test_work_exactly_as_old_as_the_deadline_is_stuck(store: FakeStore, table: FakeTable) -> None:
    pic = picture("pic", PictureStatus.PROCESSING, DEADLINE)
    dead = claimed("dead", DEADLINE)
    waited = upload("waited", DEADLINE)  # landed, and its policy still runs: re-driven now
    table.create(profile("pic", pic))
    table.create(profile("dead", up=dead))
    table.create(profile("waited", up=waited))
    landed(store, waited.key, DEADLINE)

    plan = healer(store, table).plan(DEADLINE)

    assert plan.originals == [pic.key]
    assert plan.released == [("dead", dead)]
    assert sorted(plan.uploads) == sorted([dead.key, waited.key])


def test_an_upload_that_never_came_expires_a_minute_after_its_policy_and_not_before(
    store: FakeStore, table: FakeTable
) -> None:
    """The policy may have been signed a moment before it expired: the upload may still land."""
    grace = timedelta(minutes=1)
    at_the_end = upload("end", LIFETIME + grace)
    just_before = upload("before", LIFETIME + grace - timedelta(seconds=1))
    table.create(profile("end", up=at_the_end))
    table.create(profile("before", up=just_before))

    plan = healer(store, table).plan(timedelta(hours=1))

    assert plan.expired == [("end", at_the_end)]


def test_a_release_and_an_expiry_are_written_at_the_healers_time(
    store: FakeStore, table: FakeTable
) -> None:
    later = NOW + timedelta(seconds=30)
    table.create(profile("dead", up=claimed("dead", DEADLINE * 2)))
    table.create(profile("gone", up=upload("gone", LIFETIME * 2)))
    heal = Healer(store, table, LIFETIME, clock=lambda: later)

    heal.settle(heal.plan(DEADLINE))

    assert [table.profiles[u].updated_at for u in ("dead", "gone")] == [later, later]


def test_a_plan_reads_every_page_of_the_table_once(store: FakeStore, table: FakeTable) -> None:
    stuck = [picture(f"u{n:03}", PictureStatus.PROCESSING, DEADLINE * 2) for n in range(150)]
    for pic in stuck:
        table.create(profile(pic.key.split("/")[1], pic))
    cursors: list[str | None] = []
    scan = table.scan

    def counted(limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        cursors.append(cursor)
        assert len(cursors) <= 2, "the scan went back to the start"
        return scan(limit, cursor)

    table.scan = counted  # type: ignore[method-assign]

    plan = healer(store, table).plan(DEADLINE)

    assert sorted(plan.originals) == sorted(p.key for p in stuck)
    assert len(cursors) == 2


def test_a_plans_line_says_what_is_or_was_re_driven_and_expired() -> None:
    plan = HealPlan(
        originals=["a", "b"],
        uploads=["c", "d", "e"],
        expired=[("x", upload("x", LIFETIME * 2))],
        released=[("y", claimed("y", DEADLINE * 2))],
    )
    assert plan.keys == ["a", "b", "c", "d", "e"]
    assert plan.lines(done=False) == [
        "stuck pictures to re-drive: 2; stuck direct uploads to re-drive: 3 (1 of them claimed "
        "by a delivery that died); pending uploads expired: 1"
    ]
    assert plan.lines(done=True) == [
        "stuck pictures re-driven: 2; stuck direct uploads re-driven: 3 (1 of them claimed "
        "by a delivery that died); pending uploads expired: 1"
    ]


def test_a_re_drive_that_fails_is_logged_with_its_key_and_code_and_the_rest_go_on(
    table: FakeTable, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    first = picture("ada", PictureStatus.PROCESSING, DEADLINE * 2)
    dead = claimed("bee", DEADLINE * 2)
    table.create(profile("ada", first))
    table.create(profile("bee", up=dead))
    store.fault = lambda operation: StorageUnavailable() if operation == "get" else None
    parts = build(Settings(), store=store, table=table, clock=lambda: NOW)

    with caplog.at_level(logging.WARNING, logger="profilepics.healing"):
        plan = parts.healer.heal(parts.processing, DEADLINE)

    assert plan.keys == [first.key, dead.key]
    assert [r.getMessage() for r in caplog.records if r.name == "profilepics.healing"] == [
        f"re-driving {first.key} failed: storage_unavailable",
        f"re-driving {dead.key} failed: storage_unavailable",
    ]


def test_an_upload_that_moved_on_before_the_healer_changed_it_is_logged(
    store: FakeStore, table: FakeTable, caplog: pytest.LogCaptureFixture
) -> None:
    dead = claimed("dead", DEADLINE * 2)
    table.create(profile("dead", up=dead))
    heal = healer(store, table)
    plan = heal.plan(DEADLINE)
    table.swap_upload("dead", dead, dead.model_copy(update={"state": UploadState.DONE}), NOW)

    with caplog.at_level(logging.INFO, logger="profilepics.healing"):
        heal.settle(plan)

    assert [r.getMessage() for r in caplog.records if r.name == "profilepics.healing"] == [
        f"upload {dead.id} moved on before the healer changed it"
    ]
