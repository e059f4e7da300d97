"""Bucket events: the created keys of an S3 event (URL-decoded), each run through one use case."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


def created_keys(event: dict[str, Any]) -> list[str]:
    """S3 and MinIO send object keys URL-encoded."""
    # Here, not at the top: Powertools' data_classes package imports every event class it has
    # (~20 ms of a cold start); the first event pays it instead.
    from aws_lambda_powertools.utilities.data_classes import S3Event

    return [unquote_plus(record.s3.get_object.key) for record in S3Event(event).records]


def handle_created(
    event: dict[str, Any], step: Callable[[str], StrEnum], logger: Logger
) -> dict[str, dict[str, str]]:
    """Each created key's outcome, logged; a store or table fault raises, for a redelivery."""
    outcomes = {key: step(key).value for key in created_keys(event)}
    logger.info("bucket event handled", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
