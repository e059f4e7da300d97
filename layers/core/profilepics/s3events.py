"""The object keys of an S3 event, decoded: S3 and MinIO send them URL-encoded."""

from __future__ import annotations

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event


def created_keys(event: S3Event) -> list[str]:
    return [unquote_plus(record.s3.get_object.key) for record in event.records]
