"""Restarts through the API: profiles and pictures survive `profilepics up` on the same data."""

from __future__ import annotations

import io

import pytest
import requests
from minio.error import S3Error
from PIL import Image

from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import (
    assert_invariants,
    settle,
)
from tests.stackrun import OwnStack

pytestmark = pytest.mark.integration


def fetch_image(url: str) -> tuple[int, int]:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    size: tuple[int, int] = Image.open(io.BytesIO(response.content)).size
    return size


def test_profiles_and_pictures_survive_a_restart_and_the_store_still_wants_its_secret(
    own_stack: OwnStack,
) -> None:
    first = own_stack.current
    user = new_user(first.api, "r")
    assert put_picture(first.api, user, jpeg(300, 200)).status_code == 201
    settle(first, [user])
    before = requests.get(f"{first.api}/users/{user}", timeout=10).json()
    assert first.stop() == 0

    again = own_stack.restart()

    after = requests.get(f"{again.api}/users/{user}", timeout=10).json()
    assert after["picture"]["id"] == before["picture"]["id"]
    assert after["picture"]["status"] == "ready"
    assert after["display_name"] == before["display_name"]
    assert fetch_image(after["profile_picture_url"]) == (300, 200)
    assert fetch_image(after["profile_picture_variants"]["128"]) == (128, 128)
    with pytest.raises(S3Error) as refused:
        next(again.minio(secret_key="not-the-secret-0123456789").list_objects(again.bucket))
    assert refused.value.code in {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}
    redirect = requests.get(f"{again.api}/users/{user}/picture?redirect=1", timeout=10)
    assert redirect.history and redirect.history[0].status_code == 302
    assert redirect.status_code == 200
    assert "orphans deleted: 0 " in assert_invariants(again)
    replaced = put_picture(again.api, user, jpeg(colour="navy"))
    assert replaced.status_code == 200, replaced.text
