"""Bucket events: the created keys of an S3 event (URL-decoded), each run through one use case."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event


def created_keys(event: S3Event) -> list[str]:
    """S3 and MinIO send object keys URL-encoded."""
    return [unquote_plus(record.s3.get_object.key) for record in event.records]


def handle_created(
    event: S3Event, step: Callable[[str], StrEnum], logger: Logger
) -> dict[str, dict[str, str]]:
    """Each created key's outcome, logged; a store or table fault raises, for a redelivery."""
    outcomes = {key: step(key).value for key in created_keys(event)}
    logger.info("bucket event handled", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
