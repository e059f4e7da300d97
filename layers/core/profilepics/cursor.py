"""Opaque page cursors: the last key of a page as base64url JSON, refused unless well-formed."""

from __future__ import annotations

import base64
import binascii
import json

from profilepics.errors import BadRequest


def encode(user_id: str) -> str:
    key = json.dumps({"user_id": user_id})
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode(cursor: str) -> str:
    """The user id a cursor continues after; BadRequest for one this API did not hand out."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(key, dict) and set(key) == {"user_id"} and isinstance(key["user_id"], str):
            return key["user_id"]
    except (binascii.Error, ValueError):
        pass
    raise BadRequest("The cursor is not one this API returned")
