"""The HTTP API as the tests call it over real HTTP: users, profiles, uploads, test pictures."""

from __future__ import annotations

import io
import os
import uuid
from typing import Any

import requests
from PIL import Image

from tests.stackrun import bearer

TIMEOUT = 30.0


def jpeg(width: int = 48, height: int = 32, colour: str = "teal", *, noise: bool = False) -> bytes:
    """A JPEG of one colour; with noise it barely compresses (for crossing size limits)."""
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, subsampling=0)
    return out.getvalue()


def create_user(
    api: str,
    user_id: str | None = None,
    *,
    name: str = "Grace Hopper",
    prefix: str = "u",
    http: requests.Session | None = None,
) -> dict[str, str]:
    """A new profile (its own token creates it); its body."""
    user_id = user_id or f"{prefix}-{uuid.uuid4().hex[:12]}"
    body = {"user_id": user_id, "display_name": name, "email": f"{user_id}@example.com"}
    response = (http or requests).post(
        f"{api}/users", json=body, headers=bearer(user_id), timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return body


def new_user(api: str, prefix: str = "u", name: str = "Fault Tester") -> str:
    """The id of a new profile."""
    return create_user(api, prefix=prefix, name=name)["user_id"]


def profile(
    api: str, user_id: str, http: requests.Session | None = None, *, fresh: bool = False
) -> dict[str, Any]:
    """The profile; fresh: as last written, not as an instance read it a moment ago."""
    headers = {"Cache-Control": "no-cache"} if fresh else {}
    response = (http or requests).get(f"{api}/users/{user_id}", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put_picture(
    api: str,
    user_id: str,
    data: bytes,
    content_type: str = "image/jpeg",
    *,
    http: requests.Session | None = None,
    timeout: float = TIMEOUT,
) -> requests.Response:
    """PUT the picture as a raw body, with the owner's token."""
    headers = {**bearer(user_id), "Content-Type": content_type}
    url = f"{api}/users/{user_id}/picture"
    return (http or requests).put(url, data=data, headers=headers, timeout=timeout)


def put_multipart(api: str, user_id: str, data: bytes, name: str = "me.jpg") -> requests.Response:
    """PUT the picture as a form's `file` field, as a browser form sends it."""
    files = {"file": (name, data, "image/jpeg")}
    url = f"{api}/users/{user_id}/picture"
    return requests.put(url, files=files, headers=bearer(user_id), timeout=TIMEOUT)


def accepted(response: requests.Response) -> dict[str, Any]:
    """The JSON body of a successful answer (asserting it was one)."""
    assert 200 <= response.status_code < 300, response.text
    body: dict[str, Any] = response.json()
    return body
