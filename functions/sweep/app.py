"""Scheduled: re-drives work bucket events left stuck, then deletes stored objects no profile
refers to, as `profilepics sweep` does."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.observability import function_logger

logger = function_logger("sweep")
# Stop this long before the function's timeout: the next scheduled run resumes there.
STOP_BEFORE_MS = 30_000


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from profilepics.sweep import every  # with the sweeper it reports on, not at import

    parts = deps.container()
    deadline = timedelta(seconds=parts.settings.processing_deadline_seconds)
    healed = parts.healer.heal(parts.processing, deadline)
    report = parts.sweeper.run(
        timedelta(seconds=parts.settings.sweep_grace_seconds),
        until=lambda: context.get_remaining_time_in_millis() < STOP_BEFORE_MS,
        progress=every(30, logger.info),
    )
    logger.info("sweep done", extra={"healed": healed.lines(done=True), "report": report.lines()})
    return {
        "redriven": len(healed.keys),
        "deleted": dict(report.deleted),
        "referenced": report.referenced,
        "checked": report.checked,
        "complete": report.stopped_after is None,
    }
