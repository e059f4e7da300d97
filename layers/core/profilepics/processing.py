"""Event-driven work: variants for new originals, and ingest of direct uploads."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.errors import Conflict, ProblemError
from profilepics.metrics import Meter, Metric, NullMeter, stopwatch
from profilepics.models import DirectUpload, Picture, PictureStatus, UploadState
from profilepics.pictures import Pictures
from profilepics.ports import ObjectStore, ProfileTable

log = logging.getLogger(__name__)
# An original is stored a few ms before the profile points at it, and its event can come in
# between: wait that long in the function rather than fail into Lambda's minute-long retry.
POINTER_WAITS = (0.05, 0.1, 0.2, 0.4)


class Outcome(StrEnum):
    READY = "ready"
    ALREADY_READY = "already_ready"
    SUPERSEDED = "superseded"
    IGNORED = "ignored"
    FAILED = "failed"
    INGESTED = "ingested"
    REJECTED = "rejected"


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
            self._record(ref.user_id, picture, PictureStatus.FAILED, error=exc.code)
            if exc.status >= 500:
                raise  # a store or table fault: let the event be delivered again
            return Outcome.FAILED
        if variants is None:
            return Outcome.SUPERSEDED
        if not self._record(ref.user_id, picture, PictureStatus.READY, variants=variants):
            self._store.delete(variants.values())
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
            profile = self._table.get(ref.user_id)
            picture = profile.picture if profile else None
            if picture is not None and picture.id == ref.object_id:
                return picture
            if not self._store.exists(key):
                return None
        raise Conflict("The profile does not point at this picture (yet)")

    def _write_variants(self, picture: Picture, user_id: str) -> dict[str, str] | None:
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
        )
        written: dict[str, str] = {}
        for variant, blob in made.items():
            key = keys.thumbnail(user_id, picture.id, variant, encodings[variant.format])
            self._store.put(key, blob, variant.format.content_type, keys.IMMUTABLE)
            written[variant.id] = key
        return written

    def _record(
        self,
        user_id: str,
        picture: Picture,
        status: PictureStatus,
        variants: dict[str, str] | None = None,
        error: str | None = None,
    ) -> bool:
        update = {
            "status": status,
            "error": error,
            "variants": variants or picture.variants,
            "revision": picture.revision + 1,
        }
        try:
            self._table.update_picture(user_id, picture.model_copy(update=update), self._clock())
        except Conflict:
            return False
        return True

    def _drop_late_variants(self, user_id: str, picture_id: str) -> None:
        prefix = keys.thumbnail_prefix(user_id, picture_id)
        self._store.delete(list(self._store.list_keys(prefix)))

    def ingest(self, key: str) -> Outcome:
        """Run a direct upload through the API upload's checks, then publish or reject it."""
        with self._counting_failures("ingest"):
            return self._ingest(key)

    def _ingest(self, key: str) -> Outcome:
        ref = keys.parse_upload(key)
        profile = self._table.get(ref.user_id) if ref else None
        upload = profile.upload if profile else None
        # One policy, one picture: a second POST with a used policy is dropped like a stray.
        pending = upload is not None and upload.state is UploadState.PENDING
        if ref is None or upload is None or upload.id != ref.object_id or not pending:
            self._store.delete([key])
            return Outcome.IGNORED
        data = self._store.get(key)
        if data is None:
            return Outcome.IGNORED  # a redelivered event for an upload already handled
        try:
            clean = self._pictures.validated(data, "direct")
        except ProblemError as exc:
            self._finish(ref.user_id, upload, UploadState.FAILED, exc.code)
            self._store.delete([key])
            self._meter.record(Metric.UPLOADS, 1, outcome=exc.code, path="direct")
            return Outcome.REJECTED
        _, first = self._pictures.replace(ref.user_id, clean)
        self._finish(ref.user_id, upload, UploadState.DONE, None)
        self._store.delete([key])
        self._meter.record(
            Metric.UPLOADS, 1, outcome="created" if first else "replaced", path="direct"
        )
        return Outcome.INGESTED

    def _finish(
        self, user_id: str, upload: DirectUpload, state: UploadState, code: str | None
    ) -> None:
        done = upload.model_copy(update={"state": state, "error_code": code})
        try:
            self._table.finish_upload(user_id, done, self._clock())
        except Conflict:
            log.info("upload %s was replaced before it finished", upload.id)
