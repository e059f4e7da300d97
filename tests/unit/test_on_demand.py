"""Sizes and formats made on first request, on in-memory fakes: the source, the record, the
guard, and races with other requests and with replacements."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from profilepics import keys
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import Conflict
from profilepics.formats import ImageFormat, Variant
from profilepics.images import clean_image
from profilepics.models import Crop, Picture, PictureStatus, PictureURL, Profile

from tests.fakes import FakeStore, FakeTable
from tests.unit import imagegen as gen

USER = "ada"
AVIF, WEBP, JPEG, PNG = ImageFormat.AVIF, ImageFormat.WEBP, ImageFormat.JPEG, ImageFormat.PNG


class World:
    """A user whose picture (a 900x700 photo) has its configured variants ready."""

    def __init__(self, **settings: object) -> None:
        self.settings = Settings.model_validate(settings)
        self.store, self.table = FakeStore(), FakeTable()
        parts = build(self.settings, store=self.store, table=self.table)
        self.pictures, self.processing = parts.pictures, parts.processing
        self.recrops = parts.recrops
        now = utcnow()
        self.table.create(
            Profile(
                user_id=USER, display_name="Ada", email="a@x.org", created_at=now, updated_at=now
            )
        )
        data = gen.encode(gen.photo(900, 700), "JPEG", quality=90)
        picture, _ = self.pictures.replace(USER, clean_image(data, self.pictures.limits()))
        self.processing.make_thumbnails(picture.key)
        self.original = picture.key

    def picture(self) -> Picture:
        profile = self.table.get(USER)
        assert profile is not None and profile.picture is not None
        return profile.picture

    def url(
        self, size: int | str, fmt: ImageFormat | None = None, accept: str | None = None
    ) -> PictureURL:
        return self.pictures.url(USER, size, fmt, accept)

    def served(self, url: PictureURL) -> tuple[str, int, int, str]:
        """(key, width, height, Pillow's format) of what the URL serves."""
        key = url.url.split("/profilepics/", 1)[1].split("?")[0]
        img = gen.decode(self.store.objects[key])
        return key, img.width, img.height, str(img.format)

    def thumbnails(self) -> set[str]:
        return set(self.store.list_keys(keys.THUMBNAILS))

    def writes(self) -> tuple[int, int]:
        journal = self.store.journal
        return len(journal.actions("put")), len(journal.actions("swap_picture"))


@pytest.fixture
def world() -> World:
    return World()


def test_an_arbitrary_size_is_made_exact_from_the_nearest_larger_variant_and_recorded(
    world: World,
) -> None:
    del world.store.objects[world.original]  # so only a stored variant can be the source

    url = world.url(100)

    key, width, height, fmt = world.served(url)
    assert (width, height, fmt) == (100, 100, "WEBP")
    assert (url.size, url.format, url.status) == ("100", "webp", PictureStatus.READY)
    assert key == f"thumbnails/{USER}/{world.picture().id}/100.q80m4.webp"
    picture = world.picture()
    assert (picture.variants["100.webp"], picture.on_demand, picture.revision) == (
        key,
        ["100.webp"],
        2,
    )


def test_a_size_larger_than_every_variant_is_made_from_the_original(world: World) -> None:
    assert world.served(world.url(700))[1:] == (700, 700, "WEBP")
    del world.store.objects[world.original]
    with pytest.raises(Conflict):  # no source any more (a broken store): a 409, never a 500
        world.url(800)


def test_the_second_request_for_a_size_writes_nothing(world: World) -> None:
    first = world.url(100, AVIF)
    writes, objects = world.writes(), dict(world.store.objects)

    second = world.url(100, AVIF)

    assert second == first
    assert (world.writes(), world.store.objects) == (writes, objects)


def test_a_size_another_instance_made_is_found_not_made_again_from_a_kept_copy() -> None:
    """An instance's profile copy (the read cache) may lack a size made a moment ago: the
    request reads the profile as written before making anything."""
    world = World(read_cache_seconds=60)
    world.url(64)  # this instance now keeps the profile, without a 100
    other = build(world.settings, store=world.store, table=world.table).pictures
    made = other.url(USER, 100)
    objects = set(world.store.objects)
    assert world.url(100).url == made.url
    assert set(world.store.objects) == objects


@pytest.mark.parametrize(("fmt", "pillow_name"), [(AVIF, "AVIF"), (JPEG, "JPEG"), (PNG, "PNG")])
def test_an_explicit_format_is_made_in_that_format(
    world: World, fmt: ImageFormat, pillow_name: str
) -> None:
    url = world.url(256, fmt)
    assert world.served(url)[1:] == (256, 256, pillow_name)
    assert world.store.headers[world.served(url)[0]][0] == f"image/{fmt.value}"


def test_a_configured_size_in_a_new_format_is_not_an_extra_size() -> None:
    world = World(max_extra_sizes=0)
    assert world.served(world.url(256, JPEG))[1:] == (256, 256, "JPEG")
    assert world.url(100).size == "128"  # no extra size at all: the nearest stored one


def test_past_the_guard_the_nearest_stored_size_is_served_and_no_size_is_added() -> None:
    world = World(max_extra_sizes=2)
    world.url(100)
    world.url(100, AVIF)  # a second format of an admitted size is not a third size
    world.url(300, JPEG)
    before, writes = world.thumbnails(), world.writes()

    # The nearest size stored in the format asked for: 300 is there in JPEG only.
    assert [world.url(s).size for s in (290, 200, 1000, 90)] == ["256", "256", "512", "100"]
    assert [world.url(s, JPEG).size for s in (310, 200)] == ["300", "300"]
    assert world.url(90, AVIF).size == "100"
    assert world.url(40, PNG).size == "64"  # no PNG at all: the nearest of any, made in PNG
    before, writes = world.thumbnails(), world.writes()
    assert world.url(40, PNG).size == "64"
    assert (world.thumbnails(), world.writes()) == (before, writes)
    assert sorted(world.picture().on_demand) == ["100.avif", "100.webp", "300.jpeg", "64.png"]


def rival(world: World, act: Callable[[], object]) -> None:
    """Let act run once, inside the next conditional picture write: a concurrent request."""

    def once(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        act()

    world.table.before_swap_picture = once


def test_two_first_requests_for_one_size_store_one_object_and_record_it_once(
    world: World,
) -> None:
    rival(world, lambda: world.url(100))

    url = world.url(100)

    assert world.served(url)[1:] == (100, 100, "WEBP")
    made = {k for k in world.thumbnails() if "/100." in k}
    assert made == {world.picture().variants["100.webp"]}
    assert world.picture().on_demand == ["100.webp"]


def test_a_size_that_loses_the_last_place_to_another_is_served_nearest_and_deleted() -> None:
    world = World(max_extra_sizes=1)
    rival(world, lambda: world.url(200))

    url = world.url(100)

    assert url.size == "128"  # 200 took the one place while 100 was being made
    assert not any("/100." in k for k in world.thumbnails())
    assert world.picture().on_demand == ["200.webp"]


def test_a_picture_replaced_while_its_size_is_made_leaves_no_object_behind(
    world: World,
) -> None:
    old = world.picture()
    again = gen.encode(gen.photo(640, 480), "JPEG")
    rival(world, lambda: world.pictures.upload(USER, again))

    url = world.url(100)

    new = world.picture()
    assert new.id != old.id and new.status is PictureStatus.PROCESSING
    assert (url.size, url.format) == ("100", "jpeg") and new.key in url.url  # as while processing
    assert not any(old.id in k for k in world.store.objects)


def test_a_size_a_rival_recorded_and_a_re_crop_then_retired_keeps_serving_the_rivals_url(
    world: World,
) -> None:
    # While this request makes 100, another makes and records the same key (handing out its
    # URL), then the owner re-crops, retiring it. This request's write loses; the key it made
    # is the retired one, which must serve the URL handed out until the sweep's time.
    handed_out: list[PictureURL] = []

    def rival_then_recrop() -> None:
        handed_out.append(world.url(100))
        world.recrops.recrop(USER, Crop(x=0, y=0, w=700, h=700))

    rival(world, rival_then_recrop)

    world.url(100)

    (url,) = handed_out
    key = world.served(url)[0]  # KeyError once the object was deleted
    assert key in world.picture().retired


def test_a_size_whose_key_a_regeneration_retired_is_made_under_a_key_of_its_own(
    world: World,
) -> None:
    # 100 was made on request, then a regeneration under other settings retired its key, whose
    # URLs have since expired, and the settings changed back. The sweep may be deleting that
    # key this moment, so it is never written again.
    world.url(100)
    made = world.picture()
    old_key = made.variants["100.webp"]
    variants = {k: v for k, v in made.variants.items() if k != "100.webp"}
    retired = made.model_copy(
        update={
            "variants": variants,
            "on_demand": [],
            "retired": [old_key],
            "retired_at": utcnow(),
            "revision": made.revision + 1,
        }
    )
    world.table.swap_picture(USER, retired, made.revision, utcnow())
    del world.store.objects[old_key]  # as the sweep deletes it

    key = world.served(world.url(100))[0]

    picture = world.picture()
    assert key != old_key and picture.variants["100.webp"] == key
    assert old_key not in world.store.objects and old_key in picture.retired
    assert key.startswith(old_key.rsplit(".", 1)[0] + ".r") and key.endswith(".webp")


def test_a_picture_that_keeps_changing_is_conflict_and_leaves_no_object(world: World) -> None:
    def bump(_user_id: str) -> None:
        current = world.picture()
        bumped = current.model_copy(update={"revision": current.revision + 1})
        world.table.profiles[USER] = world.table.profiles[USER].model_copy(
            update={"picture": bumped}
        )

    world.table.before_swap_picture = bump
    with pytest.raises(Conflict):
        world.url(100)
    assert not any("/100." in k for k in world.thumbnails())


def test_while_processing_any_size_or_format_is_the_original(world: World) -> None:
    picture = world.picture()
    processing = picture.model_copy(update={"status": PictureStatus.PROCESSING})
    world.table.swap_picture(USER, processing, picture.revision, utcnow())
    writes = world.writes()
    for url in (world.url(100), world.url(256, AVIF), world.url(64, accept="image/avif")):
        assert world.original in url.url and url.status is PictureStatus.PROCESSING
    assert world.writes() == writes


def test_accept_chooses_the_format_and_none_given_is_the_default(world: World) -> None:
    assert world.url(256, accept="image/avif,image/webp,*/*").format == "avif"
    assert world.url(256, accept="image/webp,*/*").format == "webp"
    assert world.url(256, accept="*/*").format == "jpeg"
    assert world.url(256).format == "webp"  # JSON without format: the first configured one
    assert World(thumbnail_formats="avif,webp").url(256).format == "avif"


def test_a_picture_stored_before_formats_reads_as_webp_and_gets_avif_on_request(
    world: World,
) -> None:
    # Written by an earlier version: bare sizes, untagged keys, no revision.
    picture = world.picture()
    legacy = {str(s): keys.thumbnail_prefix(USER, picture.id) + f"{s}.webp" for s in (64, 512)}
    for key in legacy.values():
        world.store.put(key, world.store.objects[picture.variants["512.webp"]], "image/webp", "")
    stored = Picture.model_validate({**picture.model_dump(), "variants": legacy})
    world.table.profiles[USER] = world.table.profiles[USER].model_copy(update={"picture": stored})

    assert world.url(64).url.split("?")[0].endswith("/64.webp")
    assert world.served(world.url(64, AVIF))[1:] == (64, 64, "AVIF")
    assert Variant(64, AVIF).id in world.picture().variants


def test_sizes_made_on_request_show_the_pictures_crop_from_a_variant_or_the_original() -> None:
    """Given a picture cropped to its green top-right quarter: a size above every stored one
    is cut from the original's crop, one below from a stored (already cropped) variant."""
    from PIL import Image, ImageDraw
    from profilepics.models import Crop

    world = World()
    img = Image.new("RGB", (1000, 1000), gen.RED)
    ImageDraw.Draw(img).rectangle((500, 0, 1000, 500), fill=gen.GREEN)
    clean = clean_image(gen.encode(img, "PNG"), world.pictures.limits())
    picture, _ = world.pictures.replace(USER, clean, Crop(x=500, y=0, w=500, h=500))
    world.processing.make_thumbnails(picture.key)

    for size in (800, 100):
        key, width, height, _ = world.served(world.url(size, WEBP))
        assert (width, height) == (size, size)
        shown = gen.decode(world.store.objects[key])
        for xy in ((4, 4), (size - 5, size - 5), (size // 2, size // 2)):
            r, g, b = gen.pixel(shown, xy)[:3]
            assert g > 200 and r < 60 and b < 60, (size, xy)
