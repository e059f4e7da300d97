"""The bucket's key layout: where originals, thumbnails and direct uploads live."""

from __future__ import annotations

import re
from typing import NamedTuple

from profilepics.formats import Encoding, Variant

ORIGINALS = "originals/"
THUMBNAILS = "thumbnails/"
UPLOADS = "uploads/"
SWEEP = "sweep/"  # where the sweep keeps its position between runs
# The pictures' objects: what the sweep lists, in key order.
PICTURES = (ORIGINALS, THUMBNAILS, UPLOADS)
# Everything the service reads or writes: the store's policies grant nothing outside these.
PREFIXES = (*PICTURES, SWEEP)
SWEEP_CHECKPOINT = f"{SWEEP}checkpoint.json"
IMMUTABLE = "public, max-age=31536000, immutable"

_ORIGINAL = re.compile(r"^originals/(?P<user>[^/]+)/(?P<id>[0-9a-f]{32})\.(?P<ext>[a-z]+)$")
_UPLOAD = re.compile(r"^uploads/(?P<user>[^/]+)/(?P<id>[0-9a-f]{32})$")


class KeyRef(NamedTuple):
    user_id: str
    object_id: str


def original(user_id: str, picture_id: str, extension: str) -> str:
    return f"{ORIGINALS}{user_id}/{picture_id}.{extension}"


def thumbnail_prefix(user_id: str, picture_id: str) -> str:
    return f"{THUMBNAILS}{user_id}/{picture_id}/"


def thumbnail(user_id: str, picture_id: str, variant: Variant, encoding: Encoding) -> str:
    """E.g. thumbnails/ada/<id>/256.q60s8.avif: the encoder's settings are in the name, so
    variants made under other settings never overwrite the ones URLs already point at."""
    tag = f".{encoding.tag}" if encoding.tag else ""
    return f"{thumbnail_prefix(user_id, picture_id)}{variant.name}{tag}.{variant.format.extension}"


def upload(user_id: str, upload_id: str) -> str:
    return f"{UPLOADS}{user_id}/{upload_id}"


def parse_original(key: str) -> KeyRef | None:
    match = _ORIGINAL.match(key)
    return KeyRef(match["user"], match["id"]) if match else None


def parse_upload(key: str) -> KeyRef | None:
    match = _UPLOAD.match(key)
    return KeyRef(match["user"], match["id"]) if match else None
