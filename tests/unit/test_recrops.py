"""Re-crop on in-memory fakes: one conditional write for the square and its variants, the old
set retired, rival writes, refusals, and a store fault mid-way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from profilepics import keys
from profilepics.errors import (
    Conflict,
    InvalidCrop,
    PictureNotFound,
    StorageUnavailable,
    UserNotFound,
)
from profilepics.images import clean_image
from profilepics.models import Crop, Picture, PictureStatus, Profile
from profilepics.regenerate import MAX_RETIRED

from tests.fakes import Fault
from tests.unit import imagegen as gen
from tests.unit.test_regenerator import NEW, T0, World, expected

# The World's pictures are 600x400 photos.
LEFT = Crop(x=0, y=0, w=300, h=300)
RIGHT = Crop(x=300, y=100, w=300, h=300)


def thumbnails(world: World) -> set[str]:
    return {key for key in world.store.objects if key.startswith(keys.THUMBNAILS)}


def accounted_for(world: World, picture: Picture) -> None:
    """Every variant the picture names is stored, and every stored one is current or retired."""
    named = set(picture.variants.values())
    assert named <= world.store.objects.keys()
    assert thumbnails(world) <= named | set(picture.retired)


def test_a_recrop_switches_square_and_variants_in_one_write_and_retires_the_old_set() -> None:
    world = World(users=1)
    before = world.picture()
    parts = world.under()
    puts, _, swaps = world.writes()

    shown = parts.recrops.recrop("u0", RIGHT)

    after = world.picture()
    assert (shown.crop, after.crop, after.revision) == (RIGHT, RIGHT, before.revision + 1)
    assert world.writes()[2] == swaps + 1  # one conditional write
    assert after.crop_tag.startswith("c1-")
    assert after.variants == expected(parts, "u0", after)
    assert all(f".{after.crop_tag}." in key for key in after.variants.values())
    assert world.writes()[0] == puts + len(after.variants)  # the original is not written again
    assert set(after.retired) == set(before.variants.values())
    assert after.retired_at == world.clock.now
    assert after.placeholder and after.placeholder != before.placeholder
    accounted_for(world, after)
    # The answer is the picture as written: its URLs are of the new set.
    assert after.variants["256.webp"].split("/")[-1] in shown.variants["256"]


def test_the_variants_show_the_new_square() -> None:
    world = World(users=1)
    parts = world.under()
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (600, 400), gen.RED)
    ImageDraw.Draw(img).rectangle((300, 100, 600, 400), fill=gen.GREEN)
    clean = clean_image(gen.encode(img, "PNG"), parts.pictures.limits())
    picture, _ = parts.pictures.replace("u0", clean, LEFT)
    parts.processing.make_thumbnails(picture.key)

    parts.recrops.recrop("u0", RIGHT)

    shown = gen.decode(world.store.objects[world.picture().variants["256.webp"]])
    for xy in ((3, 3), (252, 252), (128, 128)):
        r, g, b = gen.pixel(shown, xy)[:3]
        assert g > 200 and r < 60 and b < 60, xy


def test_the_same_square_again_writes_nothing() -> None:
    world = World(users=1)
    parts = world.under()
    parts.recrops.recrop("u0", RIGHT)
    before, writes = world.picture(), world.writes()

    assert parts.recrops.recrop("u0", RIGHT).crop == RIGHT
    assert (world.picture(), world.writes()) == (before, writes)


def test_a_second_recrop_retires_the_first_and_never_reuses_a_key() -> None:
    world = World(users=1)
    parts = world.under()
    parts.recrops.recrop("u0", RIGHT)
    first = world.picture()

    parts.recrops.recrop("u0", LEFT)

    second = world.picture()
    assert second.crop_tag.startswith("c2-")
    assert not set(first.variants.values()) & set(second.variants.values())
    assert set(first.variants.values()) <= set(second.retired)
    accounted_for(world, second)


@pytest.mark.parametrize(
    "crop",
    [
        Crop(x=400, y=0, w=300, h=300),  # reaches outside the 600x400 picture
        Crop(x=0, y=200, w=300, h=300),
        Crop(x=0, y=0, w=300, h=250),  # not square
        Crop(x=0, y=0, w=0, h=0),  # empty
        Crop(x=-1, y=0, w=10, h=10),
    ],
)
def test_a_bad_square_is_refused_and_changes_nothing(crop: Crop) -> None:
    world = World(users=1)
    before, writes = world.picture(), world.writes()
    with pytest.raises(InvalidCrop):
        world.under().recrops.recrop("u0", crop)
    assert (world.picture(), world.writes()) == (before, writes)


def test_no_picture_or_no_user_is_a_404() -> None:
    world = World(users=1)
    parts = world.under()
    parts.pictures.delete("u0")
    with pytest.raises(PictureNotFound) as caught:
        parts.recrops.recrop("u0", LEFT)
    assert caught.value.detail == "The user has no picture to crop."
    with pytest.raises(UserNotFound):
        parts.recrops.recrop("nobody", LEFT)


def test_a_picture_still_processing_is_not_recropped() -> None:
    world = World(users=1)
    parts = world.under()
    data = gen.encode(gen.photo(400, 400), "JPEG")
    parts.pictures.replace("u0", clean_image(data, parts.pictures.limits()))
    before, writes = world.picture(), world.writes()
    with pytest.raises(Conflict) as caught:
        parts.recrops.recrop("u0", Crop(x=0, y=0, w=100, h=100))
    assert caught.value.detail == (
        "The picture's variants are still being made; only a ready picture is re-cropped."
    )
    assert (world.picture(), world.writes()) == (before, writes)


def test_a_picture_whose_variants_failed_is_not_recropped_and_says_so() -> None:
    world = World(users=1)
    profile = world.table.profiles["u0"]
    assert profile.picture is not None
    failed = profile.picture.model_copy(update={"status": PictureStatus.FAILED})
    world.table.profiles["u0"] = profile.model_copy(update={"picture": failed})
    before, writes = world.picture(), world.writes()
    with pytest.raises(Conflict) as caught:
        world.under().recrops.recrop("u0", LEFT)
    assert caught.value.detail == (
        "The picture's variants failed; only a ready picture is re-cropped."
    )
    assert (world.picture(), world.writes()) == (before, writes)


def rival_once(world: World, act: Callable[[], object]) -> None:
    """act runs once, just before the next conditional picture write lands."""

    def rival(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        act()

    world.table.before_swap_picture = rival


def test_a_size_made_on_request_meanwhile_is_retired_and_the_square_applied_again() -> None:
    world = World(users=1)
    parts = world.under()
    rival_once(world, lambda: parts.pictures.url("u0", 100))

    parts.recrops.recrop("u0", LEFT)

    after = world.picture()
    assert after.crop == LEFT and after.variants == expected(parts, "u0", after)
    made_meanwhile = next(k for k in world.store.objects if "/100." in k)
    assert made_meanwhile in after.retired  # of the old square, and its URL may be out there
    accounted_for(world, after)


def test_two_recrops_at_once_both_land_in_turn_and_leave_nothing_unrecorded() -> None:
    world = World(users=1)
    parts = world.under()
    rival_once(world, lambda: parts.recrops.recrop("u0", RIGHT))

    shown = parts.recrops.recrop("u0", LEFT)  # overtaken by RIGHT, then applied over it

    after = world.picture()
    assert (shown.crop, after.crop) == (LEFT, LEFT)
    assert after.crop_tag.startswith("c2-")
    accounted_for(world, after)
    # The overtaken attempt's objects were never recorded: deleted, not left for the sweep.
    assert len(thumbnails(world)) == len(after.variants) + len(after.retired)


def test_a_picture_replaced_meanwhile_is_a_conflict_and_keeps_nothing_made_for_it() -> None:
    world = World(users=1)
    old = world.picture()
    parts = world.under()
    clean = clean_image(gen.encode(gen.photo(300, 200), "PNG"), parts.pictures.limits())
    rival_once(world, lambda: parts.pictures.replace("u0", clean))

    with pytest.raises(Conflict) as caught:
        parts.recrops.recrop("u0", LEFT)

    assert caught.value.detail == "The picture was replaced or deleted meanwhile; crop the new one."
    assert world.picture().id != old.id
    assert not any(old.id in key for key in world.store.objects)


def fails_after(puts: int) -> Fault:
    """The store takes puts writes, then is unreachable."""
    done = [0]

    def fault(operation: str) -> Exception | None:
        if operation != "put":
            return None
        done[0] += 1
        return StorageUnavailable() if done[0] > puts else None

    return fault


def test_a_store_fault_mid_way_is_a_503_the_picture_unchanged_and_the_sweep_clears_the_rest() -> (
    None
):
    world = World(users=1)
    before = world.picture()
    parts = world.under()
    world.store.fault = fails_after(2)

    with pytest.raises(StorageUnavailable):
        parts.recrops.recrop("u0", LEFT)

    assert world.picture() == before
    stray = thumbnails(world) - set(before.variants.values())
    assert len(stray) == 2  # written before the fault; nothing names them
    world.store.fault = lambda _operation: None
    world.clock.now += timedelta(days=1)
    parts.sweeper.run(timedelta(hours=1))
    assert thumbnails(world) == set(before.variants.values())

    parts.recrops.recrop("u0", LEFT)  # once the store is back, it simply works
    assert world.picture().crop == LEFT


def test_a_regeneration_after_a_recrop_keeps_the_square_and_its_tag() -> None:
    world = World(users=1)
    world.under().recrops.recrop("u0", LEFT)
    recropped = world.picture()
    new = world.under(**NEW)

    assert new.regenerator.run().outcomes == {"regenerated": 1}

    after = world.picture()
    assert (after.crop, after.crop_tag) == (LEFT, recropped.crop_tag)
    assert after.variants == expected(new, "u0", after)
    assert new.regenerator.run().outcomes == {"up_to_date": 1}


def _a_duplicate_delivery_finishing_last(fail: bool) -> tuple[World, Picture, Picture]:
    """Two deliveries of one original's event: the second has read the picture (processing)
    and is reading the original when the first makes it ready and its owner re-crops it.
    Returns the world, the PATCH's answer as stored, and the picture once the second ends."""
    world = World(users=0)
    parts = world.under()
    world.table.create(
        Profile(user_id="u0", display_name="u0", email="u0@x.org", created_at=T0, updated_at=T0)
    )
    clean = clean_image(gen.encode(gen.photo(600, 400), "JPEG"), parts.pictures.limits())
    picture, _ = parts.pictures.replace("u0", clean)
    recropped: list[Picture] = []

    def meanwhile(operation: str) -> Exception | None:
        if operation != "get" or recropped:
            return None
        world.store.fault = lambda _operation: None
        assert parts.processing.make_thumbnails(picture.key) == "ready"  # the first delivery
        parts.recrops.recrop("u0", RIGHT)
        recropped.append(world.picture())
        return StorageUnavailable("the store went away") if fail else None

    world.store.fault = meanwhile
    with contextlib.suppress(StorageUnavailable):
        parts.processing.make_thumbnails(picture.key)  # the second delivery
    return world, recropped[0], world.picture()


@pytest.mark.parametrize("fail", [False, True], ids=["ready", "failing"])
def test_a_duplicate_thumbnails_run_finishing_last_keeps_a_recrop_made_meanwhile(
    fail: bool,
) -> None:
    world, recropped, after = _a_duplicate_delivery_finishing_last(fail)

    assert after == recropped  # neither its stale copy nor a FAILED over a ready picture
    accounted_for(world, after)
    # The sweep, past its grace and within the URLs' life, keeps every key a URL may name.
    world.clock.now += timedelta(minutes=20)
    world.under().sweeper.run()
    assert set(after.variants.values()) | set(after.retired) <= world.store.objects.keys()


def test_recrops_within_the_url_life_keep_a_bounded_retired_list_and_then_wait() -> None:
    # Each re-crop retires its set until the URLs handed out for it expire, and restarts that
    # wait for every key retired before it: re-cropping every 50 minutes (or as fast as one
    # can) grew the list, the item and the kept objects without end (~600 bytes a re-crop, and
    # at DynamoDB's 400 KB the profile could no longer be written at all).
    world = World(users=1)
    parts = world.under()
    reach = parts.settings.url_reach
    refused = 0
    for turn in range(40):
        world.clock.now += timedelta(minutes=50)
        before = world.picture()
        try:
            parts.recrops.recrop("u0", (LEFT, RIGHT)[turn % 2])
        except Conflict as exc:
            refused += 1
            assert "expire" in exc.detail
            assert world.picture() == before  # nothing written
            continue
        accounted_for(world, world.picture())
        assert len(world.picture().retired) <= MAX_RETIRED

    assert refused > 0
    assert len(world.store.objects) <= 1 + len(world.picture().variants) + MAX_RETIRED
    # Once the URLs of the waiting sets have expired, a re-crop goes through and deletes them.
    world.clock.now += reach
    parts.recrops.recrop("u0", LEFT if world.picture().crop != LEFT else RIGHT)
    after = world.picture()
    assert len(after.retired) == len(expected(parts, "u0", after))
    accounted_for(world, after)
