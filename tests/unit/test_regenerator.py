"""Regeneration on in-memory fakes: what differs, the switch, retirement, races, resuming."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from profilepics import keys, regenerate
from profilepics.config import TABLE_LAG_SECONDS, Settings
from profilepics.deps import Container, build
from profilepics.formats import ImageFormat, Variant
from profilepics.images import clean_image
from profilepics.models import Crop, Picture, PictureStatus, Profile
from profilepics.regenerate_report import Outcome, RegenerateReport

from tests.fakes import FakeStore, FakeTable, Journal, failing
from tests.unit import imagegen as gen

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEW = {"thumbnail_sizes": "64,200", "thumbnail_formats": "webp,jpeg", "webp_quality": 70}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class World:
    """Pictures made under the default settings (or old's); `under(...)` is the same store and
    table with other settings (a deployment after a settings change)."""

    def __init__(self, users: int = 2, **old: object) -> None:
        self.clock, journal = Clock(), Journal()
        self.store, self.table = FakeStore(journal, clock=self.clock), FakeTable(journal)
        self.old = self.under(**old)
        self.users = [f"u{i}" for i in range(users)]
        for user_id in self.users:
            self.table.create(
                Profile(
                    user_id=user_id,
                    display_name=user_id,
                    email=f"{user_id}@x.org",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            data = gen.encode(gen.photo(600, 400), "JPEG")
            clean = clean_image(data, self.old.pictures.limits())
            picture, _ = self.old.pictures.replace(user_id, clean)
            self.old.processing.make_thumbnails(picture.key)

    def under(self, **settings: object) -> Container:
        return build(
            Settings.model_validate(settings), store=self.store, table=self.table, clock=self.clock
        )

    def picture(self, user_id: str = "u0") -> Picture:
        profile = self.table.get(user_id)
        assert profile is not None and profile.picture is not None
        return profile.picture

    def writes(self) -> tuple[int, int, int]:
        journal = self.store.journal
        return (
            len(journal.actions("put")),
            len(journal.actions("delete")),
            len(journal.actions("swap_picture")),
        )


def expected(parts: Container, user_id: str, picture: Picture) -> dict[str, str]:
    encodings = parts.settings.encodings
    return {
        v.id: keys.picture_variant(user_id, picture, v, encodings[v.format])
        for v in parts.settings.variants
        if not v.animated
    }


def test_a_settings_change_switches_every_picture_to_the_new_set_in_one_write() -> None:
    world = World()
    old = {u: world.picture(u) for u in world.users}
    new = world.under(**NEW)
    swaps = world.writes()[2]

    report = new.regenerator.run()

    assert report.outcomes == {Outcome.REGENERATED: 2} and not report.errors
    assert world.writes()[2] == swaps + 2  # one conditional write per picture
    for user_id in world.users:
        picture = world.picture(user_id)
        assert picture.variants == expected(new, user_id, picture)
        for variant_id, key in picture.variants.items():
            variant = Variant.parse(variant_id)
            assert variant is not None
            img = gen.decode(world.store.objects[key])
            assert (img.size, img.format) == ((variant.size,) * 2, variant.format.pillow_name)
        assert "q70m4.webp" in picture.variants["64.webp"]
        # The old set stays until the URLs handed out for it have expired.
        assert set(picture.retired) == set(old[user_id].variants.values())
        assert picture.retired_at == T0
        assert all(key in world.store.objects for key in picture.retired)
    assert report.made == 2 * 4 and report.retired == 2 * 8


def test_a_second_run_finds_every_picture_up_to_date_and_writes_nothing() -> None:
    world = World()
    new = world.under(**NEW)
    new.regenerator.run()
    writes, objects = world.writes(), dict(world.store.objects)

    report = new.regenerator.run()

    assert report.outcomes == {Outcome.UP_TO_DATE: 2}
    assert (world.writes(), world.store.objects) == (writes, objects)


def test_pictures_made_under_the_current_settings_are_up_to_date() -> None:
    world = World()
    writes = world.writes()
    assert world.old.regenerator.run().outcomes == {Outcome.UP_TO_DATE: 2}
    assert world.writes() == writes


def test_a_dry_run_counts_and_writes_nothing() -> None:
    world = World()
    writes = world.writes()

    report = world.under(**NEW).regenerator.run(dry_run=True)

    assert report.outcomes == {Outcome.REGENERATED: 2}
    assert (report.made, report.retired) == (8, 16)
    assert world.writes() == writes
    assert "to regenerate (dry run, nothing written): 2" in report.lines()[0]


def test_only_what_changed_is_made_again_and_current_on_demand_variants_stay() -> None:
    world = World(users=1)
    world.old.pictures.url("u0", 100)  # WebP, made on request
    world.old.pictures.url("u0", 100, ImageFormat.AVIF)
    before = world.picture()
    new = world.under(avif_quality=50)  # only AVIF changes
    puts = world.writes()[0]

    new.regenerator.run()

    after = world.picture()
    webp = {k: v for k, v in before.variants.items() if k.endswith(".webp")}
    assert {k: v for k, v in after.variants.items() if k.endswith(".webp")} == webp
    assert after.on_demand == ["100.webp"]
    assert all("q50s8.avif" in v for k, v in after.variants.items() if k.endswith(".avif"))
    assert world.writes()[0] == puts + 4  # the four configured AVIF sizes, from one decode
    assert before.variants["100.avif"] in after.retired


def test_avif_variants_made_at_another_speed_are_made_again_at_the_configured_one() -> None:
    world = World(users=1, avif_speed=10)  # the speed issue 15 measured against the default 8
    before = world.picture()
    assert all("q60s10.avif" in v for k, v in before.variants.items() if k.endswith(".avif"))
    current = world.under()
    puts = world.writes()[0]

    report = current.regenerator.run()

    after = world.picture()
    assert report.outcomes == {Outcome.REGENERATED: 1} and not report.errors
    assert after.variants == expected(current, "u0", after)
    assert all("q60s8.avif" in v for k, v in after.variants.items() if k.endswith(".avif"))
    webp = {k: v for k, v in before.variants.items() if k.endswith(".webp")}
    assert {k: v for k, v in after.variants.items() if k.endswith(".webp")} == webp
    assert world.writes()[0] == puts + 4  # only the four AVIF sizes
    assert set(after.retired) == {v for k, v in before.variants.items() if k.endswith(".avif")}
    assert current.regenerator.run().outcomes == {Outcome.UP_TO_DATE: 1}


def test_processing_and_failed_pictures_are_skipped() -> None:
    world = World()
    statuses = (PictureStatus.PROCESSING, PictureStatus.FAILED)
    for user_id, status in zip(world.users, statuses, strict=True):
        stuck = world.picture(user_id).model_copy(update={"status": status})
        world.table.swap_picture(user_id, stuck, stuck.revision, T0)
    writes = world.writes()

    report = world.under(**NEW).regenerator.run()

    assert report.outcomes == {Outcome.SKIPPED: 2}
    assert world.writes() == writes


def test_a_variant_made_on_request_during_the_run_is_not_lost() -> None:
    world = World(users=1)
    new = world.under(**NEW)

    def rival(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        world.old.pictures.url("u0", 100)  # an instance still on the old settings

    world.table.before_swap_picture = rival
    report = new.regenerator.run()

    assert report.outcomes == {Outcome.REGENERATED: 1}
    picture = world.picture()
    assert picture.variants == expected(new, "u0", picture)  # the old-settings one is not kept
    made_meanwhile = next(k for k in world.store.objects if "/100." in k)
    assert made_meanwhile in picture.retired  # its URL may be out there: retired, not deleted


def test_a_picture_replaced_during_the_run_leaves_none_of_the_objects_made_for_it() -> None:
    world = World(users=1)
    old = world.picture()
    new = world.under(**NEW)

    def replace(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        world.old.pictures.replace(
            "u0", clean_image(gen.encode(gen.photo(300, 200), "PNG"), world.old.pictures.limits())
        )

    world.table.before_swap_picture = replace
    report = new.regenerator.run()

    assert report.outcomes == {Outcome.SUPERSEDED: 1}
    assert not any(old.id in key for key in world.store.objects)


def test_a_set_a_rival_run_recorded_and_a_re_crop_then_retired_keeps_its_objects() -> None:
    # Two runs make the same new set; the other records it first (URLs are handed out for it),
    # then the owner re-crops, retiring it. This run's write loses and it finds the picture
    # up to date: the keys it made are that retired set, which must serve until its URLs expire.
    world = World(users=1)
    new = world.under(**NEW)
    recorded: list[str] = []

    def rival_then_recrop(_user_id: str) -> None:
        world.table.before_swap_picture = lambda _user_id: None
        new.regenerator.run()
        recorded.extend(world.picture().variants.values())
        new.recrops.recrop("u0", Crop(x=0, y=0, w=400, h=400))

    world.table.before_swap_picture = rival_then_recrop
    report = new.regenerator.run()

    assert report.outcomes == {Outcome.UP_TO_DATE: 1}
    assert recorded and set(recorded) <= set(world.picture().retired)
    assert [key for key in recorded if key not in world.store.objects] == []


def test_retired_objects_go_once_no_url_can_reach_them() -> None:
    world = World(users=1)
    new = world.under(**NEW)
    new.regenerator.run()
    retired = world.picture().retired

    # A URL signed from a profile read just before T0 (kept 1 s, 5 s of table lag) works until:
    reach = timedelta(seconds=3600 + 1 + TABLE_LAG_SECONDS)
    world.clock.now = T0 + reach - timedelta(seconds=1)
    new.sweeper.run(timedelta(0))
    assert all(key in world.store.objects for key in retired)

    world.clock.now = T0 + reach
    report = new.sweeper.run(timedelta(0))
    assert not any(key in world.store.objects for key in retired)
    assert report.deleted["thumbnails/"] == len(retired)
    picture = world.picture()
    assert all(key in world.store.objects for key in picture.variants.values())


def test_a_later_regeneration_deletes_retired_objects_that_are_due_and_never_a_current_one() -> (
    None
):
    world = World(users=1)
    first = world.under(**NEW)
    first.regenerator.run()
    retired_first = world.picture().retired

    world.clock.now = T0 + timedelta(hours=2)
    back = world.under()  # the settings change is undone: the first set's keys come back
    back.regenerator.run()

    picture = world.picture()
    assert picture.variants == expected(back, "u0", picture)
    assert all(key in world.store.objects for key in picture.variants.values())
    assert not set(picture.variants.values()) & set(picture.retired)
    # A retired key is never written again (the sweep may be deleting it): a fresh tag.
    assert picture.crop_tag and not set(retired_first) & set(picture.variants.values())
    assert not any(key in world.store.objects for key in retired_first)  # they were due


def test_a_set_made_again_while_the_sweep_judges_its_retired_keys_loses_no_object() -> None:
    world = World(users=1)
    world.under(**NEW).regenerator.run()  # the first set is retired at T0
    world.clock.now = T0 + timedelta(hours=2)  # its URLs have expired
    back = world.under()  # the settings change is undone
    read = world.table.get_many

    def then_regenerate(user_ids: Iterable[str]) -> dict[str, Profile]:
        found = read(user_ids)  # the sweep has listed the old objects and read their owner
        world.table.get_many = read  # type: ignore[method-assign]
        back.regenerator.run()  # makes the set again and records it
        return found

    world.table.get_many = then_regenerate  # type: ignore[method-assign]
    back.sweeper.run(timedelta(0))

    picture = world.picture()
    assert [k for k in picture.variants.values() if k not in world.store.objects] == []


def test_a_run_told_to_stop_gives_a_cursor_that_resumes_it() -> None:
    world = World(users=3)
    new = world.under(**NEW)
    seen: list[Outcome] = []

    first = new.regenerator.run(progress=seen.append, stop=lambda: len(seen) >= 1)
    assert (first.complete, first.pictures) == (False, 1)
    rest = new.regenerator.run(cursor=first.next_cursor)

    done = first.outcomes + rest.outcomes
    assert done[Outcome.REGENERATED] == 3
    assert new.regenerator.run().outcomes == {Outcome.UP_TO_DATE: 3}


def test_a_picture_stored_before_formats_existed_is_regenerated() -> None:
    world = World(users=1)
    picture = world.picture()
    legacy = {}
    for size in (64, 128, 256, 512):
        key = f"{keys.thumbnail_prefix('u0', picture.id)}{size}.webp"
        world.store.put(key, b"old", "image/webp", keys.IMMUTABLE)
        legacy[str(size)] = key
    stored = Picture.model_validate(
        {**picture.model_dump(exclude={"revision"}), "variants": legacy}
    )
    world.table.profiles["u0"] = world.table.profiles["u0"].model_copy(update={"picture": stored})

    report = world.old.regenerator.run()

    assert report.outcomes == {Outcome.REGENERATED: 1}
    assert world.picture().variants == expected(world.old, "u0", world.picture())
    assert sorted(world.picture().retired) == sorted(legacy.values())


def test_the_report_names_what_happened() -> None:
    report = RegenerateReport(
        dry_run=False, pictures=3, made=5, retired=8, complete=False, next_cursor="abc"
    )
    report.outcomes.update({Outcome.REGENERATED: 2, Outcome.FAILED: 1})
    report.errors["storage_unavailable"] = 1
    text = "\n".join(report.lines())
    assert "regenerated: 2" in text and "failed: 1" in text and "made: 5" in text
    assert "storage_unavailable 1" in text and "again from cursor abc to resume" in text


@pytest.mark.parametrize("fault", ["get", "put"])
def test_a_store_fault_fails_that_picture_and_a_rerun_finishes(fault: str) -> None:
    world = World(users=1)
    new = world.under(**NEW)
    world.store.fault = failing(fault)

    report = new.regenerator.run()
    assert report.outcomes == {Outcome.FAILED: 1}
    assert report.errors == {"storage_unavailable": 1}
    picture = world.picture()
    assert all(key in world.store.objects for key in picture.variants.values())

    world.store.fault = lambda _operation: None
    assert new.regenerator.run().outcomes == {Outcome.REGENERATED: 1}


def test_a_resumed_run_starts_at_the_page_it_stopped_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regenerate, "_PAGE", 1)
    world = World(users=3)
    new = world.under(**NEW)
    seen: list[Outcome] = []

    first = new.regenerator.run(progress=seen.append, stop=lambda: len(seen) >= 2)
    rest = new.regenerator.run(cursor=first.next_cursor)

    assert (first.complete, first.pictures, first.next_cursor is not None) == (False, 2, True)
    assert (rest.pictures, rest.outcomes) == (1, {Outcome.REGENERATED: 1})


def test_the_sweep_never_deletes_a_retired_key_a_picture_uses_again() -> None:
    world = World(users=1)
    picture = world.picture()
    reused = picture.variants["64.webp"]
    again = picture.model_copy(update={"retired": [reused], "retired_at": T0, "revision": 9})
    world.table.swap_picture("u0", again, picture.revision, T0)
    world.clock.now = T0 + timedelta(days=1)

    world.old.sweeper.run(timedelta(0))

    assert reused in world.store.objects


def test_regenerated_variants_show_the_pictures_crop() -> None:
    """A picture cropped to its green top-right quarter keeps that square through a run."""
    from PIL import Image, ImageDraw
    from profilepics.models import Crop

    world = World(users=1)
    img = Image.new("RGB", (600, 600), gen.RED)
    ImageDraw.Draw(img).rectangle((300, 0, 600, 300), fill=gen.GREEN)
    clean = clean_image(gen.encode(img, "PNG"), world.old.pictures.limits())
    picture, _ = world.old.pictures.replace("u0", clean, Crop(x=300, y=0, w=300, h=300))
    world.old.processing.make_thumbnails(picture.key)

    report = world.under(**NEW).regenerator.run()

    assert report.outcomes[Outcome.REGENERATED] == 1 and not report.errors
    for variant_id in ("64.jpeg", "200.webp"):
        shown = gen.decode(world.store.objects[world.picture().variants[variant_id]])
        size = shown.width
        for xy in ((4, 4), (size - 5, size - 5), (size // 2, size // 2)):
            r, g, b = gen.pixel(shown, xy)[:3]
            assert g > 200 and r < 60 and b < 60, (variant_id, xy)
