"""Phone photos on the real stack: HEIC and AVIF in, a browser format stored, upright, clean."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests
from PIL import Image

from tests.api_client import accepted, profile, put_picture
from tests.integration.test_direct_upload import post_file, start, upload_state
from tests.integration.test_thumbnails import wait_status
from tests.stackrun import RunningStack
from tests.unit import heifgrid as grids
from tests.unit import imagegen as gen
from tests.unit.test_images import assert_no_metadata, is_blue, is_red

pytestmark = pytest.mark.integration

# Stored sideways with orientation 6, as a phone held upright writes it.
PHONE: dict[str, Callable[[Image.Image, int], bytes]] = {
    "image/heic": gen.heic_oriented,
    "image/avif": gen.avif_oriented,
}


def stored_original(stack: RunningStack, key: str) -> tuple[Image.Image, bytes, str]:
    obj = stack.minio().get_object(stack.bucket, key)
    try:
        data, content_type = obj.read(), obj.headers["Content-Type"]
    finally:
        obj.close()
        obj.release_conn()
    return gen.decode(data), data, content_type


def check_upright_jpeg(stack: RunningStack, picture: dict[str, Any], user_id: str) -> None:
    key = f"originals/{user_id}/{picture['id']}.jpg"
    assert stack.keys(f"originals/{user_id}/") == [key]
    img, data, content_type = stored_original(stack, key)
    assert (img.format, content_type, img.size) == ("JPEG", "image/jpeg", (160, 80))
    assert is_red(gen.pixel(img, (4, 4))) and is_blue(gen.pixel(img, (150, 70)))
    assert_no_metadata(data)
    assert b"TestCam" not in data


@pytest.mark.parametrize("content_type", list(PHONE))
def test_a_phone_photo_put_is_stored_upright_as_jpeg_without_metadata_and_gets_variants(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str], content_type: str
) -> None:
    user_id = user["user_id"]
    data = PHONE[content_type](gen.marked(160, 80), 6)
    picture = accepted(put_picture(api, user_id, data, content_type, http=http))
    assert (picture["format"], picture["width"], picture["height"]) == ("jpeg", 160, 80)
    check_upright_jpeg(stack, picture, user_id)
    ready = wait_status(http, api, user_id, picture["id"])
    variant = http.get(ready["variants"]["64"], timeout=10)
    assert variant.status_code == 200
    assert Image.open(io.BytesIO(variant.content)).size == (64, 64)


@pytest.mark.parametrize("content_type", list(PHONE))
def test_a_direct_phone_photo_upload_is_ingested_as_jpeg(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str], content_type: str
) -> None:
    user_id = user["user_id"]
    data = PHONE[content_type](gen.marked(160, 80), 6)
    policy = start(http, api, user_id, {"content_type": content_type, "size": len(data)})
    assert policy["fields"]["Content-Type"] == content_type
    assert post_file(policy, data).status_code in (201, 204)
    done = upload_state(http, api, user_id, "done")
    check_upright_jpeg(stack, done["picture"], user_id)
    assert stack.keys(f"uploads/{user_id}/") == []


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("truncated HEIC", lambda: gen.heic(gen.photo(128, 96))[:400], "image_corrupt"),
        (
            "AVIF declaring 8000x7000",
            lambda: gen.with_declared_size(gen.encode(gen.photo(64, 64), "AVIF"), 8000, 7000),
            "image_too_large",
        ),
        (
            "HEIC of 64x64 grey declaring 6000x5000",
            lambda: gen.with_declared_size(
                gen.heic(Image.new("RGB", (64, 64), (128, 128, 128))), 6000, 5000
            ),
            "image_too_large",
        ),
        *(
            (
                f"{fmt} grid declaring 64x64 over 64 tiles of 1024x1024",
                lambda fmt=fmt: grids.grid(
                    [grids.tile(fmt, (1024, 1024))] * 64, 8, 8, (8192, 8192), ispe=(64, 64)
                ),
                "image_too_large",
            )
            for fmt in ("HEIC", "AVIF")
        ),
        (
            "HEIC overlay of one 64x64 tile on a 20000x20000 canvas",
            lambda: grids.overlay(grids.tile("HEIC", (64, 64)), (20000, 20000)),
            "image_too_large",
        ),
        (
            "ftyp naming no codec",
            lambda: b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1" + bytes(200),
            "unsupported_media_type",
        ),
    ],
)
def test_hostile_phone_photos_get_their_4xx_and_change_nothing(
    stack: RunningStack,
    api: str,
    http: requests.Session,
    user: dict[str, str],
    name: str,
    make: Callable[[], bytes],
    code: str,
) -> None:
    user_id = user["user_id"]
    before = profile(api, user_id, http)
    answer = put_picture(api, user_id, make(), "image/heic", http=http)
    assert answer.status_code in (415, 422), (name, answer.text)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == code, name
    assert profile(api, user_id, http) == before
    assert stack.keys(f"originals/{user_id}/") == []
