"""Regeneration: the variants of every picture made under other settings (sizes, formats,
quality) are made again under the current ones. A picture switches to its new set in one
conditional write; the objects it leaves are retired, and the sweep deletes them once no URL
handed out for them can still work. Pictures already current are skipped, so a run that
stopped is resumed by running it again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from profilepics import keys
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.errors import Conflict, ProblemError
from profilepics.formats import Variant
from profilepics.models import Crop, Picture, PictureStatus, Profile
from profilepics.ports import ObjectStore, ProfileTable, current_picture
from profilepics.regenerate_report import Outcome, RegenerateReport

if TYPE_CHECKING:
    from profilepics.images import ImageLimits

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 8
# Keys a picture may have waiting for the URLs handed out for them to expire (~90 bytes each in
# its item). Every retirement restarts the wait for all of them, so re-crops that came faster
# than the URLs' life grew the list, the item and the kept objects without end.
MAX_RETIRED = 256
_PAGE = 50


@dataclass(frozen=True)
class Plan:
    """A picture's variant set under the current settings, and how it gets there."""

    variants: dict[str, str]
    on_demand: list[str]
    missing: list[Variant]  # to make: not stored under their current key
    retired: list[str]  # stored keys the new set no longer has


class Regenerator:
    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        settings: Settings,
        clock: Clock,
        limits: Callable[[], ImageLimits],
    ) -> None:
        self._store = store
        self._table = table
        self._settings = settings
        self._clock = clock
        self._limits = limits
        self._url_life = settings.url_reach

    def plan(self, user_id: str, picture: Picture) -> Plan | None:
        """The picture's set under the current settings; None when it already is that set."""
        encodings = self._settings.encodings
        wanted = [v for v in self._settings.variants if not v.animated or picture.frames > 1]
        variants = {
            v.id: keys.picture_variant(user_id, picture, v, encodings[v.format]) for v in wanted
        }
        on_demand = []
        for variant_id in picture.on_demand:
            variant, key = Variant.parse(variant_id), picture.variants.get(variant_id)
            if variant is None or key is None or variant_id in variants:
                continue
            # Made on request under today's settings: kept; under others: made again on request.
            if key == keys.picture_variant(user_id, picture, variant, encodings[variant.format]):
                variants[variant_id] = key
                on_demand.append(variant_id)
        if variants == picture.variants and on_demand == picture.on_demand:
            return None
        stored = set(picture.variants.values())
        return Plan(
            variants=variants,
            on_demand=on_demand,
            missing=[v for v in wanted if variants[v.id] not in stored],
            retired=sorted(stored - set(variants.values())),
        )

    def regenerate(self, user_id: str, picture: Picture, report: RegenerateReport) -> Outcome:
        """Switch one picture to its current set; the counts go into report."""
        return self._switch(user_id, picture, report)[0]

    def recrop(self, user_id: str, picture: Picture, crop: Crop) -> tuple[Outcome, Picture | None]:
        """Switch the picture to variants of crop, made from its original, in the same one
        conditional write as the crop itself; the old set is retired as a regeneration's is.
        The same crop again changes nothing. Returns what happened and the picture as it now
        is (None once it was replaced or deleted)."""

        _, waiting = self._retirements(picture, self._clock())
        if picture.crop != crop and waiting and len(waiting) + len(picture.variants) > MAX_RETIRED:
            assert picture.retired_at is not None  # keys wait only behind a retirement
            until = (picture.retired_at + self._url_life).isoformat(timespec="seconds")
            raise Conflict(
                "The picture was re-cropped too often: the variants of its earlier squares are "
                f"kept until the URLs handed out for them expire ({until}); crop it then."
            )

        def recropped(current: Picture) -> Picture:
            if current.crop == crop:
                return current
            tag = keys.next_crop_tag(current.crop_tag)
            return current.model_copy(update={"crop": crop, "crop_tag": tag})

        return self._switch(user_id, picture, RegenerateReport(dry_run=False), recropped)

    def _switch(
        self,
        user_id: str,
        picture: Picture,
        report: RegenerateReport,
        change: Callable[[Picture], Picture] | None = None,
    ) -> tuple[Outcome, Picture | None]:
        """Switch one picture to its current set, changed by change (a re-crop) first: the
        change is applied to the picture as read, again after every rival write, and lands in
        the same conditional write as the set it needs."""
        written: dict[str, Variant] = {}
        placeholder: str | None = None
        for _ in range(WRITE_ATTEMPTS):
            if change is not None:
                picture = change(picture)
            if picture.status is not PictureStatus.READY:
                return self._drop(written, picture, Outcome.SKIPPED), picture
            plan = self.plan(user_id, picture)
            if plan is not None and any(
                plan.variants[v.id] in picture.retired for v in plan.missing
            ):
                # Settings changed back: the set's keys were retired, and the sweep may be
                # deleting them this moment. A retired key is never written again, so the set
                # is made anew under a fresh tag, as a re-crop's is.
                picture = picture.model_copy(
                    update={"crop_tag": keys.next_crop_tag(picture.crop_tag)}
                )
                plan = self.plan(user_id, picture)
            if plan is None:  # another run switched it meanwhile, to the same keys
                return self._drop(written, picture, Outcome.UP_TO_DATE), picture
            if report.dry_run:
                report.made += len(plan.missing)
                report.retired += len(plan.retired)
                return Outcome.REGENERATED, picture
            made = self._make(picture, plan, written)
            if made is None:
                fresh = current_picture(self._table, user_id, picture.id)
                if fresh is None:
                    return self._drop(written, None, Outcome.SUPERSEDED), None
                raise Conflict("The picture's original is missing from the store")
            placeholder = made or placeholder
            now = self._clock()
            kept = set(plan.variants.values())
            due, waiting = self._retirements(picture, now)
            retired = sorted((set(waiting) | set(plan.retired)) - kept)
            updated = picture.model_copy(
                update={
                    "variants": plan.variants,
                    "on_demand": plan.on_demand,
                    "retired": retired,
                    "retired_at": now if plan.retired else picture.retired_at,
                    "placeholder": placeholder or picture.placeholder,
                    "revision": picture.revision + 1,
                }
            )
            try:
                self._table.swap_picture(user_id, updated, picture.revision, now)
            except Conflict:
                fresh = current_picture(self._table, user_id, picture.id)
                if fresh is None:
                    return self._drop(written, None, Outcome.SUPERSEDED), None
                picture = fresh
                continue
            report.made += len(written)
            report.retired += len(plan.retired)
            # What an earlier attempt made for a set a rival write overtook: never recorded.
            unrecorded = [key for key in written if key not in kept and key not in retired]
            self._delete([key for key in due if key not in kept] + unrecorded)
            return Outcome.REGENERATED, updated
        self._drop(written, picture, Outcome.FAILED)
        raise Conflict("The picture kept changing; try again")

    def _make(self, picture: Picture, plan: Plan, written: dict[str, Variant]) -> str | None:
        """Store the plan's missing variants (all from one decode); those the original can't
        have (an animated one of a still) leave the plan. None when the original is gone, else
        the placeholder of what was made when that includes the smallest size ("" if not)."""
        from profilepics import placeholder
        from profilepics.variants import derive

        todo = [v for v in plan.missing if plan.variants[v.id] not in written]
        if not todo:
            return ""
        data = self._store.get(picture.key)
        if data is None:
            return None
        encodings = self._settings.encodings
        made = derive(
            data,
            todo,
            frames=picture.frames,
            encodings=encodings,
            limits=self._limits(),
            crop=picture.crop,
        )
        for variant in todo:
            key = plan.variants[variant.id]
            if variant not in made:
                del plan.variants[variant.id]
                continue
            self._store.put(key, made[variant], variant.format.content_type, keys.IMMUTABLE)
            written[key] = variant
        # The placeholder is of the smallest still size: made again when that size was.
        stills = [v for v in map(Variant.parse, plan.variants) if v and not v.animated]
        if stills and min(v.size for v in stills) in {v.size for v in made if not v.animated}:
            return placeholder.of_variants(made) or ""
        return ""

    def _retirements(self, picture: Picture, now: datetime) -> tuple[list[str], list[str]]:
        """(retired keys no URL can reach any more, those it still may)."""
        if picture.retired_at is not None and picture.retired_at + self._url_life <= now:
            return list(picture.retired), []
        return [], list(picture.retired)

    def _drop(
        self, written: dict[str, Variant], picture: Picture | None, outcome: Outcome
    ) -> Outcome:
        """Delete what this run wrote that the picture does not record (the picture went, or
        changed otherwise); keys are the same for the same settings, so a rival's are kept,
        and so are those a rival recorded that were retired since (URLs may point at them)."""
        recorded = set(picture.variants.values()) | set(picture.retired) if picture else set()
        self._delete([key for key in written if key not in recorded])
        written.clear()
        return outcome

    def _delete(self, keys_: list[str]) -> None:
        if not keys_:
            return
        try:
            self._store.delete(keys_)
        except ProblemError as exc:
            log.warning("left %d objects for the sweep: %s", len(keys_), exc.code)

    def count(self) -> int:
        """How many pictures a run will look at (for a progress bar)."""
        return sum(1 for profile in self._profiles(None)[0] if profile.picture is not None)

    def run(
        self,
        *,
        dry_run: bool = False,
        cursor: str | None = None,
        progress: Callable[[Outcome], None] | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> RegenerateReport:
        """Every picture from cursor on; stops early (with a cursor to resume) once stop()."""
        report = RegenerateReport(dry_run=dry_run)
        profiles, position = self._profiles(cursor)
        for profile in profiles:
            if stop():
                report.complete, report.next_cursor = False, position()
                break
            if profile.picture is None:
                continue
            report.pictures += 1
            outcome = self._one(profile, report)
            report.outcomes[outcome] += 1
            if progress is not None:
                progress(outcome)
        return report

    def _one(self, profile: Profile, report: RegenerateReport) -> Outcome:
        assert profile.picture is not None
        try:
            return self.regenerate(profile.user_id, profile.picture, report)
        except ProblemError as exc:
            log.warning("regenerating %s failed: %s", profile.user_id, exc.code)
            report.errors[exc.code] += 1
            return Outcome.FAILED

    def _profiles(self, cursor: str | None) -> tuple[Iterator[Profile], Callable[[], str | None]]:
        """Every profile from cursor on, and a function telling the cursor of the page being
        read (a resumed run starts that page again: its finished pictures are up to date)."""
        at: list[str | None] = [cursor]

        def pages() -> Iterator[Profile]:
            page_cursor = cursor
            while True:
                at[0] = page_cursor
                page, page_cursor = self._table.scan(_PAGE, page_cursor)
                yield from page
                if page_cursor is None:
                    return

        return pages(), lambda: at[0]
