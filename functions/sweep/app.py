"""Scheduled: deletes stored objects no profile refers to, as `profilepics sweep` does."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.observability import function_logger

logger = function_logger("sweep")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    grace = timedelta(seconds=deps.settings().sweep_grace_seconds)
    report = deps.sweeper().run(grace)
    logger.info("sweep done", extra={"report": report.lines()})
    return {"deleted": dict(report.deleted), "referenced": report.referenced}
