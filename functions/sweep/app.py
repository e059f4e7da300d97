"""Scheduled: re-drives work bucket events left stuck, then deletes stored objects no profile
refers to, as `profilepics sweep` does."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.observability import function_logger

logger = function_logger("sweep")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parts = deps.container()
    deadline = timedelta(seconds=parts.settings.processing_deadline_seconds)
    healed = parts.healer.heal(parts.processing, deadline)
    report = parts.sweeper.run(timedelta(seconds=parts.settings.sweep_grace_seconds))
    logger.info("sweep done", extra={"healed": healed.lines(done=True), "report": report.lines()})
    return {
        "redriven": len(healed.keys),
        "deleted": dict(report.deleted),
        "referenced": report.referenced,
    }
