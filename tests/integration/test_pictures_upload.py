"""Uploading, replacing and deleting a picture over HTTP, checked in the real bucket."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from PIL import ExifTags, Image

from tests.api_client import profile, put_multipart, put_picture
from tests.stackrun import RunningStack, bearer
from tests.unit import imagegen as gen

JPEG = gen.encode(gen.photo(120, 90), "JPEG", quality=85)
SETTLE_SECONDS = 10


def eventually(check: Callable[[], bool], timeout: float = SETTLE_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def settled(stack: RunningStack, prefix: str) -> Callable[[], bool]:
    """True once no object under prefix has appeared for a second (late thumbnail runs)."""
    state: dict[str, Any] = {"keys": None, "since": time.monotonic()}

    def check() -> bool:
        keys = stack.keys(prefix)
        if keys != state["keys"]:
            state.update(keys=keys, since=time.monotonic())
        return not keys and time.monotonic() - state["since"] >= 1.0

    return check


def test_raw_upload_is_201_and_multipart_replacement_is_200(
    api: str, stack: RunningStack, user: dict[str, str]
) -> None:
    user_id = user["user_id"]

    created = put_picture(api, user_id, JPEG)
    assert created.status_code == 201, created.text
    first = created.json()
    assert {"id", "format", "width", "height", "bytes", "url"} <= set(first)
    assert (first["format"], first["width"], first["height"]) == ("jpeg", 120, 90)
    key = f"originals/{user_id}/{first['id']}.jpg"
    assert stack.keys(f"originals/{user_id}/") == [key]
    stat = stack.minio().stat_object(stack.bucket, key)
    assert first["bytes"] == stat.size
    assert f"/{key}?" in first["url"]

    replaced = put_multipart(api, user_id, gen.encode(gen.photo(64, 80), "JPEG"))
    assert replaced.status_code == 200, replaced.text
    second = replaced.json()
    assert second["id"] != first["id"]
    assert (second["width"], second["height"]) == (64, 80)
    assert stack.keys(f"originals/{user_id}/") == [f"originals/{user_id}/{second['id']}.jpg"]
    assert profile(api, user_id)["picture"]["id"] == second["id"]


def test_uploaded_picture_is_served_by_the_store_from_its_signed_url(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    assert put_picture(api, user_id, JPEG).status_code == 201

    answer = requests.get(f"{api}/users/{user_id}/picture", timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["is_default"] is False
    assert body["size"] == "original"
    assert body["expires_at"]
    assert "X-Amz-Signature=" in body["url"]

    image = requests.get(body["url"], timeout=10)  # no credentials: the URL is the grant
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    cache_control = image.headers["Cache-Control"]
    assert "immutable" in cache_control and "max-age=31536000" in cache_control
    decoded = gen.decode(image.content)
    assert (decoded.format, decoded.size) == ("JPEG", (120, 90))


def test_format_comes_from_the_bytes_not_the_content_type_or_file_name(
    api: str, stack: RunningStack, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    png = gen.encode(gen.marked(40, 20).convert("RGBA"), "PNG")

    response = put_picture(api, user_id, png, content_type="image/jpeg")
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "png"
    key = f"originals/{user_id}/{response.json()['id']}.png"
    assert stack.keys(f"originals/{user_id}/") == [key]
    assert stack.minio().stat_object(stack.bucket, key).content_type == "image/png"

    renamed = put_multipart(api, user_id, gen.animation("GIF", 3, (12, 8)), name="me.jpg")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["format"] == "gif"
    stored = gen.decode(requests.get(renamed.json()["url"], timeout=10).content)
    assert (stored.format, gen.frame_count(stored)) == ("GIF", 3)


def test_two_users_uploading_the_same_file_never_collide(
    api: str, stack: RunningStack, user: dict[str, str], http: requests.Session
) -> None:
    other = f"{user['user_id']}-b"
    body = {"user_id": other, "display_name": "Other", "email": "other@example.com"}
    assert http.post(f"{api}/users", json=body, headers=bearer(other), timeout=10).ok

    one = put_multipart(api, user["user_id"], JPEG).json()
    two = put_multipart(api, other, JPEG).json()

    assert one["id"] != two["id"]
    assert len(stack.keys(f"originals/{user['user_id']}/")) == 1
    assert len(stack.keys(f"originals/{other}/")) == 1


def test_jpeg_with_gps_and_orientation_6_is_stored_upright_without_exif(
    api: str, user: dict[str, str]
) -> None:
    upright = gen.marked(80, 40)
    stored_as = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera tags with 6
    upload = gen.encode(stored_as, "JPEG", exif=gen.exif_bytes(6, gps=True))
    assert b"TestCam" in upload

    response = put_picture(api, user["user_id"], upload)
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (80, 40)

    stored = requests.get(response.json()["url"], timeout=10).content
    img = gen.decode(stored)
    assert img.size == (80, 40)
    assert not img.getexif()
    assert ExifTags.Base.Orientation not in img.getexif()
    assert b"Exif\x00\x00" not in stored and b"TestCam" not in stored
    red = gen.pixel(img.convert("RGB"), (5, 5))  # the red corner is top-left again
    assert red[0] > 200 and red[2] < 60


def test_replacement_leaves_exactly_one_original_and_no_old_thumbnails(
    api: str, stack: RunningStack, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    ids = []
    for _ in range(3):
        response = put_picture(api, user_id, JPEG)
        assert response.status_code in (200, 201), response.text
        ids.append(response.json()["id"])

    assert stack.keys(f"originals/{user_id}/") == [f"originals/{user_id}/{ids[-1]}.jpg"]
    assert eventually(
        lambda: (
            profile(api, user_id)["picture"]["status"] == "ready"
            and all(f"/{ids[-1]}/" in key for key in stack.keys(f"thumbnails/{user_id}/"))
            and len(stack.keys(f"thumbnails/{user_id}/")) == stack.stills()
        )
    ), stack.keys(f"thumbnails/{user_id}/")


def test_delete_is_204_removes_every_object_and_falls_back_to_the_default(
    api: str, stack: RunningStack, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    assert put_picture(api, user_id, JPEG).status_code == 201
    # Let the thumbnail run start (or finish), so the delete races it as in real life.
    eventually(lambda: bool(stack.keys(f"thumbnails/{user_id}/")), timeout=3)

    deleted = requests.delete(f"{api}/users/{user_id}/picture", headers=bearer(user_id), timeout=10)
    assert deleted.status_code == 204
    assert deleted.content == b""

    assert stack.keys(f"originals/{user_id}/") == []
    assert eventually(settled(stack, f"thumbnails/{user_id}/")), stack.keys(
        f"thumbnails/{user_id}/"
    )
    after = profile(api, user_id)
    assert after["picture"] is None
    assert "/pictures/default?" in after["profile_picture_url"]
    url = requests.get(f"{api}/users/{user_id}/picture", timeout=10).json()
    assert url["is_default"] is True
    assert url["url"] == after["profile_picture_url"]
    default = requests.get(url["url"], timeout=10)
    assert default.status_code == 200
    assert default.headers["Content-Type"] == "image/png"


def test_delete_twice_is_still_204_and_unknown_user_is_404(api: str, user: dict[str, str]) -> None:
    user_id = user["user_id"]
    url = f"{api}/users/{user_id}/picture"
    assert requests.delete(url, headers=bearer(user_id), timeout=10).status_code == 204
    assert requests.delete(url, headers=bearer(user_id), timeout=10).status_code == 204
    missing = requests.delete(
        f"{api}/users/nobody-{user_id}/picture", headers=bearer(f"nobody-{user_id}"), timeout=10
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "user_not_found"
