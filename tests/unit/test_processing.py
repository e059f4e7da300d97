"""Event-driven processing on in-memory fakes: variants, races, redelivery, ingest, deadline."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from PIL import ImageFile
from profilepics import keys, placeholder, processing
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import Conflict, InternalError, StorageUnavailable, TableUnavailable
from profilepics.formats import ImageFormat, Variant
from profilepics.images import clean_image
from profilepics.models import (
    Crop,
    DirectUpload,
    Picture,
    PictureStatus,
    Profile,
    UploadRequest,
    UploadState,
)
from profilepics.processing import POINTER_WAITS, Outcome

from tests.fakes import FakeStore, FakeTable, failing
from tests.unit import imagegen as gen
from tests.unit.test_crop import quadrants

USER = "ada"
SIZES = ["64", "128", "256", "512"]
FORMATS = {"webp": ("WEBP", "q80m4.webp"), "avif": ("AVIF", "q60s8.avif")}


class World:
    """The use cases wired to fakes, with a user who has no picture yet."""

    def __init__(
        self,
        table: FakeTable | None = None,
        clock: Callable[[], datetime] | None = None,
        **settings: object,
    ) -> None:
        self.settings = Settings.model_validate({"processing_deadline_seconds": 300, **settings})
        self.store = FakeStore()
        self.table = table or FakeTable()
        self.pauses: list[float] = []
        self.during_pause: Callable[[], None] = lambda: None
        parts = build(
            self.settings, store=self.store, table=self.table, sleep=self._sleep, clock=clock
        )
        self.presenter, self.pictures = parts.presenter, parts.pictures
        self.processing = parts.processing
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

    def _sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.during_pause()

    def upload(self, data: bytes) -> Picture:
        picture, _ = self.pictures.replace(USER, clean_image(data, self.pictures.limits()))
        return picture

    def picture(self) -> Picture:
        profile = self.table.get(USER)
        assert profile is not None and profile.picture is not None
        return profile.picture

    def thumbnail_keys(self) -> list[str]:
        return sorted(self.store.list_keys(keys.THUMBNAILS))


@pytest.fixture
def world() -> World:
    return World()


def jpeg(width: int = 800, height: int = 600) -> bytes:
    return gen.encode(gen.photo(width, height), "JPEG", quality=85)


def test_new_original_gets_four_square_sizes_in_webp_and_avif_and_ready_status(
    world: World,
) -> None:
    picture = world.upload(jpeg())
    assert world.picture().status is PictureStatus.PROCESSING

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    stored = world.picture()
    assert stored.status is PictureStatus.READY
    assert set(stored.variants) == {f"{s}.{f}" for s in SIZES for f in FORMATS}
    for variant_id, key in stored.variants.items():
        size, fmt = variant_id.split(".")
        pillow_name, ending = FORMATS[fmt]
        # The encoder's settings are in the key: other settings never overwrite these.
        assert key == f"thumbnails/{USER}/{picture.id}/{size}.{ending}"
        img = gen.decode(world.store.objects[key])
        assert (img.format, img.size) == (pillow_name, (int(size), int(size)))
        assert world.store.headers[key] == (f"image/{fmt}", keys.IMMUTABLE)


def test_duplicate_event_writes_nothing_more(world: World) -> None:
    picture = world.upload(jpeg())
    world.processing.make_thumbnails(picture.key)
    objects, puts = dict(world.store.objects), world.store.journal.actions("put")

    assert world.processing.make_thumbnails(picture.key) is Outcome.ALREADY_READY

    assert world.store.objects == objects
    assert world.store.journal.actions("put") == puts


def test_keys_outside_originals_are_ignored_without_touching_anything(world: World) -> None:
    picture = world.upload(jpeg())
    world.processing.make_thumbnails(picture.key)
    objects = dict(world.store.objects)
    for key in (*world.picture().variants.values(), "uploads/ada/x", "originals/ada/notanid.jpg"):
        assert world.processing.make_thumbnails(key) is Outcome.IGNORED
    assert world.store.objects == objects


def stored_but_not_yet_current(world: World) -> Picture:
    """An original in the store whose profile write has not landed yet."""
    picture_id = uuid.uuid4().hex
    key = keys.original(USER, picture_id, "jpg")
    world.store.put(key, jpeg(), "image/jpeg", keys.IMMUTABLE)
    return Picture(
        id=picture_id,
        key=key,
        format="jpeg",
        content_type="image/jpeg",
        width=800,
        height=600,
        bytes=1,
        uploaded_at=utcnow(),
    )


def test_event_that_beats_the_profile_write_waits_for_it(world: World) -> None:
    """The original is stored first, so its event can arrive before the profile points at it."""
    picture = stored_but_not_yet_current(world)
    world.during_pause = lambda: world.table.set_picture(USER, picture, 0, utcnow())

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    assert world.pauses == [POINTER_WAITS[0]]
    assert world.picture().status is PictureStatus.READY


def test_event_whose_profile_write_never_lands_fails_to_be_retried(world: World) -> None:
    picture = stored_but_not_yet_current(world)

    with pytest.raises(Conflict, match=r"^The profile does not point at this picture \(yet\)$"):
        world.processing.make_thumbnails(picture.key)

    assert world.pauses == list(POINTER_WAITS)
    assert sum(POINTER_WAITS) < 1.0
    assert world.thumbnail_keys() == []
    world.table.set_picture(USER, picture, 0, utcnow())
    assert world.processing.make_thumbnails(picture.key) is Outcome.READY  # the retry


def test_late_event_of_a_replaced_picture_leaves_no_variants(world: World) -> None:
    first = world.upload(jpeg())
    second = world.upload(jpeg(640, 480))
    assert first.key not in world.store.objects
    # Variants of the first that a slow run wrote after the replacement cleaned up:
    late = keys.thumbnail(USER, first.id, Variant(64), world.settings.encodings[ImageFormat.WEBP])
    world.store.put(late, b"late", "image/webp", keys.IMMUTABLE)

    assert world.processing.make_thumbnails(first.key) is Outcome.SUPERSEDED
    assert world.pauses == []  # a deleted original is not waited for
    assert world.processing.make_thumbnails(second.key) is Outcome.READY
    assert {k.split("/")[2] for k in world.thumbnail_keys()} == {second.id}


class ChangedBeforeEachWrite(FakeTable):
    """A table where another writer changes the stored picture (to change(it)) just before
    each of the run's writes of it."""

    def __init__(self, change: Callable[[Picture], Picture]) -> None:
        super().__init__()
        self._change = change

    def swap_picture(
        self, user_id: str, picture: Picture, expected_revision: int, now: datetime
    ) -> None:
        current = self.profiles[user_id].picture
        assert current is not None
        changed = self._change(current)
        self.profiles[user_id] = self.profiles[user_id].model_copy(update={"picture": changed})
        super().swap_picture(user_id, picture, expected_revision, now)


def test_replacement_during_the_run_deletes_the_variants_it_made() -> None:
    world = World(ChangedBeforeEachWrite(lambda p: p.model_copy(update={"id": uuid.uuid4().hex})))
    picture = world.upload(jpeg())

    assert world.processing.make_thumbnails(picture.key) is Outcome.SUPERSEDED
    assert world.thumbnail_keys() == []


def test_corrupt_original_is_failed_with_a_code_not_left_processing(world: World) -> None:
    picture = world.upload(jpeg())
    world.store.objects[picture.key] = b"\xff\xd8\xff\xe0 garbage, not a JPEG any more"

    assert world.processing.make_thumbnails(picture.key) is Outcome.FAILED

    stored = world.picture()
    assert (stored.status, stored.error) == (PictureStatus.FAILED, "image_corrupt")
    assert world.thumbnail_keys() == []
    assert world.presenter.picture(stored).status == "failed"


def test_original_past_the_limits_is_failed_with_its_code_before_decoding(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = world.upload(jpeg())
    # Swapped in the bucket after its upload: 136 bytes of WebP declaring two 7000x7000 frames.
    world.store.objects[picture.key] = gen.webp_solid(7000, 7000, 2)

    def no_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the header alone must decide")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    assert world.processing.make_thumbnails(picture.key) is Outcome.FAILED

    stored = world.picture()
    assert (stored.status, stored.error) == (PictureStatus.FAILED, "image_too_large")
    assert world.thumbnail_keys() == []


def test_store_fault_is_raised_for_redelivery_which_then_succeeds(world: World) -> None:
    picture = world.upload(jpeg())
    world.store.fault = lambda _operation: StorageUnavailable()
    with pytest.raises(StorageUnavailable):
        world.processing.make_thumbnails(picture.key)
    world.store.fault = lambda _operation: None

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY
    assert world.picture().status is PictureStatus.READY


def test_animated_gif_gets_static_variants_and_an_animated_webp(world: World) -> None:
    picture = world.upload(gen.animation("GIF", 4, (300, 200), durations=[100] * 4))

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    variants = world.picture().variants
    assert set(variants) == {*(f"{s}.{f}" for s in SIZES for f in FORMATS), "animated.webp"}
    animated = gen.decode(world.store.objects[variants["animated.webp"]])
    assert (animated.format, animated.size, gen.frame_count(animated)) == ("WEBP", (200, 200), 4)
    for fmt in FORMATS:
        static = gen.decode(world.store.objects[variants[f"128.{fmt}"]])
        assert (static.size, gen.frame_count(static)) == ((128, 128), 1)


def test_processing_picture_points_every_size_at_the_original(world: World) -> None:
    picture = world.upload(jpeg())
    public = world.presenter.picture(world.picture())
    assert public.status == "processing"
    assert set(public.variants.values()) == {public.url}
    assert public.url.startswith(f"https://store.test/profilepics/{picture.key}")


def test_picture_processing_past_the_deadline_reads_as_failed_timeout() -> None:
    world = World(processing_deadline_seconds=30)
    picture = world.upload(jpeg())
    stale = picture.model_copy(update={"uploaded_at": utcnow() - timedelta(seconds=31)})
    world.table.swap_picture(USER, stale, stale.revision, utcnow())

    public = world.presenter.picture(world.picture())
    assert (public.status, public.error) == ("failed", "processing_timeout")
    url = world.pictures.url(USER, "128")
    assert url.status == "failed"
    assert picture.key in url.url


def start_upload(world: World) -> DirectUpload:
    world.pictures.start_direct_upload(USER)
    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    return profile.upload


def test_direct_upload_is_cleaned_published_and_removed_from_quarantine(world: World) -> None:
    upload = start_upload(world)
    world.store.put(upload.key, gen.oriented(gen.marked(80, 40), 6), "image/jpeg", "")

    assert world.processing.ingest(upload.key) is Outcome.INGESTED

    profile = world.table.get(USER)
    assert profile is not None and profile.picture is not None and profile.upload is not None
    assert profile.upload.state is UploadState.DONE
    assert upload.key not in world.store.objects
    original = gen.decode(world.store.objects[profile.picture.key])
    assert original.size == (80, 40)  # upright again: stored turned, with orientation 6
    assert "exif" not in original.info


def test_invalid_direct_upload_records_its_code_and_leaves_nothing(world: World) -> None:
    upload = start_upload(world)
    world.store.put(upload.key, b"just some text, sent as image/jpeg", "image/jpeg", "")

    assert world.processing.ingest(upload.key) is Outcome.REJECTED

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None and profile.picture is None
    assert profile.upload.state is UploadState.FAILED
    assert profile.upload.error_code == "unsupported_media_type"
    assert world.store.objects == {}


def test_upload_beyond_max_bytes_is_rejected_by_ingest_too() -> None:
    world = World(max_bytes=10_000)
    upload = start_upload(world)
    world.store.put(upload.key, jpeg(1600, 1200), "image/jpeg", "")

    assert world.processing.ingest(upload.key) is Outcome.REJECTED

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    assert profile.upload.error_code == "file_too_large"
    assert world.store.objects == {}


def test_stray_redelivered_and_reused_policy_uploads_are_dropped(world: World) -> None:
    stray = keys.upload(USER, uuid.uuid4().hex)
    world.store.put(stray, jpeg(), "image/jpeg", "")
    assert world.processing.ingest(stray) is Outcome.IGNORED
    assert stray not in world.store.objects

    upload = start_upload(world)
    world.store.put(upload.key, jpeg(), "image/jpeg", "")
    assert world.processing.ingest(upload.key) is Outcome.INGESTED
    assert world.processing.ingest(upload.key) is Outcome.IGNORED  # redelivered
    picture = world.picture()

    world.store.put(upload.key, jpeg(), "image/jpeg", "")  # the same policy, used again
    assert world.processing.ingest(upload.key) is Outcome.IGNORED
    assert world.picture() == picture
    assert upload.key not in world.store.objects


def test_variants_of_a_small_original_are_still_exactly_their_size(world: World) -> None:
    picture = world.upload(gen.encode(gen.photo(100, 150), "PNG"))
    world.processing.make_thumbnails(picture.key)
    sizes = {
        variant_id: gen.decode(world.store.objects[key]).size
        for variant_id, key in world.picture().variants.items()
    }
    assert sizes == {f"{s}.{f}": (int(s), int(s)) for s in SIZES for f in FORMATS}


# --- the crop and the placeholder --------------------------------------------------------


def test_variants_show_the_recorded_crop_and_the_ready_picture_has_its_placeholder(
    world: World,
) -> None:
    clean = clean_image(gen.encode(quadrants(600), "PNG"), world.pictures.limits())
    picture, _ = world.pictures.replace(USER, clean, Crop(x=300, y=0, w=300, h=300))
    assert world.picture().placeholder is None
    assert world.processing.make_thumbnails(picture.key) is Outcome.READY
    ready = world.picture()
    img = gen.decode(world.store.get(ready.variants["64.webp"]) or b"")
    r, g, b = gen.pixel(img, (32, 32))[:3]
    assert g > 200 and r < 60 and b < 60
    assert ready.placeholder is not None
    mean = placeholder.average_rgba(ready.placeholder)
    assert mean[1] > 0.7 and mean[0] < 0.2 and mean[2] < 0.2


def test_without_a_crop_the_picture_records_the_default_square(world: World) -> None:
    world.upload(jpeg(300, 500))
    assert world.picture().crop == Crop(x=0, y=20, w=300, h=300)


def test_a_direct_uploads_crop_outside_its_picture_fails_it_with_invalid_crop(
    world: World,
) -> None:
    world.pictures.start_direct_upload(USER, UploadRequest(crop=Crop(x=700, y=0, w=200, h=200)))
    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    world.store.put(profile.upload.key, jpeg(800, 600), "image/jpeg", "")
    assert world.processing.ingest(profile.upload.key) is Outcome.REJECTED
    after = world.table.get(USER)
    assert after is not None and after.upload is not None
    assert (after.upload.state, after.upload.error_code) == (UploadState.FAILED, "invalid_crop")
    assert after.picture is None
    assert list(world.store.list_keys("")) == []


def landed_upload(world: World) -> DirectUpload:
    upload = start_upload(world)
    world.store.put(upload.key, jpeg(), "image/jpeg", "")
    return upload


def claimed_at(world: World, upload: DirectUpload, age: timedelta) -> DirectUpload:
    """The upload as a delivery that claimed it age ago (and may have died since) left it."""
    claim = upload.model_copy(
        update={"state": UploadState.PROCESSING, "claimed_at": utcnow() - age}
    )
    world.table.swap_upload(USER, upload, claim, utcnow())
    return claim


def test_of_two_overlapping_deliveries_only_the_one_holding_the_claim_publishes(
    world: World,
) -> None:
    """Given a second delivery of the same event that claims the upload between the first's
    read and its claim, then the first stops: one picture change, one original stored."""
    upload = landed_upload(world)
    second: list[Outcome] = []

    def rival(_user_id: str) -> None:
        world.table.before_swap_upload = lambda _user_id: None
        second.append(world.processing.ingest(upload.key))

    world.table.before_swap_upload = rival

    first = world.processing.ingest(upload.key)

    assert (first, second) == (Outcome.DUPLICATE, [Outcome.INGESTED])
    assert len(world.table.journal.actions("set_picture")) == 1
    assert len(list(world.store.list_keys(keys.ORIGINALS))) == 1
    profile = world.table.get(USER)
    assert profile is not None and profile.version == 1 and profile.upload is not None
    assert profile.upload.state is UploadState.DONE


def test_a_delivery_finding_a_live_claim_stops_and_leaves_the_object_to_its_holder(
    world: World,
) -> None:
    upload = landed_upload(world)
    claim = claimed_at(world, upload, timedelta(seconds=5))

    assert world.processing.ingest(upload.key) is Outcome.DUPLICATE

    assert upload.key in world.store.objects
    assert world.table.journal.actions("set_picture") == []
    profile = world.table.get(USER)
    assert profile is not None and profile.upload == claim


def test_a_claim_older_than_its_lease_is_taken_over_and_published_once(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its holder was killed at the function's timeout: the next delivery finishes the job."""
    monkeypatch.setattr(logging.getLogger("profilepics"), "propagate", True)
    upload = landed_upload(world)
    old = claimed_at(world, upload, timedelta(seconds=world.settings.upload_claim_seconds + 1))

    with caplog.at_level(logging.WARNING, logger="profilepics.processing"):
        assert world.processing.ingest(upload.key) is Outcome.INGESTED

    assert [r.getMessage() for r in caplog.records] == [
        f"taking over upload {upload.id}, claimed at {old.claimed_at}"
    ]
    assert world.processing.ingest(upload.key) is Outcome.IGNORED

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None and profile.version == 1
    assert profile.upload.state is UploadState.DONE
    assert upload.key not in world.store.objects


def test_a_store_fault_after_the_claim_hands_it_back_so_the_retry_can_claim_it(
    world: World,
) -> None:
    upload = landed_upload(world)
    world.store.fault = lambda operation: StorageUnavailable() if operation == "get" else None

    with pytest.raises(StorageUnavailable):
        world.processing.ingest(upload.key)

    profile = world.table.get(USER)
    assert profile is not None and profile.upload == upload  # pending again, unclaimed
    world.store.fault = lambda _operation: None
    assert world.processing.ingest(upload.key) is Outcome.INGESTED


def test_a_claim_taken_over_during_the_publish_publishes_nothing_and_leaves_no_object(
    world: World,
) -> None:
    upload = landed_upload(world)

    def take_over(_user_id: str) -> None:
        profile = world.table.get(USER)
        assert profile is not None and profile.upload is not None
        world.table.before_set_picture = lambda _user_id: None
        later = profile.upload.model_copy(update={"claimed_at": utcnow() + timedelta(hours=1)})
        world.table.swap_upload(USER, profile.upload, later, utcnow())

    world.table.before_set_picture = take_over

    assert world.processing.ingest(upload.key) is Outcome.DUPLICATE

    profile = world.table.get(USER)
    assert profile is not None and profile.picture is None and profile.version == 0
    assert list(world.store.list_keys(keys.ORIGINALS)) == []
    assert upload.key in world.store.objects  # the new holder's to publish


def test_a_rejected_upload_ends_failed_from_its_claim() -> None:
    world = World()
    upload = start_upload(world)
    world.store.put(upload.key, b"not an image at all", "image/jpeg", "")

    assert world.processing.ingest(upload.key) is Outcome.REJECTED

    assert world.table.journal.actions("swap_upload") == [
        f"{upload.id}:processing",
        f"{upload.id}:failed",
    ]


@pytest.mark.parametrize(
    ("crop", "outcome"),
    [
        (Crop(x=600, y=400, w=200, h=200), Outcome.INGESTED),  # the bottom-right corner
        (Crop(x=0, y=500, w=200, h=200), Outcome.REJECTED),  # below the picture
    ],
)
def test_a_direct_uploads_crop_is_checked_against_both_sides_and_recorded(
    world: World, crop: Crop, outcome: Outcome
) -> None:
    world.pictures.start_direct_upload(USER, UploadRequest(crop=crop))
    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    world.store.put(profile.upload.key, jpeg(800, 600), "image/jpeg", "")

    assert world.processing.ingest(profile.upload.key) is outcome

    after = world.table.get(USER)
    assert after is not None and after.upload is not None
    if outcome is Outcome.INGESTED:
        assert after.picture is not None and after.picture.crop == crop
    else:
        assert after.upload.error_code == "invalid_crop"


def test_a_delivery_holds_its_claim_stamped_while_it_publishes(world: World) -> None:
    upload = landed_upload(world)
    seen: list[Profile] = []
    world.table.before_set_picture = lambda user_id: seen.append(world.table.profiles[user_id])
    before = utcnow()

    assert world.processing.ingest(upload.key) is Outcome.INGESTED

    [held] = seen
    assert held.upload is not None and held.upload.state is UploadState.PROCESSING
    assert held.upload.claimed_at is not None and held.upload.claimed_at >= before
    assert held.updated_at == held.upload.claimed_at  # the claim is a write of the profile


def test_an_upload_whose_object_is_gone_after_its_claim_is_handed_back(world: World) -> None:
    """Its object vanished between the event and the read: the upload goes back to pending
    (the healer expires it), not left claimed."""
    upload = landed_upload(world)

    def object_gone(_user_id: str) -> None:
        world.table.before_swap_upload = lambda _user_id: None
        del world.store.objects[upload.key]

    world.table.before_swap_upload = object_gone

    assert world.processing.ingest(upload.key) is Outcome.IGNORED

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    assert (profile.upload.state, profile.upload.claimed_at) == (UploadState.PENDING, None)


def test_each_recorded_status_is_a_new_revision_stamped_on_the_profile(world: World) -> None:
    picture = world.upload(jpeg())
    before = world.table.profiles[USER].updated_at

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    assert world.picture().revision == picture.revision + 1
    assert world.table.profiles[USER].updated_at >= before


def test_a_rejected_or_released_upload_stamps_the_profile(world: World) -> None:
    rejected = start_upload(world)
    world.store.put(rejected.key, b"not an image", "image/jpeg", "")
    assert world.processing.ingest(rejected.key) is Outcome.REJECTED
    assert world.table.profiles[USER].updated_at >= rejected.created_at

    released = landed_upload(world)
    world.store.fault = lambda op: StorageUnavailable() if op == "get" else None
    with pytest.raises(StorageUnavailable):
        world.processing.ingest(released.key)
    profile = world.table.profiles[USER]
    assert profile.upload is not None and profile.upload.state is UploadState.PENDING
    assert profile.updated_at >= released.created_at


def test_a_release_that_fails_too_leaves_the_first_fault_to_be_retried(world: World) -> None:
    """The store fails after the claim, and handing the claim back fails as well: the event
    is retried for the store's fault (the claim's lease lets a later delivery take over)."""
    upload = landed_upload(world)
    world.store.fault = failing("get")

    def table_down(_user_id: str) -> None:
        world.table.fault = failing("swap_upload", error=TableUnavailable)

    def after_the_claim(_user_id: str) -> None:
        world.table.before_swap_upload = table_down

    world.table.before_swap_upload = after_the_claim

    with pytest.raises(StorageUnavailable):
        world.processing.ingest(upload.key)


def test_events_for_keys_or_users_that_are_not_there_are_ignored(world: World) -> None:
    nobody_upload = keys.upload("nobody", uuid.uuid4().hex)
    nobody_original = keys.original("nobody", uuid.uuid4().hex, "jpg")

    assert world.processing.ingest(f"{keys.ORIGINALS}not-an-upload") is Outcome.IGNORED
    assert world.processing.ingest(nobody_upload) is Outcome.IGNORED
    assert world.processing.make_thumbnails(nobody_original) is Outcome.SUPERSEDED


def test_a_bug_while_making_variants_fails_the_picture_and_is_raised_for_retry(
    world: World,
) -> None:
    picture = world.upload(jpeg())
    world.store.fault = failing("get", error=InternalError)

    with pytest.raises(InternalError):
        world.processing.make_thumbnails(picture.key)

    assert world.picture().status is PictureStatus.FAILED


def test_a_claim_is_live_for_exactly_its_lease_then_taken_over() -> None:
    now = utcnow()
    world = World(clock=lambda: now)
    upload = landed_upload(world)
    lease = timedelta(seconds=world.settings.upload_claim_seconds)
    just_live = now - lease + timedelta(microseconds=1)
    live = upload.model_copy(update={"state": UploadState.PROCESSING, "claimed_at": just_live})
    world.table.swap_upload(USER, upload, live, now)

    assert world.processing.ingest(upload.key) is Outcome.DUPLICATE

    expired = live.model_copy(update={"claimed_at": now - lease})
    world.table.swap_upload(USER, live, expired, now)
    assert world.processing.ingest(upload.key) is Outcome.INGESTED


def test_of_two_overlapping_runs_of_one_picture_the_later_keeps_the_earlier_ones_thumbnails(
    world: World,
) -> None:
    """A duplicate delivery made the picture ready while this run encoded: the variant keys
    are the same for both runs, so what this run wrote is what the profile records."""
    picture = world.upload(jpeg())
    rival: list[Outcome] = []

    def rival_finishes_first(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        rival.append(world.processing.make_thumbnails(picture.key))

    world.table.before_swap_picture = rival_finishes_first

    assert world.processing.make_thumbnails(picture.key) is Outcome.SUPERSEDED

    stored = world.picture()
    assert rival == [Outcome.READY] and stored.status is PictureStatus.READY
    assert world.thumbnail_keys() == sorted(stored.variants.values())
    assert len(stored.variants) == len(SIZES) * len(FORMATS)


def test_a_picture_changed_but_still_processing_while_a_run_encoded_gets_its_variants(
    world: World,
) -> None:
    picture = world.upload(jpeg())

    def changed_meanwhile(user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        current = world.picture()
        bumped = current.model_copy(update={"revision": current.revision + 1})
        world.table.swap_picture(user_id, bumped, current.revision, utcnow())

    world.table.before_swap_picture = changed_meanwhile

    assert world.processing.make_thumbnails(picture.key) is Outcome.READY

    stored = world.picture()
    assert (stored.status, stored.revision) == (PictureStatus.READY, picture.revision + 2)
    assert world.thumbnail_keys() == sorted(stored.variants.values())
    assert len(stored.variants) == len(SIZES) * len(FORMATS)


def test_a_picture_that_changes_before_every_write_gets_no_variants_and_keeps_none() -> None:
    """Still processing, but at a new revision each time: the run never writes over one."""
    world = World(
        ChangedBeforeEachWrite(lambda p: p.model_copy(update={"revision": p.revision + 1}))
    )
    picture = world.upload(jpeg())

    assert world.processing.make_thumbnails(picture.key) is Outcome.SUPERSEDED

    stored = world.picture()
    assert (stored.status, stored.variants) == (PictureStatus.PROCESSING, {})
    assert stored.revision == picture.revision + processing.RECORD_ATTEMPTS
    assert world.thumbnail_keys() == []


def test_a_profile_that_keeps_changing_hands_the_claim_back_and_is_raised_for_retry(
    world: World,
) -> None:
    upload = landed_upload(world)
    world.table.fault = failing("set_picture", error=Conflict)

    with pytest.raises(Conflict):
        world.processing.ingest(upload.key)

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None and profile.picture is None
    assert (profile.upload.state, profile.upload.claimed_at) == (UploadState.PENDING, None)
    assert upload.key in world.store.objects  # for the retry
    world.table.fault = lambda _operation: None
    assert world.processing.ingest(upload.key) is Outcome.INGESTED


def test_a_bug_while_checking_a_direct_upload_is_raised_and_does_not_fail_the_upload(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = landed_upload(world)

    def bug(*_: object) -> None:
        raise InternalError()

    monkeypatch.setattr(world.pictures, "validated", bug)
    with pytest.raises(InternalError):
        world.processing.ingest(upload.key)

    profile = world.table.get(USER)
    assert profile is not None and profile.upload is not None
    assert (profile.upload.state, profile.upload.error_code) == (UploadState.PENDING, None)
    assert upload.key in world.store.objects


def test_a_rejected_upload_replaced_before_it_failed_is_logged_and_left_to_the_new_one(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("profilepics"), "propagate", True)
    upload = start_upload(world)
    world.store.put(upload.key, b"not an image at all", "image/jpeg", "")
    newer: list[DirectUpload] = []

    def replaced_after_the_claim(_user_id: str) -> None:
        profile = world.table.profiles[USER]
        if profile.upload is not None and profile.upload.state is UploadState.PROCESSING:
            world.table.before_swap_upload = lambda _user_id: None
            world.pictures.start_direct_upload(USER)
            newer.append(world.table.profiles[USER].upload or upload)

    world.table.before_swap_upload = replaced_after_the_claim
    with caplog.at_level(logging.INFO, logger="profilepics.processing"):
        assert world.processing.ingest(upload.key) is Outcome.REJECTED

    assert caplog.messages == [f"upload {upload.id} was replaced or taken over before it failed"]
    profile = world.table.get(USER)
    assert profile is not None and [profile.upload] == newer
