"""The orphan sweep on in-memory fakes: what it keeps, what it deletes, and the grace."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from profilepics import keys
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.formats import ImageFormat, Variant
from profilepics.models import Picture, PictureStatus, Profile
from profilepics.sweep import Sweeper

from tests.fakes import FakeStore, FakeTable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(hours=1)
ID, OLD_ID = "a" * 32, "b" * 32
WEBP = Settings().encodings[ImageFormat.WEBP]


def picture(user_id: str, picture_id: str, sizes: tuple[int, ...] = (64, 128)) -> Picture:
    return Picture(
        id=picture_id,
        key=keys.original(user_id, picture_id, "jpg"),
        format="jpeg",
        content_type="image/jpeg",
        width=10,
        height=10,
        bytes=3,
        status=PictureStatus.READY,
        variants={
            Variant(s).id: keys.thumbnail(user_id, picture_id, Variant(s), WEBP) for s in sizes
        },
        uploaded_at=OLD,
    )


def put(store: FakeStore, key: str, modified: datetime = OLD) -> None:
    store.put(key, b"img", "image/jpeg", keys.IMMUTABLE)
    store.modified[key] = modified


@pytest.fixture
def table() -> FakeTable:
    table = FakeTable()
    for user_id, current in (("ada", picture("ada", ID)), ("bob", None)):
        table.create(
            Profile(
                user_id=user_id,
                display_name=user_id,
                email=f"{user_id}@example.com",
                created_at=OLD,
                updated_at=OLD,
                picture=current,
            )
        )
    return table


@pytest.fixture
def store(table: FakeTable) -> FakeStore:
    store = FakeStore()
    current = table.profiles["ada"].picture
    assert current is not None
    for key in (
        current.key,
        *current.variants.values(),
        keys.thumbnail("ada", ID, Variant(256, animated=True), WEBP),
    ):
        put(store, key)
    return store


def sweeper(store: FakeStore, table: FakeTable) -> Sweeper:
    return build(Settings(), store=store, table=table, clock=lambda: NOW).sweeper


def test_referenced_objects_and_the_current_pictures_thumbnail_folder_are_kept(
    store: FakeStore, table: FakeTable
) -> None:
    kept = set(store.objects)

    report = sweeper(store, table).run(timedelta(0))

    assert set(store.objects) == kept
    assert report.referenced == 4 and sum(report.deleted.values()) == 0
    assert report.profiles == 2


def test_orphans_under_every_prefix_older_than_the_grace_are_deleted(
    store: FakeStore, table: FakeTable
) -> None:
    orphans = {
        keys.original("ada", OLD_ID, "png"),
        keys.thumbnail("ada", OLD_ID, Variant(64), WEBP),
        keys.upload("bob", "c" * 32),
        keys.original("gone", ID, "jpg"),  # a user whose profile no longer exists
    }
    for key in orphans:
        put(store, key, NOW - timedelta(minutes=16))
    put(store, "elsewhere/not-ours.txt")

    report = sweeper(store, table).run()

    assert not orphans & set(store.objects)
    assert "elsewhere/not-ours.txt" in store.objects
    assert report.deleted == {"originals/": 2, "thumbnails/": 1, "uploads/": 1}
    assert "orphans deleted: 4 (originals 2, thumbnails 1, uploads 1)" in report.lines()


def test_the_grace_keeps_young_orphans_such_as_an_upload_in_flight(
    store: FakeStore, table: FakeTable
) -> None:
    in_flight = keys.original("bob", ID, "jpg")
    pending = keys.upload("bob", ID)
    put(store, in_flight, NOW - timedelta(minutes=14))
    put(store, pending, NOW - timedelta(seconds=0.5))

    report = sweeper(store, table).run()
    no_grace = sweeper(store, table).run(timedelta(0))

    assert report.too_young == 2 and sum(report.deleted.values()) == 0
    # Even with no grace, an object stamped within the store's one-second grain is kept.
    assert no_grace.deleted_keys == [in_flight]
    assert pending in store.objects


def test_dry_run_reports_orphans_and_deletes_nothing(store: FakeStore, table: FakeTable) -> None:
    orphan = keys.original("ada", OLD_ID, "jpg")
    put(store, orphan)

    report = sweeper(store, table).run(timedelta(0), dry_run=True)

    assert orphan in store.objects
    assert report.deleted_keys == [orphan]
    assert (
        "orphans found (dry run, none deleted): 1 (originals 1, thumbnails 0, uploads 0)"
        in report.lines()
    )


class CountingStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def delete(self, keys: Iterable[str]) -> None:
        batch = list(keys)
        self.batches.append(len(batch))
        super().delete(batch)


def test_profiles_are_read_page_by_page_and_deletes_go_in_batches(table: FakeTable) -> None:
    store = CountingStore()
    for i in range(150):
        table.create(
            Profile(
                user_id=f"u{i:03}",
                display_name="x",
                email="x@example.com",
                created_at=OLD,
                updated_at=OLD,
                picture=picture(f"u{i:03}", ID, ()),
            )
        )
        put(store, keys.original(f"u{i:03}", ID, "jpg"))
    for i in range(1500):
        put(store, keys.original("gone", f"{i:032x}", "jpg"))

    report = sweeper(store, table).run(timedelta(0))

    assert report.profiles == 152 and report.referenced == 150
    assert report.deleted["originals/"] == 1500
    assert len(store.objects) == 150
    assert store.batches == [1000, 500]
