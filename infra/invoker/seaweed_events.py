"""Turns SeaweedFS's filer webhook payloads into genuine S3 ObjectCreated event records."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from infra.invoker.events import s3_record

# As S3 itself names them (MinIO adds an "s3:" prefix); a filer "update" is an overwrite.
_CREATED = {"create": "ObjectCreated:Put", "update": "ObjectCreated:Put"}


def _etag(attributes: dict[str, Any]) -> str:
    try:
        return base64.b64decode(str(attributes.get("md5", ""))).hex()
    except (binascii.Error, ValueError):
        return ""


def to_s3_records(payload: Any) -> list[dict[str, Any]]:
    """The S3 records for a filer event: one for a new object, none for anything else."""
    if not isinstance(payload, dict):
        return []
    event_name = _CREATED.get(str(payload.get("event_type", "")))
    message = payload.get("message") or {}
    entry = message.get("new_entry") or {}
    if event_name is None or not entry.get("name") or entry.get("is_directory"):
        return []
    path = f"{message.get('new_parent_path', '')}/{entry['name']}"
    parts = path.split("/", 3)  # "", "buckets", bucket, key
    if len(parts) < 4 or parts[1] != "buckets" or not parts[3] or parts[3].startswith(".uploads/"):
        return []
    attributes = entry.get("attributes") or {}
    size = int(attributes.get("file_size", 0))
    return [s3_record(event_name, parts[2], parts[3], size, _etag(attributes))]
