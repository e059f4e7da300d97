"""The orphan sweep on in-memory fakes: what it keeps, what it deletes, the grace, and how it
streams: owners read by key a page at a time, memory bounded, resumable where it stopped."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from profilepics import keys, sweep
from profilepics.config import TABLE_LAG_SECONDS, Settings
from profilepics.deps import build
from profilepics.formats import ImageFormat, Variant
from profilepics.models import DirectUpload, Picture, PictureStatus, Profile, UploadState
from profilepics.sweep import Sweeper, SweepReport

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


def profile(user_id: str, current: Picture | None = None, **fields: object) -> Profile:
    return Profile(
        user_id=user_id,
        display_name=user_id,
        email=f"{user_id}@example.com",
        created_at=OLD,
        updated_at=OLD,
        picture=current,
        **fields,
    )


def put(store: FakeStore, key: str, modified: datetime = OLD) -> None:
    store.put(key, b"img", "image/jpeg", keys.IMMUTABLE)
    store.modified[key] = modified


@pytest.fixture
def table() -> FakeTable:
    table = FakeTable()
    table.create(profile("ada", picture("ada", ID)))
    table.create(profile("bob"))
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


def orphans_of(store: FakeStore, table: FakeTable, **options: object) -> list[str]:
    found: list[str] = []
    sweeper(store, table).run(timedelta(0), on_orphan=found.append, **options)  # type: ignore[arg-type]
    return found


def test_referenced_objects_and_the_current_pictures_thumbnail_folder_are_kept(
    store: FakeStore, table: FakeTable
) -> None:
    kept = set(store.objects)

    report = sweeper(store, table).run(timedelta(0))

    assert set(store.objects) == kept
    assert report.referenced == 4 and sum(report.deleted.values()) == 0
    assert (report.checked, report.owners_read, report.stopped_after) == (4, 1, None)


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


def test_a_direct_upload_still_pending_or_claimed_keeps_its_object(table: FakeTable) -> None:
    store = FakeStore()
    for user_id, state in (("pending", UploadState.PENDING), ("claimed", UploadState.PROCESSING)):
        upload = DirectUpload(id=ID, key=keys.upload(user_id, ID), state=state, created_at=OLD)
        table.create(profile(user_id, upload=upload))
        put(store, upload.key)
    ended = DirectUpload(
        id=ID, key=keys.upload("ended", ID), state=UploadState.DONE, created_at=OLD
    )
    table.create(profile("ended", upload=ended))
    put(store, ended.key)

    assert orphans_of(store, table) == [ended.key]


def test_keys_naming_no_possible_user_are_orphans_without_a_lookup(table: FakeTable) -> None:
    store = FakeStore()
    strays = ["originals//x.jpg", "originals/!bad/x.jpg", "thumbnails/loose.webp", "uploads/x"]
    for key in strays:
        put(store, key)

    assert sorted(orphans_of(store, table)) == sorted(strays)
    assert table.batches == []


def test_the_grace_keeps_young_orphans_such_as_an_upload_in_flight(
    store: FakeStore, table: FakeTable
) -> None:
    in_flight = keys.original("bob", ID, "jpg")
    pending = keys.upload("bob", ID)
    put(store, in_flight, NOW - timedelta(minutes=14))
    put(store, pending, NOW - timedelta(seconds=0.5))

    report = sweeper(store, table).run()
    no_grace = orphans_of(store, table)

    assert report.too_young == 2 and sum(report.deleted.values()) == 0
    # Even with no grace, an object stamped within the store's one-second grain is kept.
    assert no_grace == [in_flight]
    assert pending in store.objects


@pytest.mark.parametrize("state", [UploadState.DONE, UploadState.FAILED])
def test_a_pending_direct_upload_is_kept_however_old_and_an_ended_one_is_not(
    store: FakeStore, table: FakeTable, state: UploadState
) -> None:
    """Given a direct upload whose event has yet to arrive (the store's event is late or
    redelivered), the sweep keeps its object past the grace; once it ended, it is an orphan."""
    pending, ended = (
        DirectUpload(id=i * 32, key=keys.upload("bob", i * 32), created_at=OLD) for i in "cd"
    )
    table.profiles["bob"] = table.profiles["bob"].model_copy(update={"upload": pending})
    table.profiles["ada"] = table.profiles["ada"].model_copy(
        update={"upload": ended.model_copy(update={"state": state})}
    )
    put(store, pending.key)
    put(store, ended.key)

    deleted: list[str] = []
    report = sweeper(store, table).run(timedelta(0), on_orphan=deleted.append)

    assert pending.key in store.objects and ended.key not in store.objects
    assert deleted == [ended.key]
    assert report.referenced == 5


def test_dry_run_reports_orphans_and_deletes_nothing(store: FakeStore, table: FakeTable) -> None:
    orphan = keys.original("ada", OLD_ID, "jpg")
    put(store, orphan)

    found: list[str] = []
    report = sweeper(store, table).run(timedelta(0), dry_run=True, on_orphan=found.append)

    assert orphan in store.objects and found == [orphan]
    assert keys.SWEEP_CHECKPOINT not in store.objects
    assert report.lines()[2] == (
        "orphans found (dry run, none deleted): 1 (originals 1, thumbnails 0, uploads 0)"
    )


class CountingStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def delete(self, keys: Iterable[str]) -> None:
        batch = list(keys)
        if batch != ["sweep/checkpoint.json"]:
            self.batches.append(len(batch))
        super().delete(batch)


def many(table: FakeTable, store: FakeStore, users: int, orphans: int) -> None:
    """users with a picture (an original and two thumbnails each), and orphans of a lost user."""
    for i in range(users):
        current = picture(f"u{i:04}", ID)
        table.create(profile(f"u{i:04}", current))
        for key in (current.key, *current.variants.values()):
            put(store, key)
    for i in range(orphans):
        put(store, keys.original("gone", f"{i:032x}", "jpg"))


def test_owners_are_read_by_key_a_page_at_a_time_never_the_whole_table() -> None:
    table, store = FakeTable(), CountingStore()
    many(table, store, users=700, orphans=1500)
    table.fault = lambda operation: AssertionError("scanned") if operation == "scan" else None

    report = sweeper(store, table).run(timedelta(0))

    assert report.checked == 3600 and report.referenced == 2100
    assert report.deleted["originals/"] == 1500
    assert max(table.batches) <= sweep.PAGE
    # Each user's three objects (one under originals/, two under thumbnails/) come together:
    # one read per owner, whatever prefix the object is under.
    assert report.owners_read == sum(table.batches) == 701
    assert store.batches == [1000, 500]


def test_memory_holds_a_page_and_a_bounded_cache_whatever_the_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep, "PAGE", 50)
    monkeypatch.setattr(sweep, "CACHE", 20)
    table, store = FakeTable(), FakeStore()
    many(table, store, users=400, orphans=0)
    seen: list[int] = []
    owners = sweep._Owners(table, SweepReport(dry_run=True), datetime.now(UTC), timedelta(hours=1))
    original = owners.of

    def watched(page: list[sweep.Listed]) -> dict[str, sweep.References]:
        got = original(page)
        seen.append(len(owners._cache))
        return got

    monkeypatch.setattr(sweep, "_Owners", lambda *_: owners)
    monkeypatch.setattr(owners, "of", watched)

    report = sweeper(store, table).run(timedelta(0))

    assert report.checked == 1200 and report.referenced == 1200
    assert max(seen) <= 20
    assert max(table.batches) <= 50


def test_a_sweep_out_of_time_stops_after_a_page_and_the_next_resumes_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep, "PAGE", 100)
    table, store = FakeTable(), FakeStore()
    many(table, store, users=100, orphans=150)
    progress: list[int] = []

    first = sweeper(store, table).run(
        timedelta(0), until=lambda: True, progress=lambda r: progress.append(r.checked)
    )

    assert (first.checked, progress) == (100, [100])
    assert first.stopped_after is not None and keys.SWEEP_CHECKPOINT in store.objects
    assert any("the next sweep resumes there" in line for line in first.lines())
    second = sweeper(store, table).run(timedelta(0))
    assert second.resumed_after == first.stopped_after
    assert first.checked + second.checked == 450
    assert sum(first.deleted.values()) + sum(second.deleted.values()) == 150
    assert (second.stopped_after, keys.SWEEP_CHECKPOINT in store.objects) == (None, False)
    assert len(list(store.list_keys(keys.ORIGINALS))) == 100


PAST_EVERY_KEY = json.dumps(
    {"after": {p: f"{p}zzz" for p in keys.PICTURES}, "last": "uploads/zzz"}
).encode()
BROKEN = [
    b"not json",
    b'{"after": "zzz"}',  # one position for all three listings, as before
    b'{"after": {}, "last": "x"}',
    b'{"after": {"sweep/": "sweep/x"}, "last": "sweep/x"}',
    b'{"after": {"originals/": "uploads/x"}, "last": "uploads/x"}',
    b'{"after": {"originals/": 3}, "last": "x"}',
    b'{"after": {"originals/": "originals/x"}, "last": null}',
    b'{"after": ["originals/"], "last": "originals/x"}',
]


def test_a_fresh_sweep_ignores_the_saved_position_and_a_broken_one_is_ignored(
    store: FakeStore, table: FakeTable
) -> None:
    orphan = keys.original("ada", OLD_ID, "jpg")
    put(store, orphan)
    store.put(keys.SWEEP_CHECKPOINT, PAST_EVERY_KEY, "application/json", "no-store")

    assert orphans_of(store, table) == []  # resumed past every key
    store.put(keys.SWEEP_CHECKPOINT, PAST_EVERY_KEY, "application/json", "no-store")
    assert orphans_of(store, table, fresh=True) == [orphan]
    for broken in BROKEN:
        put(store, orphan)
        store.put(keys.SWEEP_CHECKPOINT, broken, "application/json", "no-store")
        assert orphans_of(store, table) == [orphan], broken


class FolderFirstStore(FakeStore):
    """Lists as SeaweedFS does: folder by folder, each folder's entries by name, so `ada/...`
    comes before `ada.b/...` (S3's key order has them the other way round)."""

    def list_objects(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[tuple[str, datetime]]:
        self._check("list")
        after = start_after.split("/") if start_after is not None else None
        listed = sorted(
            (key for key in self.objects if key.startswith(prefix)), key=lambda k: k.split("/")
        )
        return iter(
            [(k, self.modified[k]) for k in listed if after is None or k.split("/") > after]
        )


def test_a_sweep_resumed_page_after_page_checks_each_object_once_in_a_store_s_own_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """User ids that are prefixes of others (`u1`, `u1-x`, `u1.y`) list in another order on
    SeaweedFS than by key: each listing resumes after its own last key, so none is skipped."""
    monkeypatch.setattr(sweep, "PAGE", 7)
    table, store = FakeTable(), FolderFirstStore()
    users = [f"u{i}{tail}" for i in range(6) for tail in ("", "-x", ".y", "_z")]
    expected: list[str] = []
    for n, user_id in enumerate(users):
        current = picture(user_id, ID)
        table.create(profile(user_id, current))
        for key in (current.key, *current.variants.values()):
            put(store, key)
        lost = [
            keys.original(user_id, OLD_ID, "png"),
            keys.thumbnail(user_id, OLD_ID, Variant(64), WEBP),
        ]
        if n % 2:
            lost.append(keys.upload(user_id, OLD_ID))
        for key in lost:
            put(store, key)
        expected += lost
    objects = len(store.objects)

    checked, found = 0, list[str]()
    for _ in range(objects):  # at most one run a page; each stops after its first page
        report = sweeper(store, table).run(timedelta(0), until=lambda: True, on_orphan=found.append)
        checked += report.checked
        if report.stopped_after is None:
            break

    assert sorted(found) == sorted(expected)  # each orphan once
    assert checked == objects
    assert set(store.objects) == {
        key for user_id in users for key in (keys.original(user_id, ID, "jpg"),)
    } | {key for user_id in users for key in picture(user_id, ID).variants.values()}


def test_progress_and_summary_lines_say_what_was_done(store: FakeStore, table: FakeTable) -> None:
    report = sweeper(store, table).run(timedelta(0))

    assert report.progress().startswith("sweep: 4 objects checked (")
    assert report.lines()[0].startswith("objects checked: 4 in ")
    assert "their owners' profiles read: 1" in report.lines()[0]


def test_an_orphan_stamped_exactly_at_the_cutoff_is_old_enough_to_delete(
    store: FakeStore, table: FakeTable
) -> None:
    """The cutoff is the grace plus the store's one-second grain: at it, deleted; after, kept."""
    at_cutoff, after = keys.original("bob", ID, "jpg"), keys.original("bob", OLD_ID, "jpg")
    put(store, at_cutoff, NOW - timedelta(minutes=15, seconds=1))
    put(store, after, NOW - timedelta(minutes=15, seconds=1) + timedelta(microseconds=1))

    deleted: list[str] = []
    report = sweeper(store, table).run(timedelta(minutes=15), on_orphan=deleted.append)

    assert deleted == [at_cutoff] and report.too_young == 1
    assert at_cutoff not in store.objects and after in store.objects


def test_a_reports_lines_say_what_was_done_and_where_it_resumed_and_stopped() -> None:
    deleted = Counter({keys.ORIGINALS: 2, keys.UPLOADS: 1})
    dry = SweepReport(dry_run=True, checked=9, referenced=4, too_young=2, owners_read=3,
                      deleted=deleted, seconds=3.0, resumed_after="originals/ada/x.jpg",
                      stopped_after="uploads/zed/y")  # fmt: skip
    done = SweepReport(dry_run=False, checked=9, deleted=Counter({keys.THUMBNAILS: 5}))

    assert dry.lines() == [
        "objects checked: 9 in 3.0 s (3/s), their owners' profiles read: 3"
        " (resumed after originals/ada/x.jpg)",
        "objects kept: 4 referenced, 2 younger than the grace",
        "orphans found (dry run, none deleted): 3 (originals 2, thumbnails 0, uploads 1)",
        "stopped after uploads/zed/y: the next sweep resumes there",
    ]
    assert dry.progress() == "sweep: 9 objects checked (3/s), 3 orphans, at uploads/zed/y"
    assert done.lines()[0] == "objects checked: 9 in 0.0 s (0/s), their owners' profiles read: 0"
    assert done.lines()[2] == "orphans deleted: 5 (originals 0, thumbnails 5, uploads 0)"
    assert done.progress() == "sweep: 9 objects checked (0/s), 5 orphans"


def test_a_saved_position_is_private_json_and_an_unreadable_one_is_logged(
    store: FakeStore, table: FakeTable, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(logging.getLogger("profilepics"), "propagate", True)
    sweeper(store, table).run(timedelta(0), until=lambda: True)
    assert store.headers[keys.SWEEP_CHECKPOINT] == ("application/json", "no-store")

    store.put(keys.SWEEP_CHECKPOINT, b"not json", "application/json", "no-store")
    with caplog.at_level(logging.WARNING):
        sweeper(store, table).run(timedelta(0))

    assert [r.getMessage() for r in caplog.records] == [
        "the sweep's checkpoint is unreadable: starting from the beginning"
    ]


def test_retired_variants_are_kept_while_their_urls_may_work_and_swept_after(
    store: FakeStore, table: FakeTable
) -> None:
    """A regeneration retires the old set: a URL for it may be signed from a profile read just
    before (the read cache, the table's lag) and lasts url_expiry_seconds from then, so it
    stays until retired_at plus all of that, and goes at that moment."""
    current = table.profiles["ada"].picture
    assert current is not None
    old = f"{keys.thumbnail_prefix('ada', ID)}32.old.webp"  # a set made under older settings
    put(store, old)
    settings = Settings()
    life = timedelta(
        seconds=settings.url_expiry_seconds + settings.read_cache_seconds + TABLE_LAG_SECONDS
    )

    def retired(at: datetime) -> list[str]:
        table.profiles["ada"] = table.profiles["ada"].model_copy(
            update={"picture": current.model_copy(update={"retired": [old], "retired_at": at})}
        )
        return orphans_of(store, table, dry_run=True)

    assert retired(NOW - life + timedelta(seconds=1)) == []
    assert retired(NOW - life) == [old]


def test_progress_is_said_once_the_interval_has_passed_and_then_again_an_interval_later() -> None:
    now = [100.0]
    said: list[str] = []
    progress = sweep.every(30, said.append, monotonic=lambda: now[0])
    report = SweepReport(dry_run=False, checked=5)

    for at in (129.9, 130.0, 159.9, 160.0):
        now[0] = at
        progress(report)

    assert said == [report.progress()] * 2


def test_a_reports_seconds_are_its_own_run_s_until_it_stopped_or_finished(
    store: FakeStore, table: FakeTable
) -> None:
    def ticks() -> Iterator[float]:
        yield from (1000.0, 1002.5, 1004.0)

    def swept(**options: object) -> SweepReport:
        clock = ticks()
        run = Sweeper(store, table, lambda: NOW, monotonic=lambda: next(clock)).run
        return run(timedelta(0), **options)  # type: ignore[arg-type]

    assert swept(until=lambda: True).seconds == 2.5  # stopped after its one page
    assert swept(fresh=True).seconds == 4.0


def test_a_stopped_sweep_says_it_stopped_after_the_last_key_it_checked(
    store: FakeStore, table: FakeTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep, "PAGE", 3)
    in_order = sorted(store.objects, key=lambda key: key.split("/", 1)[1])  # by owner, then key

    first = sweeper(store, table).run(timedelta(0), until=lambda: True)

    assert first.stopped_after == in_order[2]
    assert first.progress().endswith(f", at {in_order[2]}")
    assert sweeper(store, table).run(timedelta(0)).checked == len(in_order) - 3


def test_an_owner_whose_objects_span_pages_is_read_once_even_with_the_smallest_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep, "PAGE", 2)  # three objects an owner: each spans two pages
    monkeypatch.setattr(sweep, "CACHE", 1)
    table, store = FakeTable(), FakeStore()
    many(table, store, users=3, orphans=0)

    report = sweeper(store, table).run(timedelta(0))

    assert (report.checked, report.referenced, report.owners_read) == (9, 9, 3)


def test_a_re_crop_s_retired_square_is_kept_and_a_square_it_never_recorded_is_swept(
    store: FakeStore, table: FakeTable
) -> None:
    """A re-crop records its square's variants and retires the old ones (URLs for them may
    still work); a re-crop that failed mid-way left variants of a square nothing records."""
    current = table.profiles["ada"].picture
    assert current is not None
    tag, lost = keys.next_crop_tag(""), keys.next_crop_tag("c1-00000000")
    recropped = current.model_copy(
        update={
            "crop_tag": tag,
            "variants": {
                Variant(s).id: keys.thumbnail("ada", ID, Variant(s), WEBP, tag) for s in (64, 128)
            },
            "retired": list(current.variants.values()),
            "retired_at": NOW,
        }
    )
    table.profiles["ada"] = table.profiles["ada"].model_copy(update={"picture": recropped})
    for key in recropped.variants.values():
        put(store, key)
    unrecorded = keys.thumbnail("ada", ID, Variant(256), WEBP, lost)
    put(store, unrecorded)
    animated = keys.thumbnail("ada", ID, Variant(256, animated=True), WEBP)  # of the old square

    assert set(orphans_of(store, table, dry_run=True)) == {unrecorded, animated}
