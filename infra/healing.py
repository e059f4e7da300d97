"""Re-drives the work bucket events never finished (see profilepics.healing): through the
invoker's spool when it starts, or in this process from `profilepics sweep`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from profilepics.config import Settings
from profilepics.deps import build
from profilepics.healing import Healer, HealPlan

from infra.invoker.delivery import Delivery
from infra.invoker.events import s3_record
from infra.invoker.spool import DEAD, HELD, PENDING

log = logging.getLogger("profilepics.invoker")


def healer_for(settings: Settings) -> Healer:
    return build(settings).healer


def through_spool(
    delivery: Delivery, healer: Healer, bucket: str, stuck_after: timedelta
) -> Callable[[], None]:
    """A start-up chore: spool an event for everything stuck that the spool doesn't hold yet.

    Events the spool already holds (even dead ones, which wait for an operator's redrive) are
    left to it, so a restart delivers each once.
    """

    def heal() -> None:
        plan = healer.plan(stuck_after)
        healer.settle(plan)
        held = {key for state in (PENDING, HELD, DEAD) for _, key in delivery.spool.keys(state)}
        records = [
            s3_record("ObjectCreated:Put", bucket, key, 0) for key in plan.keys if key not in held
        ]
        delivery.enqueue(records)
        log.info("healing: %s", plan.lines(done=True)[0])

    return heal


def in_process(settings: Settings, stuck_after: timedelta, dry_run: bool) -> HealPlan:
    """Re-drive everything stuck here and now, as the thumbnails and ingest functions would."""
    parts = build(settings)
    if dry_run:
        return parts.healer.plan(stuck_after)
    return parts.healer.heal(parts.processing, stuck_after)
