"""Event-driven work: variants for new originals, and ingest of direct uploads."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.crop import check_within
from profilepics.errors import Conflict, ProblemError
from profilepics.metrics import Meter, Metric, NullMeter, stopwatch
from profilepics.models import DirectUpload, Picture, PictureStatus, UploadState
from profilepics.pictures import Pictures
from profilepics.ports import ObjectStore, ProfileTable, current_picture

log = logging.getLogger(__name__)
# An original is stored a few ms before the profile points at it, and its event can come in
# between: wait that long in the function rather than fail into Lambda's minute-long retry.
POINTER_WAITS = (0.05, 0.1, 0.2, 0.4)
# A processing picture changed by another write meanwhile: apply ours to it again, this often.
RECORD_ATTEMPTS = 3


_ENDED = frozenset({UploadState.DONE, UploadState.FAILED})


class Outcome(StrEnum):
    READY = "ready"
    ALREADY_READY = "already_ready"
    SUPERSEDED = "superseded"
    IGNORED = "ignored"
    FAILED = "failed"
    INGESTED = "ingested"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"  # another delivery of the same upload holds its claim


@dataclass(frozen=True)
class Made:
    """A picture's variants as stored (name -> key), and its placeholder."""

    keys: dict[str, str]
    placeholder: str | None


class Processing:
    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        pictures: Pictures,
        settings: Settings,
        clock: Clock,
        waits: Sequence[float] = POINTER_WAITS,
        sleep: Callable[[float], None] = time.sleep,
        meter: Meter | None = None,
    ) -> None:
        self._store = store
        self._table = table
        self._pictures = pictures
        self._settings = settings
        self._clock = clock
        self._waits = waits
        self._sleep = sleep
        self._meter = meter or NullMeter()
        self._claim_lease = timedelta(seconds=settings.upload_claim_seconds)

    @contextmanager
    def _counting_failures(self, function: str) -> Iterator[None]:
        """A run that raises fails its event: Lambda retries it, then queues it (the DLQ)."""
        try:
            yield
        except Exception:
            self._meter.record(Metric.EVENTS_FAILED, 1, function=function, kind="retry")
            raise

    def make_thumbnails(self, key: str) -> Outcome:
        with self._counting_failures("thumbnails"):
            outcome = self._make_thumbnails(key)
        if outcome is Outcome.FAILED:
            self._meter.record(Metric.EVENTS_FAILED, 1, function="thumbnails", kind="permanent")
        return outcome

    def _make_thumbnails(self, key: str) -> Outcome:
        ref = keys.parse_original(key)
        if ref is None:
            return Outcome.IGNORED
        picture = self._current(key, ref)
        if picture is None:
            self._drop_late_variants(ref.user_id, ref.object_id)
            return Outcome.SUPERSEDED
        if picture.status is PictureStatus.READY:
            return Outcome.ALREADY_READY
        try:
            with stopwatch() as elapsed:
                variants = self._write_variants(picture, ref.user_id)
            self._meter.record(Metric.PROCESSING_TIME, elapsed())
        except ProblemError as exc:
            self._record(ref.user_id, picture, {"status": PictureStatus.FAILED, "error": exc.code})
            if exc.status >= 500:
                raise  # a store or table fault: let the event be delivered again
            return Outcome.FAILED
        if variants is None:
            return Outcome.SUPERSEDED
        ready = {
            "status": PictureStatus.READY,
            "error": None,
            "variants": variants.keys,
            "placeholder": variants.placeholder,
        }
        if not self._record(ref.user_id, picture, ready):
            self._drop_unrecorded(ref.user_id, picture.id, variants.keys.values())
            return Outcome.SUPERSEDED
        waited = (self._clock() - picture.uploaded_at).total_seconds() * 1e3
        self._meter.record(Metric.UPLOAD_TO_READY, waited)
        return Outcome.READY

    def _current(self, key: str, ref: keys.KeyRef) -> Picture | None:
        """The profile's picture once it is this original; None once the original is gone.

        A superseded or rolled-back original is deleted; one that still exists may be about to
        become current, so after a short wait the run fails, for the event to be retried.
        """
        for pause in (0.0, *self._waits):
            if pause:
                self._sleep(pause)
            picture = current_picture(self._table, ref.user_id, ref.object_id)
            if picture is not None:
                return picture
            if not self._store.exists(key):
                return None
        raise Conflict("The profile does not point at this picture (yet)")

    def _write_variants(self, picture: Picture, user_id: str) -> Made | None:
        from profilepics.variants import derive

        data = self._store.get(picture.key)
        if data is None:
            return None
        encodings = self._settings.encodings
        made = derive(
            data,
            self._settings.variants,
            frames=picture.frames,
            encodings=encodings,
            limits=self._pictures.limits(),
            crop=picture.crop,
        )
        written: dict[str, str] = {}
        for variant, blob in made.items():
            key = keys.picture_variant(user_id, picture, variant, encodings[variant.format])
            self._store.put(key, blob, variant.format.content_type, keys.IMMUTABLE)
            written[variant.id] = key
        from profilepics import placeholder

        return Made(written, placeholder.of_variants(made))

    def _record(self, user_id: str, picture: Picture, changes: Mapping[str, object]) -> bool:
        """Apply changes to the picture iff it is still this one and still processing, in a
        write conditional on the revision read: a duplicate delivery that read the picture
        before another run made it ready (and its owner re-cropped it) must not write its
        stale copy over theirs. False when the picture moved on."""
        for _ in range(RECORD_ATTEMPTS):
            update = {**changes, "revision": picture.revision + 1}
            try:
                self._table.swap_picture(
                    user_id, picture.model_copy(update=update), picture.revision, self._clock()
                )
            except Conflict:
                current = current_picture(self._table, user_id, picture.id)
                if current is None or current.status is not PictureStatus.PROCESSING:
                    return False
                picture = current  # still processing, changed otherwise: apply ours to it
                continue
            return True
        return False

    def _drop_unrecorded(self, user_id: str, picture_id: str, written: Iterable[str]) -> None:
        """Delete what a run wrote that the picture does not record or retire: variant keys are
        the same for every run of one picture, so a rival's (or a re-crop's retired) are kept."""
        current = current_picture(self._table, user_id, picture_id)
        kept = set(current.variants.values()) | set(current.retired) if current else set()
        self._store.delete([key for key in written if key not in kept])

    def _drop_late_variants(self, user_id: str, picture_id: str) -> None:
        prefix = keys.thumbnail_prefix(user_id, picture_id)
        self._store.delete(list(self._store.list_keys(prefix)))

    def ingest(self, key: str) -> Outcome:
        """Run a direct upload through the API upload's checks, then publish or reject it.

        Deliveries of one upload's event may overlap (a retry, a redrive, a duplicate): each
        first claims the upload (pending -> processing, a conditional write), and only the
        one that got the claim goes on, so the picture changes once and its thumbnails are
        made once. A claim older than upload_claim_seconds outlived its holder (killed at
        the function's timeout) and may be taken over.
        """
        with self._counting_failures("ingest"):
            return self._ingest(key)

    def _ingest(self, key: str) -> Outcome:
        ref = keys.parse_upload(key)
        profile = self._table.get(ref.user_id) if ref else None
        upload = profile.upload if profile else None
        # One policy, one picture: a stray, a replaced or a finished upload's object is dropped.
        if ref is None or upload is None or upload.id != ref.object_id or upload.state in _ENDED:
            self._store.delete([key])
            return Outcome.IGNORED
        claimed = self._claim(ref.user_id, upload)
        if claimed is None:
            return Outcome.DUPLICATE
        try:
            return self._publish(ref.user_id, key, claimed)
        except Conflict:
            if self._release(ref.user_id, claimed):
                raise  # still ours: the profile kept changing, so let the event come again
            return Outcome.DUPLICATE  # another delivery took the claim over, or a newer upload
        except BaseException:
            with suppress(ProblemError):
                self._release(ref.user_id, claimed)  # a later delivery may claim it at once
            raise

    def _claim(self, user_id: str, upload: DirectUpload) -> DirectUpload | None:
        """The upload claimed by this delivery, or None when another one holds it."""
        now = self._clock()
        if upload.state is UploadState.PROCESSING and upload.claimed_at is not None:
            if now - upload.claimed_at < self._claim_lease:
                return None
            log.warning("taking over upload %s, claimed at %s", upload.id, upload.claimed_at)
        claimed = upload.model_copy(update={"state": UploadState.PROCESSING, "claimed_at": now})
        try:
            self._table.swap_upload(user_id, upload, claimed, now)
        except Conflict:
            return None  # another delivery claimed it between our read and our write
        return claimed

    def _release(self, user_id: str, claimed: DirectUpload) -> bool:
        """Hand the claim back (processing -> pending); False when it was no longer ours."""
        pending = claimed.model_copy(update={"state": UploadState.PENDING, "claimed_at": None})
        try:
            self._table.swap_upload(user_id, claimed, pending, self._clock())
        except Conflict:
            return False
        return True

    def _publish(self, user_id: str, key: str, claimed: DirectUpload) -> Outcome:
        data = self._store.get(key)
        if data is None:
            self._release(user_id, claimed)  # its object is gone: the healer expires it
            return Outcome.IGNORED
        try:
            clean = self._pictures.validated(data, "direct")
            if claimed.crop is not None:
                check_within(claimed.crop, clean.width, clean.height)
        except ProblemError as exc:
            if exc.status >= 500:
                raise
            self._end(user_id, claimed, exc.code)
            self._store.delete([key])
            self._meter.record(Metric.UPLOADS, 1, outcome=exc.code, path="direct")
            return Outcome.REJECTED
        _, first = self._pictures.replace(user_id, clean, claimed.crop, claim=claimed)
        self._store.delete([key])
        self._meter.record(
            Metric.UPLOADS, 1, outcome="created" if first else "replaced", path="direct"
        )
        return Outcome.INGESTED

    def _end(self, user_id: str, claimed: DirectUpload, code: str) -> None:
        failed = claimed.model_copy(update={"state": UploadState.FAILED, "error_code": code})
        try:
            self._table.swap_upload(user_id, claimed, failed, self._clock())
        except Conflict:
            log.info("upload %s was replaced or taken over before it failed", claimed.id)
