"""The picture use cases on in-memory fakes: write order, rollback, conflicts, URLs, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from profilepics import keys, pictures
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import (
    Conflict,
    FileTooLarge,
    ImageCorrupt,
    InvalidCrop,
    StorageUnavailable,
    TableUnavailable,
    UnsupportedMediaType,
    UserNotFound,
    ValidationFailed,
)
from profilepics.formats import ImageFormat, Variant
from profilepics.models import (
    Crop,
    DirectUpload,
    Picture,
    PictureStatus,
    PictureURL,
    Profile,
    UploadRequest,
)
from profilepics.pictures import Pictures
from profilepics.presenter import Presenter
from pydantic import ValidationError as PydanticValidationError

from tests.fakes import FakeStore, FakeTable, Journal, failing
from tests.unit import imagegen as gen

USER = "ada"
WEBP = Settings().encodings[ImageFormat.WEBP]
JPEG = gen.encode(gen.photo(40, 30), "JPEG")
PNG = gen.encode(gen.marked(24, 12), "PNG")


@dataclass
class World:
    journal: Journal
    store: FakeStore
    table: FakeTable
    pictures: Pictures
    presenter: Presenter

    def current(self, user_id: str = USER) -> Picture | None:
        return self.table.profiles[user_id].picture

    def originals(self, user_id: str = USER) -> list[str]:
        return list(self.store.list_keys(f"{keys.ORIGINALS}{user_id}/"))


def _profile(user_id: str, name: str = "Ada Lovelace") -> Profile:
    now = utcnow()
    return Profile(
        user_id=user_id, display_name=name, email="ada@example.com", created_at=now, updated_at=now
    )


@pytest.fixture
def world() -> World:
    # Reads here follow writes made a moment before: the display cache (test_recent.py) off.
    settings = Settings(
        api_base_url="https://api.test", thumbnail_sizes=[64, 128], read_cache_seconds=0
    )
    journal = Journal()
    store, table = FakeStore(journal), FakeTable(journal)
    table.create(_profile(USER))
    parts = build(settings, store=store, table=table)
    return World(journal, store, table, parts.pictures, parts.presenter)


# --- upload and replace ------------------------------------------------------------------


def test_first_upload_stores_a_clean_original_and_points_the_profile_at_it(world: World) -> None:
    public, first = world.pictures.upload(USER, JPEG)

    assert first is True
    picture = world.current()
    assert picture is not None and picture.id == public.id
    assert picture.key == keys.original(USER, picture.id, "jpg")
    assert world.originals() == [picture.key]
    assert world.store.headers[picture.key] == ("image/jpeg", keys.IMMUTABLE)
    assert (public.format, public.width, public.height) == ("jpeg", 40, 30)
    assert public.bytes == len(world.store.objects[picture.key])
    assert picture.key in public.url
    assert world.table.profiles[USER].version == 1


def test_every_upload_gets_a_new_key_so_a_replacement_never_overwrites(world: World) -> None:
    first, _ = world.pictures.upload(USER, JPEG)
    second, was_first = world.pictures.upload(USER, JPEG)

    assert was_first is False
    assert first.id != second.id
    assert len(set(world.journal.actions("put"))) == 2


def test_replacement_deletes_the_previous_original_only_after_the_profile_points_at_the_new(
    world: World,
) -> None:
    world.pictures.upload(USER, JPEG)
    old = world.current()
    world.pictures.upload(USER, PNG)
    new = world.current()
    assert old is not None and new is not None

    put_new = world.journal.index("put", new.key)
    point_at_new = world.journal.index("set_picture", new.key)
    delete_old = world.journal.index("delete", old.key)
    assert put_new < point_at_new < delete_old
    assert world.originals() == [new.key]
    assert new.key.endswith(".png")


def test_replacement_removes_the_previous_pictures_thumbnails_too(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    old = world.current()
    assert old is not None
    made = [Variant(64), Variant(128), Variant(100, ImageFormat.AVIF)]
    recorded = {v.id: keys.thumbnail(USER, old.id, v, WEBP) for v in made}
    stray = keys.thumbnail(USER, old.id, Variant(256, animated=True), WEBP)
    for key in [*recorded.values(), stray]:
        world.store.put(key, b"webp", "image/webp", keys.IMMUTABLE)
    ready = old.model_copy(
        update={"status": PictureStatus.READY, "variants": recorded, "on_demand": ["100.avif"]}
    )
    world.table.swap_picture(USER, ready, ready.revision, utcnow())

    world.pictures.upload(USER, JPEG)

    assert list(world.store.list_keys(keys.thumbnail_prefix(USER, old.id))) == []
    assert len(world.originals()) == 1


def test_failed_profile_write_removes_the_new_object_and_leaves_the_profile_alone(
    world: World,
) -> None:
    world.pictures.upload(USER, JPEG)
    before = world.table.profiles[USER]
    world.table.fault = failing("set_picture", error=TableUnavailable)

    with pytest.raises(TableUnavailable):
        world.pictures.upload(USER, PNG)

    new_key = world.journal.actions("put")[-1]
    assert world.journal.entries[-1] == ("delete", new_key)
    assert world.table.profiles[USER] == before
    assert before.picture is not None
    assert world.originals() == [before.picture.key]


def test_failed_rollback_still_reports_why_the_profile_write_failed(world: World) -> None:
    world.table.fault = failing("set_picture", error=TableUnavailable)
    world.store.fault = failing("delete")

    with pytest.raises(TableUnavailable):
        world.pictures.upload(USER, JPEG)

    assert world.current() is None  # the stray object is the sweep's to find


def test_a_lost_race_is_retried_against_the_fresh_version(world: World) -> None:
    rivals = iter([True, False])

    def rival_write(user_id: str) -> None:
        if next(rivals, False):
            profile = world.table.profiles[user_id]
            world.table.profiles[user_id] = profile.model_copy(update={"version": 7})

    world.table.before_set_picture = rival_write
    _, first = world.pictures.upload(USER, JPEG)

    assert first is True
    assert world.table.profiles[USER].version == 8
    assert world.current() is not None


def test_an_upload_reads_the_profile_once_when_nothing_else_writes_it(world: World) -> None:
    """The read that refuses an unknown user before decoding is the one the write is
    conditional on: one GetItem an upload, not two (issue 15, the upload function's CPU)."""
    world.pictures.upload(USER, JPEG)
    world.table.reads.clear()

    world.pictures.upload(USER, JPEG)

    assert world.table.reads == ["consistent"]


def test_a_profile_changed_while_the_upload_decoded_is_read_again_and_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = world.pictures.validated

    def renamed_meanwhile(data: bytes, path: str) -> Any:
        clean = validated(data, path)
        profile = world.table.profiles[USER]
        renamed = profile.model_copy(update={"display_name": "Ada", "version": profile.version + 1})
        world.table.profiles[USER] = renamed
        return clean

    monkeypatch.setattr(world.pictures, "validated", renamed_meanwhile)
    public, first = world.pictures.upload(USER, JPEG)

    stored = world.table.profiles[USER]
    assert first is True and stored.display_name == "Ada"
    assert stored.picture is not None and stored.picture.id == public.id
    assert world.table.reads == ["consistent", "consistent"]


def lose_the_first_answer(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's next conditional write lands but its answer is lost: the SDK's retry then
    fails its own condition, a Conflict."""
    landed = world.table.set_picture
    answers = iter([Conflict()])

    def lost_answer(
        user_id: str, picture: Picture | None, version: int, now: datetime, **claim: Any
    ) -> None:
        landed(user_id, picture, version, now, **claim)
        if (error := next(answers, None)) is not None:
            raise error

    monkeypatch.setattr(world.table, "set_picture", lost_answer)


@pytest.mark.parametrize("replacing", [True, False], ids=["replacement", "first"])
def test_an_upload_whose_answer_was_lost_keeps_its_picture_and_says_what_it_did(
    world: World, monkeypatch: pytest.MonkeyPatch, replacing: bool
) -> None:
    """The upload must not hand its own picture to the discard, and answers as if the answer
    had come: a replacement (200) when it replaced one, else the first picture (201)."""
    if replacing:
        world.pictures.upload(USER, JPEG)
    before = world.current()
    lose_the_first_answer(world, monkeypatch)

    stored, first = world.pictures.upload(USER, PNG)

    assert first is not replacing
    current = world.current()
    assert current is not None and current.id == stored.id
    assert world.store.exists(current.key)
    assert world.journal.actions("delete") == []  # what it replaced is left for the sweep
    assert before is None or world.store.exists(before.key)


def test_a_profile_that_keeps_changing_gives_conflict_and_no_orphan_object(
    world: World,
) -> None:
    world.table.fault = failing("set_picture", error=Conflict)

    with pytest.raises(Conflict):
        world.pictures.upload(USER, JPEG)

    assert world.originals() == []
    assert world.current() is None


def test_concurrent_replacements_leave_exactly_one_original(world: World) -> None:
    """B's write lands between A's read and A's write: A retries, then discards B's picture."""
    from profilepics.images import clean_image

    limits = world.pictures.limits()
    rival_done = False

    def rival_upload(user_id: str) -> None:
        nonlocal rival_done
        if not rival_done:
            rival_done = True
            world.pictures.replace(user_id, clean_image(PNG, limits))

    world.table.before_set_picture = rival_upload
    picture, _ = world.pictures.replace(USER, clean_image(JPEG, limits))

    assert world.current() == picture
    assert world.originals() == [picture.key]


def test_upload_for_an_unknown_user_writes_nothing(world: World) -> None:
    with pytest.raises(UserNotFound):
        world.pictures.upload("nobody", JPEG)
    assert world.store.objects == {}


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"%PDF-1.7", UnsupportedMediaType), (JPEG[: len(JPEG) // 2], ImageCorrupt)],
)
def test_invalid_upload_writes_nothing(world: World, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        world.pictures.upload(USER, data)
    assert world.store.objects == {}
    assert world.table.profiles[USER].version == 0


def test_store_outage_during_upload_leaves_the_profile_alone(world: World) -> None:
    world.store.fault = failing("put")
    with pytest.raises(StorageUnavailable):
        world.pictures.upload(USER, JPEG)
    assert world.current() is None


def test_previous_picture_that_cannot_be_deleted_does_not_fail_the_upload(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    old = world.current()
    world.store.fault = failing("delete")

    public, first = world.pictures.upload(USER, PNG)

    assert first is False
    current = world.current()
    assert current is not None and current.id == public.id
    assert old is not None and old.key in world.store.objects  # left for the sweep


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_every_object_and_falls_back_to_the_default(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    picture = world.current()
    assert picture is not None
    thumb = keys.thumbnail(USER, picture.id, Variant(64), WEBP)
    world.store.put(thumb, b"webp", "image/webp", keys.IMMUTABLE)

    world.pictures.delete(USER)

    assert world.current() is None
    assert world.store.objects == {}
    assert world.journal.index("set_picture", "") < world.journal.index("delete", picture.key)
    url = world.pictures.url(USER, "original")
    assert url.is_default and url.expires_at is None
    assert url.url.startswith("https://api.test/pictures/default?")


def test_delete_without_a_picture_is_a_no_op(world: World) -> None:
    world.pictures.delete(USER)
    assert world.current() is None
    assert world.journal.actions("delete") == []


def test_delete_for_an_unknown_user_is_user_not_found(world: World) -> None:
    with pytest.raises(UserNotFound):
        world.pictures.delete("nobody")


# --- retrieval ---------------------------------------------------------------------------


def test_url_of_a_user_without_picture_is_the_generated_default(world: World) -> None:
    url = world.pictures.url(USER, "128")
    assert url.is_default
    assert url.url == "https://api.test/pictures/default?name=Ada+Lovelace&seed=ada&size=128"
    assert world.store.presigned == []


def test_url_of_a_picture_is_signed_and_matches_the_profile_response(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    url = world.pictures.url(USER, "original")
    profile = world.presenter.profile(world.table.profiles[USER])

    assert not url.is_default and url.expires_at is not None
    assert url.url == profile.profile_picture_url
    assert url.url == world.pictures.url(USER, "original").url
    assert profile.profile_picture_variants["64"] == world.pictures.url(USER, "64").url


def test_size_is_the_original_while_processing_then_its_variant(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    picture = world.current()
    assert picture is not None

    processing = world.pictures.url(USER, "64")
    assert f"/{picture.key}?" in processing.url
    assert (processing.size, processing.format) == ("64", "jpeg")
    assert world.pictures.url(USER, 100).url == world.pictures.url(USER, "original").url

    thumb = keys.thumbnail(USER, picture.id, Variant(64), WEBP)
    ready = picture.model_copy(
        update={"status": PictureStatus.READY, "variants": {Variant(64).id: thumb}}
    )
    world.table.swap_picture(USER, ready, ready.revision, utcnow())
    served = world.pictures.url(USER, "64")
    assert f"/{thumb}?" in served.url
    assert (served.size, served.format) == ("64", "webp")


SIZES = "size must be original, animated or 16..1024"


@pytest.mark.parametrize(
    ("size", "fmt", "detail"),
    [
        ("2048", None, SIZES),
        ("1025", None, SIZES),
        ("15", None, SIZES),
        ("0", None, SIZES),
        ("-5", None, "size must be original, animated or a number of pixels"),
        ("big", None, "size must be original, animated or a number of pixels"),
        ("original", ImageFormat.WEBP, "format applies to sizes; the original is served as stored"),
        ("animated", ImageFormat.AVIF, "the animated thumbnail is webp"),
        (64, ImageFormat.GIF, "format must be one of avif, webp, jpeg, png"),
        ("big", ImageFormat.AVIF, "size must be original, animated or a number of pixels"),
    ],
)
def test_size_out_of_bounds_or_a_format_it_cannot_have_is_validation_failed(
    world: World, size: str | int, fmt: ImageFormat | None, detail: str
) -> None:
    world.pictures.upload(USER, JPEG)
    with pytest.raises(ValidationFailed) as refused:
        world.pictures.url(USER, size, fmt)
    assert str(refused.value) == detail


@pytest.mark.parametrize("size", ["16", "1024"])
def test_the_variant_size_bounds_are_sizes_that_are_served(world: World, size: str) -> None:
    world.pictures.upload(USER, JPEG)

    assert world.pictures.url(USER, size).size == size


def test_processing_that_never_finished_reads_as_failed(world: World) -> None:
    world.pictures.upload(USER, JPEG)
    picture = world.current()
    assert picture is not None
    stale = picture.model_copy(update={"uploaded_at": utcnow() - timedelta(hours=1)})
    world.table.swap_picture(USER, stale, stale.revision, utcnow())

    assert world.pictures.url(USER, "original").status is PictureStatus.FAILED


def test_cache_control_never_outlives_the_url_nor_the_picture_cache_seconds() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    parts = build(Settings(), store=FakeStore(), table=FakeTable(), clock=lambda: now)
    signed = PictureURL(
        url="u", expires_at=now + timedelta(seconds=1234.9), is_default=False, size="original"
    )
    # The URL works for 20 more minutes, but the picture may be replaced in one.
    assert parts.pictures.cache_control(signed) == "private, max-age=60"
    soon = signed.model_copy(update={"expires_at": now + timedelta(seconds=42.5)})
    assert parts.pictures.cache_control(soon) == "private, max-age=42"

    for gone in (now, now - timedelta(seconds=5)):
        expired = signed.model_copy(update={"expires_at": gone})
        assert parts.pictures.cache_control(expired) == "private, max-age=0"
    default = PictureURL(url="d", expires_at=None, is_default=True, size="original")
    assert parts.pictures.cache_control(default) == "public, max-age=60"

    longer = build(
        Settings(picture_cache_seconds=900), store=FakeStore(), table=FakeTable(), clock=lambda: now
    )
    assert longer.pictures.cache_control(signed) == "private, max-age=900"
    assert longer.pictures.cache_control(default) == "public, max-age=900"


def test_retry_budget_is_bounded(world: World) -> None:
    calls = 0

    def conflict(operation: str) -> Exception | None:
        nonlocal calls
        if operation == "set_picture":
            calls += 1
            return Conflict()
        return None

    world.table.fault = conflict
    with pytest.raises(Conflict):
        world.pictures.delete(USER)
    assert calls == pictures.WRITE_ATTEMPTS


# --- direct uploads -------------------------------------------------------------------------


def test_a_declared_type_and_size_are_the_only_ones_the_policy_takes(world: World) -> None:
    request = UploadRequest(content_type="image/png", size=len(PNG))
    policy = world.pictures.start_direct_upload(USER, request)

    assert policy.max_bytes == len(PNG)
    assert policy.fields["Content-Type"] == "image/png"
    assert world.store.post_form({**policy.fields, "Content-Type": "image/jpeg"}, PNG) is False
    assert world.store.post_form(policy.fields, PNG[:-1]) is False
    assert world.store.post_form(policy.fields, PNG) is True
    assert world.store.objects[policy.key] == PNG


def test_nothing_declared_takes_any_file_up_to_the_limit_as_fields_are(world: World) -> None:
    policy = world.pictures.start_direct_upload(USER)

    profile = world.table.profiles[USER]
    assert profile.upload is not None and profile.upload.key == policy.key
    assert profile.updated_at == profile.upload.created_at  # the profile changed then
    assert "Content-Type" not in policy.fields
    assert policy.max_bytes == Settings().max_bytes
    assert world.store.post_form(policy.fields, JPEG) is True


def test_a_declared_size_over_the_limit_is_file_too_large_and_starts_nothing(
    world: World,
) -> None:
    with pytest.raises(FileTooLarge):
        world.pictures.start_direct_upload(USER, UploadRequest(size=Settings().max_bytes + 1))

    assert world.table.profiles[USER].upload is None


@pytest.mark.parametrize(
    "declared",
    [
        {"content_type": "image/svg+xml"},
        {"content_type": "IMAGE/PNG"},
        {"content_type": "image/jxl"},  # an image format, but not one the service takes
        {"size": 0},
    ],
)
def test_a_declaration_outside_the_formats_or_sizes_is_refused(declared: dict[str, Any]) -> None:
    with pytest.raises(PydanticValidationError):
        UploadRequest.model_validate(declared)
    assert UploadRequest.model_validate({"content_type": "image/webp"}).content_type == "image/webp"


@pytest.mark.parametrize("content_type", ["image/avif", "image/heic"])
def test_phone_formats_are_upload_formats_as_well(content_type: str) -> None:
    """AVIF is a variant format and, with HEIC, an upload format (both stored converted)."""
    assert UploadRequest.model_validate({"content_type": content_type}).content_type == content_type


# --- what the use cases pass on, say and log ----------------------------------------------


@pytest.fixture
def pictures_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """caplog for profilepics.pictures, also once a function's logger config was copied onto
    the core's loggers (powertools turns the parent's propagation off) by an earlier test."""
    monkeypatch.setattr(logging.getLogger("profilepics"), "propagate", True)
    return caplog


def test_the_image_limits_are_the_settings_own() -> None:
    from profilepics.formats import ImageFormat
    from profilepics.images import ImageLimits

    settings = Settings(
        max_bytes=1001,
        max_pixels=1002,
        max_frames=3,
        max_total_pixels=1004,
        max_animation_frame_pixels=1005,
        image_cpu_seconds=1.5,
        min_dimension=7,
        allowed_formats=[ImageFormat.PNG],
    )
    parts = build(settings, store=FakeStore(), table=FakeTable())

    assert parts.pictures.limits() == ImageLimits(
        max_bytes=1001,
        max_pixels=1002,
        max_frames=3,
        max_total_pixels=1004,
        max_animation_frame_pixels=1005,
        cpu_seconds=1.5,
        min_width=7,
        min_height=7,
        allowed_formats=frozenset({ImageFormat.PNG}),
    )


def test_an_animation_is_recorded_with_its_frames(world: World) -> None:
    world.pictures.upload(USER, gen.animation("GIF", 3, (20, 20)))

    current = world.current()
    assert current is not None and current.frames == 3


def test_a_profile_that_keeps_changing_says_to_try_again(world: World) -> None:
    world.table.fault = failing("set_picture", error=Conflict)
    with pytest.raises(Conflict) as refused:
        world.pictures.upload(USER, JPEG)
    assert refused.value.detail == "The profile kept changing; try again"


def test_a_stored_picture_is_logged_with_its_user_id_and_what_it_replaced(
    world: World, pictures_log: pytest.LogCaptureFixture
) -> None:
    caplog = pictures_log
    first, _ = world.pictures.upload(USER, JPEG)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="profilepics.pictures"):
        second, _ = world.pictures.upload(USER, PNG)

    (record,) = [r for r in caplog.records if r.getMessage() == "picture stored"]
    logged = {k: getattr(record, k) for k in ("user_id", "picture_id", "replaced")}
    assert logged == {"user_id": USER, "picture_id": second.id, "replaced": first.id}


@pytest.mark.parametrize("stage", ["rollback", "discard"])
def test_a_picture_left_for_the_sweep_is_logged_by_id_and_code(
    world: World, pictures_log: pytest.LogCaptureFixture, stage: str
) -> None:
    caplog = pictures_log
    world.pictures.upload(USER, JPEG)
    old = world.current()
    assert old is not None
    if stage == "rollback":
        world.table.fault = failing("set_picture", error=TableUnavailable)
    world.store.fault = failing("delete")
    with caplog.at_level(logging.WARNING, logger="profilepics.pictures"):
        try:
            world.pictures.upload(USER, PNG)
        except TableUnavailable:
            assert stage == "rollback"
    left = world.journal.actions("put")[-1] if stage == "rollback" else old.key

    (record,) = [r for r in caplog.records if "for the sweep" in r.getMessage()]
    picture_id = left.rsplit("/", 1)[1].split(".")[0]
    assert record.getMessage() == f"left picture {picture_id} for the sweep: storage_unavailable"


def test_a_declared_size_of_exactly_the_limit_is_taken_and_over_it_says_the_limit(
    world: World,
) -> None:
    limit = Settings().max_bytes
    assert world.pictures.start_direct_upload(USER, UploadRequest(size=limit)).max_bytes == limit
    with pytest.raises(FileTooLarge) as refused:
        world.pictures.start_direct_upload(USER, UploadRequest(size=limit + 1))
    assert refused.value.detail == f"The file is larger than {limit} bytes"
    assert refused.value.extra == {"max_bytes": limit}


def test_a_direct_upload_is_recorded_pending_under_its_own_key_and_takes_any_size_from_1(
    world: World,
) -> None:
    policy = world.pictures.start_direct_upload(USER)

    upload = world.table.profiles[USER].upload
    assert upload is not None
    assert upload.key == policy.key == keys.upload(USER, upload.id)
    assert upload.created_at is not None and policy.expires_at > upload.created_at
    assert policy.fields["min"] == "1"
    assert world.store.post_form(policy.fields, b"x") is True


def test_an_uploads_crop_is_recorded_and_a_crop_of_the_wrong_shape_refused_before_decoding(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored, _ = world.pictures.upload(USER, JPEG, Crop(x=0, y=0, w=30, h=30))  # not the default
    assert stored.crop == Crop(x=0, y=0, w=30, h=30)

    monkeypatch.setattr(world.pictures, "validated", lambda *_: pytest.fail("decoded"))
    with pytest.raises(InvalidCrop):
        world.pictures.upload(USER, JPEG, Crop(x=0, y=0, w=30, h=20))


def test_publishing_a_direct_upload_that_is_no_longer_the_profiles_is_a_conflict(
    world: World,
) -> None:
    stale = DirectUpload(id="gone", key=keys.upload(USER, "gone"), created_at=utcnow())
    clean = world.pictures.validated(JPEG, "direct")

    with pytest.raises(Conflict) as refused:
        world.pictures.replace(USER, clean, claim=stale)

    assert refused.value.detail == "The direct upload is no longer this delivery's to publish"
    assert world.current() is None and world.originals() == []
