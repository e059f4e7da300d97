"""The orphan sweep: deletes stored objects that no profile's current picture refers to.

It streams: the pictures' three prefixes are listed page by page and merged on the key after
the prefix, so each user's objects come together; each page's owners are read by key (one
batch, a small cache across pages), each object judged against its owner's profile, the
orphans deleted, and the position in each listing saved. Memory holds a page and the cache,
whatever the number of profiles and objects, and a sweep stopped by its time budget (or
killed) resumes where it stopped.
"""

from __future__ import annotations

import heapq
import json
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import NamedTuple

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import DEFAULT_SWEEP_GRACE_SECONDS, MAX_URL_EXPIRY_SECONDS
from profilepics.models import USER_ID_PATTERN, Profile, UploadState
from profilepics.ports import ObjectStore, ProfileTable

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(seconds=DEFAULT_SWEEP_GRACE_SECONDS)
PAGE = 1000  # objects judged (and at most deleted) per step: S3's own page and batch size
CACHE = 256  # owners' references kept between pages (objects come grouped by owner)
# S3 reports last-modified in whole seconds: an object made just after the cutoff can look
# up to a second older than it is.
_CLOCK_GRAIN = timedelta(seconds=1)
_UNFINISHED = frozenset({UploadState.PENDING, UploadState.PROCESSING})
_USER_ID = re.compile(USER_ID_PATTERN)


@dataclass
class SweepReport:
    """What one sweep saw and did; `deleted` counts by prefix (would-delete on a dry run)."""

    dry_run: bool
    checked: int = 0
    referenced: int = 0
    too_young: int = 0
    owners_read: int = 0
    deleted: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    resumed_after: str | None = None  # the last key the sweep this one resumed had checked
    stopped_after: str | None = None  # the last key checked if it stopped; None: it finished

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0

    def progress(self) -> str:
        at = f", at {self.stopped_after}" if self.stopped_after else ""
        return (
            f"sweep: {self.checked:,} objects checked ({self.rate:,.0f}/s), "
            f"{sum(self.deleted.values()):,} orphans{at}"
        )

    def lines(self) -> list[str]:
        done = "found (dry run, none deleted)" if self.dry_run else "deleted"
        by_prefix = ", ".join(f"{p.rstrip('/')} {self.deleted[p]}" for p in keys.PICTURES)
        lines = [
            f"objects checked: {self.checked} in {self.seconds:.1f} s ({self.rate:,.0f}/s), "
            f"their owners' profiles read: {self.owners_read}"
            + (f" (resumed after {self.resumed_after})" if self.resumed_after else ""),
            f"objects kept: {self.referenced} referenced, {self.too_young} younger than the grace",
            f"orphans {done}: {sum(self.deleted.values())} ({by_prefix})",
        ]
        if self.stopped_after is not None:
            lines.append(f"stopped after {self.stopped_after}: the next sweep resumes there")
        return lines


class Listed(NamedTuple):
    rest: str  # the key after its prefix: "{user_id}/..." for the service's own objects
    key: str
    modified: datetime


Progress = Callable[[SweepReport], None]


def every(
    seconds: float,
    say: Callable[[str], None],
    monotonic: Callable[[], float] = time.monotonic,
) -> Progress:
    """A progress callback that says the report's progress line at most once in seconds."""
    last = monotonic()

    def progress(report: SweepReport) -> None:
        nonlocal last
        now = monotonic()
        if now - last >= seconds:
            last = now
            say(report.progress())

    return progress


class Sweeper:
    """Lists the objects, then reads their owners' profiles. Only an object older than the
    grace is deleted, and no profile comes to refer to an old object (every reference is to a
    key written just before it), so a profile read after the listing judges it rightly."""

    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        clock: Clock,
        url_life: timedelta = timedelta(seconds=MAX_URL_EXPIRY_SECONDS),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._table = table
        self._clock = clock
        self._url_life = url_life
        self._monotonic = monotonic

    def run(
        self,
        grace: timedelta = DEFAULT_GRACE,
        dry_run: bool = False,
        *,
        until: Callable[[], bool] | None = None,
        fresh: bool = False,
        progress: Progress | None = None,
        on_orphan: Callable[[str], None] | None = None,
    ) -> SweepReport:
        """One pass, resumed from the saved position unless fresh (a dry run always starts
        from the beginning and saves nothing); stops after the page at which until() is true.
        """
        began = self._monotonic()
        report = SweepReport(dry_run=dry_run)
        cutoff = self._clock() - grace - _CLOCK_GRAIN
        checkpoint = _Checkpoint(self._store, enabled=not dry_run)
        position = Position() if fresh else checkpoint.load()
        report.resumed_after = position.last
        owners = _Owners(self._table, report, self._clock(), self._url_life)
        listing = self._merged(position)
        while page := list(islice(listing, PAGE)):
            orphans = self._judge(page, owners.of(page), cutoff, report)
            for key in orphans:
                report.deleted[_prefix_of(key)] += 1
                if on_orphan is not None:
                    on_orphan(key)
            if orphans and not dry_run:
                self._store.delete(orphans)
            report.checked += len(page)
            position = position.past(page)
            report.stopped_after = position.last
            report.seconds = self._monotonic() - began
            checkpoint.save(position)
            if progress is not None:
                progress(report)
            if until is not None and until():
                return report
        report.stopped_after = None
        report.seconds = self._monotonic() - began
        checkpoint.clear()
        return report

    def _merged(self, position: Position) -> Iterator[Listed]:
        """Every object under the pictures' prefixes past the position, merged on the key after
        the prefix. Each listing comes in its store's own order (SeaweedFS lists a folder before
        a file its name is a prefix of, as `ada/` before `ada.b/`); the merge still yields each
        object once, and each listing resumes after its own last key, so the store's order
        never makes a resumed sweep skip or repeat an object."""

        def listing(prefix: str) -> Iterator[Listed]:
            start = position.after.get(prefix)
            for key, modified in self._store.list_objects(prefix, start_after=start):
                yield Listed(key[len(prefix) :], key, modified)

        return heapq.merge(*(listing(prefix) for prefix in keys.PICTURES))

    def _judge(
        self,
        page: list[Listed],
        owners: dict[str, References],
        cutoff: datetime,
        report: SweepReport,
    ) -> list[str]:
        orphans = []
        for item in page:
            owner = _owner(item.rest)
            if owner is not None and owners[owner].cover(item.key):
                report.referenced += 1
            elif item.modified > cutoff:
                report.too_young += 1
            else:
                orphans.append(item.key)
        return orphans


@dataclass(frozen=True, slots=True)
class References:
    """The keys one profile refers to and its current picture's thumbnail folder (all the
    sweep keeps of a profile), less the keys a regeneration retired from that folder that no
    URL handed out can reach any more, and those of another square than the picture's that it
    never recorded (a re-crop that failed mid-way)."""

    keys: frozenset[str] = frozenset()
    folder: str | None = None
    expired: frozenset[str] = frozenset()
    crop_tag: str = ""
    retired: frozenset[str] = frozenset()

    @classmethod
    def of(cls, profile: Profile | None, now: datetime, url_life: timedelta) -> References:
        if profile is None:
            return NOTHING
        found: set[str] = set()
        expired: set[str] = set()
        folder, crop_tag, retired = None, "", frozenset[str]()
        picture = profile.picture
        if picture is not None:
            crop_tag, retired = picture.crop_tag, frozenset(picture.retired)
            found.update((picture.key, *picture.variants.values()))
            # A variant made but not yet recorded, or an extra one, is in this folder too.
            folder = keys.thumbnail_prefix(profile.user_id, picture.id)
            retired_at = picture.retired_at
            if retired_at is not None and retired_at + url_life <= now:
                expired.update(picture.retired)  # no URL handed out for them works any more
        if profile.upload is not None and profile.upload.state in _UNFINISHED:
            found.add(profile.upload.key)  # a direct upload its event has yet to publish
        return cls(frozenset(found), folder, frozenset(expired - found), crop_tag, retired)

    def cover(self, key: str) -> bool:
        if key in self.keys:
            return True
        if key in self.expired or key.rsplit("/", 1)[0] + "/" != self.folder:
            return False
        return key in self.retired or keys.crop_tag_of(key) == self.crop_tag


NOTHING = References()


class _Owners:
    """Owners' references by user id, a page's new owners read in one batch (get_many)."""

    def __init__(
        self, table: ProfileTable, report: SweepReport, now: datetime, url_life: timedelta
    ) -> None:
        self._table = table
        self._report = report
        self._now = now
        self._url_life = url_life
        self._cache: OrderedDict[str, References] = OrderedDict()

    def of(self, page: Iterable[Listed]) -> dict[str, References]:
        wanted = list(dict.fromkeys(o for item in page if (o := _owner(item.rest)) is not None))
        missing = [user_id for user_id in wanted if user_id not in self._cache]
        if missing:
            found = self._table.get_many(missing)
            self._report.owners_read += len(missing)
            for user_id in missing:
                self._cache[user_id] = References.of(found.get(user_id), self._now, self._url_life)
        for user_id in wanted:
            self._cache.move_to_end(user_id)
        owners = {user_id: self._cache[user_id] for user_id in wanted}
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return owners


@dataclass(frozen=True)
class Position:
    """Where a sweep is: the last key it checked under each prefix (resume each listing after
    it), and the last key it checked of all (to say where it is)."""

    after: dict[str, str] = field(default_factory=dict)
    last: str | None = None

    def past(self, page: list[Listed]) -> Position:
        after = dict(self.after)
        for item in page:  # each listing's keys come in its order: its last one is the furthest
            after[_prefix_of(item.key)] = item.key
        return Position(after, page[-1].key if page else self.last)

    def to_json(self) -> bytes:
        return json.dumps({"after": self.after, "last": self.last}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Position | None:
        try:
            doc = json.loads(data)
            after, last = doc["after"], doc["last"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(after, dict) or not isinstance(last, str) or not after:
            return None
        for prefix, key in after.items():
            if prefix not in keys.PICTURES or not isinstance(key, str):
                return None
            if not key.startswith(prefix):
                return None
        return cls(after, last)


class _Checkpoint:
    """Where the last sweep stopped, kept in the store (keys.SWEEP_CHECKPOINT) between runs."""

    def __init__(self, store: ObjectStore, enabled: bool) -> None:
        self._store = store
        self._enabled = enabled

    def load(self) -> Position:
        if not self._enabled:
            return Position()
        data = self._store.get(keys.SWEEP_CHECKPOINT)
        if data is None:
            return Position()
        position = Position.from_json(data)
        if position is None:
            log.warning("the sweep's checkpoint is unreadable: starting from the beginning")
            return Position()
        return position

    def save(self, position: Position) -> None:
        if self._enabled:
            body = position.to_json()
            self._store.put(keys.SWEEP_CHECKPOINT, body, "application/json", "no-store")

    def clear(self) -> None:
        if self._enabled:
            self._store.delete([keys.SWEEP_CHECKPOINT])


def _owner(rest: str) -> str | None:
    """The user id an object's key names, if it names a possible one."""
    user_id, slash, _ = rest.partition("/")
    return user_id if slash and _USER_ID.match(user_id) else None


def _prefix_of(key: str) -> str:
    return next(prefix for prefix in keys.PICTURES if key.startswith(prefix))
