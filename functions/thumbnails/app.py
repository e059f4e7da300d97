"""Bucket ObjectCreated events for originals/ -> square WebP variants on the profile."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps

logger = Logger(service="thumbnails")
# The core's own loggers write the same JSON, with this request's correlation id.
copy_config_to_registered_loggers(source_logger=logger, include={"profilepics"})


@logger.inject_lambda_context
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    outcomes = {}
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)
        outcomes[key] = deps.processing().make_thumbnails(key).value
    logger.info("thumbnails done", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
