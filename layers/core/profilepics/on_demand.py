"""Sizes and formats made on first request: from the nearest larger stored variant (or the
original), stored beside the picture's other variants and recorded on it, within a guard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.errors import Conflict
from profilepics.formats import ImageFormat, Variant
from profilepics.metrics import Meter, Metric, stopwatch
from profilepics.models import Picture, PictureStatus
from profilepics.ports import ObjectStore, ProfileTable

if TYPE_CHECKING:
    from profilepics.images import ImageLimits

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 8
# Which stored variant of the nearest larger size to read: the cheapest to decode, and the
# most faithful, first.
_SOURCE_ORDER = (ImageFormat.PNG, ImageFormat.WEBP, ImageFormat.JPEG, ImageFormat.AVIF)


class Superseded(Exception):
    """The picture was replaced or deleted while a variant was being made for it."""


class OnDemand:
    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        settings: Settings,
        clock: Clock,
        limits: Callable[[], ImageLimits],
        meter: Meter,
    ) -> None:
        self._store = store
        self._table = table
        self._settings = settings
        self._clock = clock
        self._limits = limits
        self._meter = meter

    def serve(self, user_id: str, picture: Picture, wanted: Variant) -> tuple[Picture, Variant]:
        """The picture with the variant that serves wanted, made and recorded now if need be:
        wanted itself, or past the guard the nearest stored size. Raises Superseded when the
        picture went away meanwhile, Conflict when it kept changing."""
        made: set[str] = set()
        renewed: dict[str, str] = {}
        try:
            for _ in range(WRITE_ATTEMPTS):
                target = self._admitted(picture, wanted)
                if target.id in picture.variants:
                    return picture, target
                key = keys.picture_variant(
                    user_id, picture, target, self._settings.encodings[target.format]
                )
                if key in picture.retired:
                    # Settings changed back since a regeneration retired this key, and the
                    # sweep may be deleting it this moment: it is never written again.
                    key = renewed.setdefault(key, keys.renewed(key))
                if key not in made:
                    self._put(key, target, self._make(picture, target))
                    made.add(key)
                updated = picture.model_copy(
                    update={
                        "variants": {**picture.variants, target.id: key},
                        "on_demand": [*picture.on_demand, target.id],
                        "revision": picture.revision + 1,
                    }
                )
                try:
                    self._table.swap_picture(user_id, updated, picture.revision, self._clock())
                except Conflict:
                    picture = self._reread(user_id, picture.id)
                    continue
                picture = updated
                return picture, target
            raise Conflict("The picture kept changing; try again")
        finally:
            # What another writer's change left out (the guard filled meanwhile, or the
            # picture went): never recorded, so nothing points at it. A key a rival recorded
            # and a re-crop or regeneration then retired is the sweep's, once its URLs expire.
            self._drop(made - set(picture.variants.values()) - set(picture.retired))

    def stored(self, picture: Picture, wanted: Variant) -> bool:
        """Whether serve would find what serves wanted already recorded on the picture."""
        return self._admitted(picture, wanted).id in picture.variants

    def _admitted(self, picture: Picture, wanted: Variant) -> Variant:
        """wanted, unless it would be one on-demand size too many: then the stored size
        nearest to it (in its format if one is stored in it)."""
        stored = picture.stills()
        configured = set(self._settings.thumbnail_sizes)
        sizes = {v.size for v in stored}
        if wanted.size in configured or wanted.size in sizes:
            return wanted
        on_demand = {v.size for v in stored if v.id in picture.on_demand} - configured
        if len(on_demand) < self._settings.max_extra_sizes or not sizes:
            return wanted
        in_format = {v.size for v in stored if v.format is wanted.format} or sizes
        nearest = min(in_format, key=lambda size: (abs(size - wanted.size), -size))
        return Variant(nearest, wanted.format)

    def _make(self, picture: Picture, target: Variant) -> bytes:
        """target, from the nearest larger stored variant (already of the crop), or the
        original's crop."""
        from profilepics.variants import derive

        data: bytes | None = None
        for key in dict.fromkeys((self._source(picture, target), picture.key)):
            data = self._store.get(key)
            if data is not None:
                break
        if data is None:
            raise Superseded()
        with stopwatch() as elapsed:
            made = derive(
                data,
                [target],
                frames=1,
                encodings=self._settings.encodings,
                limits=self._limits(),
                crop=picture.crop if key == picture.key else None,
            )
        self._meter.record(Metric.ON_DEMAND_TIME, elapsed(), format=target.format.value)
        return made[target]

    @staticmethod
    def _source(picture: Picture, target: Variant) -> str:
        larger = [v for v in picture.stills() if v.size > target.size]
        if not larger:
            return picture.key
        size = min(v.size for v in larger)
        for fmt in _SOURCE_ORDER:
            key = picture.variants.get(Variant(size, fmt).id)
            if key is not None:
                return key
        return picture.key

    def _put(self, key: str, target: Variant, blob: bytes) -> None:
        self._store.put(key, blob, target.format.content_type, keys.IMMUTABLE)
        log.info("variant made on request", extra={"key": key, "bytes": len(blob)})

    def _reread(self, user_id: str, picture_id: str) -> Picture:
        profile = self._table.get(user_id)
        fresh = profile.picture if profile else None
        if fresh is None or fresh.id != picture_id or fresh.status is not PictureStatus.READY:
            raise Superseded()
        return fresh

    def _drop(self, unrecorded: set[str]) -> None:
        if unrecorded:
            self._store.delete(sorted(unrecorded))
