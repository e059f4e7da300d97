"""Bucket ObjectCreated events for originals/ -> square WebP variants on the profile."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.observability import function_logger
from profilepics.s3events import handle_created

logger = function_logger("thumbnails")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_created(event, deps.processing().make_thumbnails, logger)
