"""The bucket's key layout: where originals, thumbnails and direct uploads live."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, NamedTuple

from profilepics.formats import Encoding, Variant

if TYPE_CHECKING:
    from profilepics.models import Picture

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
_CROP_TAG = re.compile(r"\.(c[0-9]+-[0-9a-f]{8})\.")
_UPLOAD = re.compile(r"^uploads/(?P<user>[^/]+)/(?P<id>[0-9a-f]{32})$")


class KeyRef(NamedTuple):
    user_id: str
    object_id: str


def original(user_id: str, picture_id: str, extension: str) -> str:
    return f"{ORIGINALS}{user_id}/{picture_id}.{extension}"


def thumbnail_prefix(user_id: str, picture_id: str) -> str:
    return f"{THUMBNAILS}{user_id}/{picture_id}/"


def next_crop_tag(previous: str) -> str:
    """The tag of a re-crop's variants (or of a set made again under settings changed back):
    "c{n}-" (its n-th) and a random suffix, so two re-crops that read the same picture at once
    never write the same key, and no re-crop writes a key an earlier one retired."""
    count = int(previous[1:].split("-")[0]) if previous else 0
    return f"c{count + 1}-{secrets.token_hex(4)}"


def crop_tag_of(key: str) -> str:
    """The crop tag in a variant's key ("" for one of the square uploaded with)."""
    found = _CROP_TAG.search(key.rsplit("/", 1)[-1])
    return found[1] if found else ""


def thumbnail(
    user_id: str, picture_id: str, variant: Variant, encoding: Encoding, crop_tag: str = ""
) -> str:
    """E.g. thumbnails/ada/<id>/256.q60s8.avif, or 256.c1-5d41402a.q60s8.avif after a re-crop:
    the encoder's settings and the square are in the name, so variants made under other
    settings or of another square never overwrite the ones URLs already point at."""
    tags = "".join(f".{tag}" for tag in (crop_tag, encoding.tag) if tag)
    return f"{thumbnail_prefix(user_id, picture_id)}{variant.name}{tags}.{variant.format.extension}"


def picture_variant(user_id: str, picture: Picture, variant: Variant, encoding: Encoding) -> str:
    """Where variant of picture's current square, made with encoding, is stored."""
    return thumbnail(user_id, picture.id, variant, encoding, picture.crop_tag)


def renewed(key: str) -> str:
    """key under a name of its own (a random tag before the extension): what a writer stores
    instead of a key once retired, which the sweep may be deleting as it is written."""
    stem, extension = key.rsplit(".", 1)
    return f"{stem}.r{secrets.token_hex(4)}.{extension}"


def upload(user_id: str, upload_id: str) -> str:
    return f"{UPLOADS}{user_id}/{upload_id}"


def parse_original(key: str) -> KeyRef | None:
    match = _ORIGINAL.match(key)
    return KeyRef(match["user"], match["id"]) if match else None


def parse_upload(key: str) -> KeyRef | None:
    match = _UPLOAD.match(key)
    return KeyRef(match["user"], match["id"]) if match else None
