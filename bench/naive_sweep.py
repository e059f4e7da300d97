"""The sweep as it was before issue 16, kept for the benchmark to compare against: it scans the
whole table into a set of referenced keys first, then lists the objects. Its memory grows with
the number of profiles. Not in the layer: nothing runs it but bench/sweep.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from profilepics import keys
from profilepics.clock import Clock
from profilepics.models import Profile, UploadState
from profilepics.ports import ObjectStore, ProfileTable
from profilepics.sweep import SweepReport

_PAGE = 100
_BATCH = 1000
_CLOCK_GRAIN = timedelta(seconds=1)
_UNFINISHED = frozenset({UploadState.PENDING, UploadState.PROCESSING})


class NaiveSweeper:
    def __init__(self, store: ObjectStore, table: ProfileTable, clock: Clock) -> None:
        self._store = store
        self._table = table
        self._clock = clock

    def run(self, grace: timedelta, dry_run: bool = False) -> SweepReport:
        report = SweepReport(dry_run=dry_run)
        cutoff = self._clock() - grace - _CLOCK_GRAIN
        found, folders = self._references(report)
        batch: list[str] = []
        for key, modified in self._objects():
            report.checked += 1
            if key in found or key.rsplit("/", 1)[0] + "/" in folders:
                report.referenced += 1
            elif modified > cutoff:
                report.too_young += 1
            else:
                report.deleted[next(p for p in keys.PICTURES if key.startswith(p))] += 1
                batch.append(key)
                if len(batch) >= _BATCH:
                    self._delete(batch, dry_run)
        self._delete(batch, dry_run)
        return report

    def _references(self, report: SweepReport) -> tuple[set[str], set[str]]:
        found: set[str] = set()
        folders: set[str] = set()
        for profile in self._profiles():
            report.owners_read += 1
            picture = profile.picture
            if picture is not None:
                found.update((picture.key, *picture.variants.values()))
                folders.add(keys.thumbnail_prefix(profile.user_id, picture.id))
            if profile.upload is not None and profile.upload.state in _UNFINISHED:
                found.add(profile.upload.key)
        return found, folders

    def _profiles(self) -> Iterator[Profile]:
        cursor: str | None = None
        while True:
            page, cursor = self._table.scan(_PAGE, cursor)
            yield from page
            if cursor is None:
                return

    def _objects(self) -> Iterator[tuple[str, datetime]]:
        for prefix in keys.PICTURES:
            yield from self._store.list_objects(prefix)

    def _delete(self, batch: list[str], dry_run: bool) -> None:
        if batch and not dry_run:
            self._store.delete(list(batch))
        batch.clear()
