"""Profiles read for display: eventually consistent, and kept a moment per instance.

A page of avatars reads the same profiles again and again. Serving them from a short
per-instance cache spares the table read (most of a warm read's CPU, and its round trip);
what a reader sees is then at most `read_cache_seconds` old, plus the table's own lag on an
eventually consistent read (DynamoDB: usually under a second; half the read units of a strongly
consistent one). Writes never go through here: they read strongly consistent and write
conditionally, and answer from what they wrote. A reader that must see a write it just made
asks for a fresh read (`Cache-Control: no-cache`), which is strongly consistent and refreshes
the entry. A user not found is never kept: a profile created a moment ago is found at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from profilepics.models import Profile
from profilepics.ports import ProfileTable


class RecentProfiles:
    def __init__(
        self,
        table: ProfileTable,
        max_age_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        size: int = 1024,
    ) -> None:
        self._table = table
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._size = size
        self._kept: OrderedDict[str, tuple[float, Profile]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str, *, fresh: bool = False) -> Profile | None:
        """The profile as read at most max_age seconds ago (fresh: as last written), or None."""
        now = self._monotonic()
        if not fresh and self._max_age > 0:
            with self._lock:
                kept = self._kept.get(user_id)
            if kept is not None and now - kept[0] < self._max_age:
                return kept[1]
        profile = self._table.get(user_id, consistent=fresh)
        if self._max_age > 0:
            with self._lock:
                if profile is None:
                    self._kept.pop(user_id, None)
                else:
                    self._kept[user_id] = (now, profile)
                    self._kept.move_to_end(user_id)
                    while len(self._kept) > self._size:
                        self._kept.popitem(last=False)
        return profile
