"""Self-healing: finds the work whose bucket event never finished, so the sweep or a restart
re-drives it rather than leaving it failed: pictures stuck in `processing` (or failed by a store
or table fault), and `pending` direct uploads whose object landed; and it expires pending
uploads whose object never came once their policy can no longer bring it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from profilepics import keys
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

    @property
    def keys(self) -> list[str]:
        return [*self.originals, *self.uploads]

    def lines(self, done: bool) -> list[str]:
        verb = "re-driven" if done else "to re-drive"
        return [
            f"stuck pictures {verb}: {len(self.originals)}; stuck direct uploads {verb}: "
            f"{len(self.uploads)}; pending uploads expired: {len(self.expired)}"
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
        landed = dict(self._store.list_objects(keys.UPLOADS))
        plan = HealPlan()
        for profile in self._profiles():
            if profile.picture is not None and _stuck(profile.picture, cutoff):
                plan.originals.append(profile.picture.key)
            upload = profile.upload
            if upload is None or upload.state is not UploadState.PENDING:
                continue
            if upload.key in landed:
                if landed[upload.key] <= cutoff:
                    plan.uploads.append(upload.key)
            elif upload.created_at + self._upload_deadline <= now:
                plan.expired.append((profile.user_id, upload))
        return plan

    def expire(self, plan: HealPlan) -> None:
        for user_id, upload in plan.expired:
            ended = upload.model_copy(
                update={"state": UploadState.FAILED, "error_code": UploadExpired.code}
            )
            try:
                self._table.finish_upload(user_id, ended, self._clock())
            except Conflict:
                log.info("upload %s was replaced before it expired", upload.id)

    def heal(self, processing: Processing, stuck_after: timedelta) -> HealPlan:
        """Plan, expire, and re-drive here and now what bucket events left stuck, as the
        thumbnails and ingest functions would (the sweep does this; a restart spools it)."""
        plan = self.plan(stuck_after)
        self.expire(plan)
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
