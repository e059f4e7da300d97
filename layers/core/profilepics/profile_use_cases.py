"""The profile use cases, written against the table port."""

from __future__ import annotations

from profilepics.clock import Clock
from profilepics.errors import UserNotFound
from profilepics.models import (
    Profile,
    ProfileCreate,
    ProfilePage,
    ProfilePrivate,
    ProfilePublic,
    ProfileUpdate,
)
from profilepics.ports import ProfileTable
from profilepics.presenter import Presenter
from profilepics.recent import RecentProfiles


def require_profile(table: ProfileTable, user_id: str) -> Profile:
    profile = table.get(user_id)
    if profile is None:
        raise UserNotFound(f"No user '{user_id}'")
    return profile


def shown_profile(recent: RecentProfiles, user_id: str, fresh: bool) -> Profile:
    """The profile to show a reader: a moment old at most, or as last written when fresh."""
    profile = recent.get(user_id, fresh=fresh)
    if profile is None:
        raise UserNotFound(f"No user '{user_id}'")
    return profile


class Profiles:
    def __init__(
        self, table: ProfileTable, recent: RecentProfiles, presenter: Presenter, clock: Clock
    ) -> None:
        self._table = table
        self._recent = recent
        self._presenter = presenter
        self._clock = clock

    def create(self, body: ProfileCreate) -> ProfilePrivate:
        now = self._clock()
        profile = Profile(**body.model_dump(), created_at=now, updated_at=now)
        self._table.create(profile)
        return self._presenter.private(profile)

    def get(self, user_id: str, *, fresh: bool = False) -> ProfilePublic:
        """What anyone may read: never the e-mail address."""
        return self._presenter.profile(shown_profile(self._recent, user_id, fresh))

    def get_private(self, user_id: str) -> ProfilePrivate:
        """The whole profile, for its owner or an admin (the caller checked that)."""
        return self._presenter.private(require_profile(self._table, user_id))

    def list(self, limit: int, cursor: str | None) -> ProfilePage:
        profiles, next_cursor = self._table.scan(limit, cursor)
        items = [self._presenter.profile(profile) for profile in profiles]
        return ProfilePage(items=items, next_cursor=next_cursor)

    def update(self, user_id: str, body: ProfileUpdate) -> ProfilePrivate:
        fields = body.model_dump(exclude_none=True)
        return self._presenter.private(self._table.update_fields(user_id, fields, self._clock()))
