"""A one-off operator invocation: make the variants of every picture made under other settings
again, as `profilepics regenerate` does (README, "Regenerating variants")."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.observability import function_logger

logger = function_logger("regenerate")
# Stop with a cursor to resume while there is time to answer: a picture takes well under this.
MARGIN_MS = 60_000


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = deps.regenerator().run(
        dry_run=bool(event.get("dry_run", False)),
        cursor=event.get("cursor"),
        stop=lambda: context.get_remaining_time_in_millis() < MARGIN_MS,
    )
    logger.info("regenerate done", extra={"report": report.lines()})
    return report.as_dict()
