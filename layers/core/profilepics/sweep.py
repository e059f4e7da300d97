"""The orphan sweep: deletes stored objects that no profile's current picture refers to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import DEFAULT_SWEEP_GRACE_SECONDS
from profilepics.models import Profile, UploadState
from profilepics.ports import ObjectStore, ProfileTable

DEFAULT_GRACE = timedelta(seconds=DEFAULT_SWEEP_GRACE_SECONDS)
SWEPT_PREFIXES = (keys.ORIGINALS, keys.THUMBNAILS, keys.UPLOADS)
_PAGE = 100
_BATCH = 1000  # S3's DeleteObjects ceiling
# S3 reports last-modified in whole seconds: an object made just after the cutoff can look
# up to a second older than it is.
_CLOCK_GRAIN = timedelta(seconds=1)


@dataclass
class SweepReport:
    """What one sweep saw and did; `deleted` counts by prefix (would-delete on a dry run)."""

    dry_run: bool
    profiles: int = 0
    referenced: int = 0
    too_young: int = 0
    deleted: Counter[str] = field(default_factory=Counter)
    deleted_keys: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        done = "found (dry run, none deleted)" if self.dry_run else "deleted"
        by_prefix = ", ".join(f"{p.rstrip('/')} {self.deleted[p]}" for p in SWEPT_PREFIXES)
        return [
            f"profiles scanned: {self.profiles}",
            f"objects kept: {self.referenced} referenced, {self.too_young} younger than the grace",
            f"orphans {done}: {sum(self.deleted.values())} ({by_prefix})",
        ]


@dataclass(frozen=True)
class References:
    """The keys and thumbnail folders that profiles' current pictures point at, and the keys
    a regeneration retired from them that no URL handed out can reach any more."""

    keys: frozenset[str]
    prefixes: frozenset[str]
    expired: frozenset[str] = frozenset()

    def cover(self, key: str) -> bool:
        if key in self.keys:
            return True
        if key in self.expired:
            return False
        folder = key.rsplit("/", 1)[0] + "/"
        return folder in self.prefixes


class Sweeper:
    """Lists the profiles first, then the objects: anything stored after the sweep began is
    newer than the cutoff and kept, and the grace covers uploads whose profile write is still
    on its way when the profiles are listed."""

    def __init__(
        self, store: ObjectStore, table: ProfileTable, clock: Clock, url_life: timedelta
    ) -> None:
        self._store = store
        self._table = table
        self._clock = clock
        self._url_life = url_life

    def run(self, grace: timedelta = DEFAULT_GRACE, dry_run: bool = False) -> SweepReport:
        report = SweepReport(dry_run=dry_run)
        cutoff = self._clock() - grace - _CLOCK_GRAIN
        refs = self._references(report)
        batch: list[str] = []
        for key, modified in self._objects():
            if refs.cover(key):
                report.referenced += 1
            elif modified > cutoff:
                report.too_young += 1
            else:
                report.deleted[next(p for p in SWEPT_PREFIXES if key.startswith(p))] += 1
                report.deleted_keys.append(key)
                batch.append(key)
                if len(batch) >= _BATCH:
                    self._delete(batch, dry_run)
        self._delete(batch, dry_run)
        return report

    def _references(self, report: SweepReport) -> References:
        found: set[str] = set()
        prefixes: set[str] = set()
        expired: set[str] = set()
        now = self._clock()
        for profile in self._profiles():
            report.profiles += 1
            picture = profile.picture
            if picture is not None:
                found.update((picture.key, *picture.variants.values()))
                prefixes.add(keys.thumbnail_prefix(profile.user_id, picture.id))
                retired_at = picture.retired_at
                if retired_at is not None and retired_at + self._url_life <= now:
                    expired.update(picture.retired)
            if profile.upload is not None and profile.upload.state is UploadState.PENDING:
                found.add(profile.upload.key)  # a direct upload its event has yet to ingest
        return References(frozenset(found), frozenset(prefixes), frozenset(expired - found))

    def _profiles(self) -> Iterator[Profile]:
        cursor: str | None = None
        while True:
            page, cursor = self._table.scan(_PAGE, cursor)
            yield from page
            if cursor is None:
                return

    def _objects(self) -> Iterator[tuple[str, datetime]]:
        for prefix in SWEPT_PREFIXES:
            yield from self._store.list_objects(prefix)

    def _delete(self, batch: list[str], dry_run: bool) -> None:
        if batch and not dry_run:
            self._store.delete(list(batch))
        batch.clear()
