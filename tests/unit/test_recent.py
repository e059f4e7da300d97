"""The display cache (recent.py): a profile read for display is at most read_cache_seconds old;
a fresh read is as last written; misses are never kept; writes never read through it."""

from __future__ import annotations

import pytest
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import UserNotFound
from profilepics.models import Profile, ProfileUpdate
from profilepics.recent import RecentProfiles

from tests.fakes import FakeStore, FakeTable


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _profile(user_id: str = "ada", name: str = "Ada") -> Profile:
    now = utcnow()
    return Profile(
        user_id=user_id, display_name=name, email=f"{user_id}@example.com", created_at=now,
        updated_at=now,
    )  # fmt: skip


@pytest.fixture
def table() -> FakeTable:
    table = FakeTable()
    table.create(_profile())
    return table


def test_a_profile_read_again_within_max_age_costs_no_table_read(table: FakeTable) -> None:
    ticks = Ticks()
    recent = RecentProfiles(table, 1.0, ticks)
    first = recent.get("ada")
    table.update_fields("ada", {"display_name": "Countess"}, utcnow())
    ticks.now += 0.9
    assert recent.get("ada") == first  # the older profile, at most a second old
    assert table.reads == ["eventual"]
    ticks.now += 0.1
    refreshed = recent.get("ada")
    assert refreshed is not None and refreshed.display_name == "Countess"
    assert table.reads == ["eventual", "eventual"]


def test_a_fresh_read_is_strongly_consistent_and_refreshes_what_is_kept(table: FakeTable) -> None:
    ticks = Ticks()
    recent = RecentProfiles(table, 1.0, ticks)
    recent.get("ada")
    table.update_fields("ada", {"display_name": "Countess"}, utcnow())
    fresh = recent.get("ada", fresh=True)
    assert fresh is not None and fresh.display_name == "Countess"
    kept = recent.get("ada")
    assert kept is not None and kept.display_name == "Countess"
    assert table.reads == ["eventual", "consistent"]


def test_a_missing_profile_is_never_kept(table: FakeTable) -> None:
    recent = RecentProfiles(table, 1.0, Ticks())
    assert recent.get("grace") is None
    table.create(_profile("grace"))
    assert recent.get("grace") is not None


def test_max_age_zero_reads_the_table_every_time(table: FakeTable) -> None:
    recent = RecentProfiles(table, 0, Ticks())
    recent.get("ada")
    recent.get("ada")
    assert table.reads == ["eventual", "eventual"]


def test_only_the_most_recently_read_profiles_are_kept(table: FakeTable) -> None:
    for name in ("b", "c"):
        table.create(_profile(name))
    recent = RecentProfiles(table, 10.0, Ticks(), size=2)
    for name in ("ada", "b", "c", "c", "b", "ada"):
        recent.get(name)
    assert table.reads.count("eventual") == 4  # ada fell out when c came in


def test_the_profiles_read_longest_ago_fall_out_first(table: FakeTable) -> None:
    for name in ("b", "c"):
        table.create(_profile(name))
    recent = RecentProfiles(table, 10.0, Ticks(), size=2)
    for name in ("ada", "b", "c"):
        recent.get(name)
    assert len(table.reads) == 3
    recent.get("c")  # the one read last is kept
    recent.get("b")
    assert len(table.reads) == 3
    recent.get("ada")  # the one read first fell out
    assert len(table.reads) == 4


def test_a_profile_read_again_fresh_is_kept_as_the_latest(table: FakeTable) -> None:
    for name in ("b", "c"):
        table.create(_profile(name))
    recent = RecentProfiles(table, 10.0, Ticks(), size=2)
    recent.get("ada")
    recent.get("b")
    recent.get("ada", fresh=True)  # now the latest: b falls out when c comes in
    recent.get("c")
    recent.get("ada")
    assert table.reads == ["eventual", "eventual", "consistent", "eventual"]


def test_a_cache_keeps_1024_profiles_by_default(table: FakeTable) -> None:
    names = [f"user{index}" for index in range(1025)]
    for name in names:
        table.create(_profile(name))
    recent = RecentProfiles(table, 10.0, Ticks())
    for name in names:
        recent.get(name)
    for name in names[1:]:
        recent.get(name)
    assert len(table.reads) == 1025
    recent.get(names[0])
    assert len(table.reads) == 1026


def test_a_profile_found_gone_by_a_fresh_read_is_no_longer_kept(table: FakeTable) -> None:
    recent = RecentProfiles(table, 10.0, Ticks())
    recent.get("ada")
    del table.profiles["ada"]
    assert recent.get("ada", fresh=True) is None
    assert recent.get("ada") is None  # not the profile kept before


def test_reads_for_display_go_through_the_cache_and_writes_read_consistently() -> None:
    table = FakeTable()
    table.create(_profile())
    parts = build(Settings(read_cache_seconds=5), store=FakeStore(), table=table)
    parts.profiles.get("ada")
    parts.pictures.url("ada", "original")
    assert table.reads == ["eventual"]
    parts.profiles.update("ada", ProfileUpdate(display_name="Countess"))
    assert parts.profiles.get("ada", fresh=True).display_name == "Countess"
    assert table.reads == ["eventual", "consistent"]
    parts.pictures.delete("ada")  # a write: its read-modify-write reads as last written
    assert table.reads[-1] == "consistent"
    with pytest.raises(UserNotFound):
        parts.pictures.url("nobody", "original")
