"""Self-healing: finds the work whose bucket event never finished, so the sweep or a restart
re-drives it rather than leaving it failed: pictures stuck in `processing` (or failed by a store
or table fault), `pending` direct uploads whose object landed, and direct uploads whose claim
outlived the delivery that held it (released first); and it expires pending uploads whose
object never came once their policy can no longer bring it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from profilepics.clock import Clock, utcnow
from profilepics.errors import (
    Conflict,
    ProblemError,
    StorageUnavailable,
    TableUnavailable,
    UploadExpired,
)
from profilepics.models import DirectUpload, Picture, PictureStatus, Profile, UploadState
from profilepics.ports import ObjectStore, ProfileTable
from profilepics.processing import Processing

log = logging.getLogger(__name__)
# Failures a later run can undo: the store or the table did not answer.
TRANSIENT = frozenset({StorageUnavailable.code, TableUnavailable.code})
# A policy signed just before it expired may still be posting: give the upload that long more.
UPLOAD_GRACE = timedelta(minutes=1)
_PAGE = 100


@dataclass
class HealPlan:
    """What to re-drive (object keys, for the functions their events would have reached) and
    which pending uploads to expire."""

    originals: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    expired: list[tuple[str, DirectUpload]] = field(default_factory=list)
    released: list[tuple[str, DirectUpload]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [*self.originals, *self.uploads]

    def lines(self, done: bool) -> list[str]:
        verb = "re-driven" if done else "to re-drive"
        return [
            f"stuck pictures {verb}: {len(self.originals)}; stuck direct uploads {verb}: "
            f"{len(self.uploads)} ({len(self.released)} of them claimed by a delivery that "
            f"died); pending uploads expired: {len(self.expired)}"
        ]


class Healer:
    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        upload_lifetime: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._table = table
        self._upload_deadline = upload_lifetime + UPLOAD_GRACE
        self._clock = clock

    def plan(self, stuck_after: timedelta) -> HealPlan:
        """Everything stuck for at least `stuck_after` (zero at a restart: nothing is in flight)."""
        now = self._clock()
        cutoff = now - stuck_after
        plan = HealPlan()
        for profile in self._profiles():
            if profile.picture is not None and _stuck(profile.picture, cutoff):
                plan.originals.append(profile.picture.key)
            if profile.upload is not None:
                self._plan_upload(plan, profile.user_id, profile.upload, now, cutoff)
        return plan

    def _plan_upload(
        self, plan: HealPlan, user_id: str, upload: DirectUpload, now: datetime, cutoff: datetime
    ) -> None:
        if upload.state is UploadState.PROCESSING:
            if upload.claimed_at is not None and upload.claimed_at <= cutoff:
                plan.released.append((user_id, upload))
                plan.uploads.append(upload.key)
            return
        if upload.state is not UploadState.PENDING:
            return
        due = upload.created_at <= cutoff
        too_late = upload.created_at + self._upload_deadline <= now
        if not (due or too_late):
            return
        # One HEAD per pending upload (a few: each ends within its policy's lifetime), rather
        # than holding a listing of every object under uploads/.
        if self._store.exists(upload.key):
            if due:
                plan.uploads.append(upload.key)
        elif too_late:
            plan.expired.append((user_id, upload))

    def settle(self, plan: HealPlan) -> None:
        """Before the re-drive: fail the uploads that never came, and hand back the claims
        whose holder died (processing -> pending), so the re-driven delivery can claim them.
        Each is a compare-and-swap: an upload that moved on meanwhile is left as it is."""
        now = self._clock()
        changes = [
            (user_id, upload, {"state": UploadState.FAILED, "error_code": UploadExpired.code})
            for user_id, upload in plan.expired
        ] + [
            (user_id, upload, {"state": UploadState.PENDING, "claimed_at": None})
            for user_id, upload in plan.released
        ]
        for user_id, upload, update in changes:
            try:
                self._table.swap_upload(user_id, upload, upload.model_copy(update=update), now)
            except Conflict:
                log.info("upload %s moved on before the healer changed it", upload.id)

    def heal(self, processing: Processing, stuck_after: timedelta) -> HealPlan:
        """Plan, expire, and re-drive here and now what bucket events left stuck, as the
        thumbnails and ingest functions would (the sweep does this; a restart spools it)."""
        plan = self.plan(stuck_after)
        self.settle(plan)
        for run, keys_ in (
            (processing.make_thumbnails, plan.originals),
            (processing.ingest, plan.uploads),
        ):
            for key in keys_:
                try:
                    run(key)
                except ProblemError as exc:
                    log.warning("re-driving %s failed: %s", key, exc.code)
        return plan

    def _profiles(self) -> Iterator[Profile]:
        cursor: str | None = None
        while True:
            page, cursor = self._table.scan(_PAGE, cursor)
            yield from page
            if cursor is None:
                return


def _stuck(picture: Picture, cutoff: datetime) -> bool:
    if picture.uploaded_at > cutoff:
        return False
    if picture.status is PictureStatus.PROCESSING:
        return True
    return picture.status is PictureStatus.FAILED and picture.error in TRANSIENT
