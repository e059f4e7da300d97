"""Signed picture URLs and the default picture over HTTP: stability, redirects, and the store's
own refusals of tampered, misdirected, expired or unsigned requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from infra.stack.stack import free_stack_ports
from tests.api_client import create_user, profile, put_picture
from tests.stackrun import RunningStack, bearer, start_stack
from tests.unit import imagegen as gen


@pytest.fixture(scope="module")
def pictured(api: str) -> Iterator[dict[str, Any]]:
    """A user with a 90x60 JPEG whose thumbnails are ready."""
    user_id = f"r-{time.time_ns():x}"
    create_user(api, user_id, name="Ada Lovelace")
    put = put_picture(api, user_id, gen.encode(gen.photo(90, 60), "JPEG"))
    assert put.status_code == 201, put.text
    deadline = time.monotonic() + 15
    while profile(api, user_id)["picture"]["status"] != "ready":
        assert time.monotonic() < deadline, "thumbnails never became ready"
        time.sleep(0.2)
    yield {"user_id": user_id, **put.json()}


def picture_url(api: str, user_id: str, **params: str) -> dict[str, Any]:
    response = requests.get(f"{api}/users/{user_id}/picture", params=params, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def same_window_pair(api: str, user_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two answers in a row from one signing window (a window may end between two calls)."""
    for _ in range(3):
        first, second = picture_url(api, user_id), picture_url(api, user_id)
        if first["expires_at"] == second["expires_at"]:
            return first, second
    raise AssertionError("three pairs in a row straddled a window")


def object_key(url: str) -> str:
    return urlsplit(url).path.split("/", 2)[2]


# --- stable, cacheable URLs --------------------------------------------------------------


def test_two_gets_in_a_row_give_the_byte_identical_url(api: str, pictured: dict[str, Any]) -> None:
    first, second = same_window_pair(api, pictured["user_id"])
    assert first["url"] == second["url"]
    query = parse_qs(urlsplit(first["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(query["X-Amz-Expires"][0]) <= 7 * 24 * 3600


def test_profile_response_and_get_url_agree(api: str, pictured: dict[str, Any]) -> None:
    user_id = pictured["user_id"]
    for _ in range(3):
        before = picture_url(api, user_id)
        profile = requests.get(f"{api}/users/{user_id}", timeout=10).json()
        variant = picture_url(api, user_id, size="128")
        after = picture_url(api, user_id)
        if before["expires_at"] == after["expires_at"]:
            break
    assert profile["profile_picture_url"] == before["url"]
    assert profile["picture"]["url"] == before["url"]
    assert profile["profile_picture_variants"]["128"] == variant["url"]


def test_expires_at_is_within_the_configured_life(api: str, pictured: dict[str, Any]) -> None:
    body = picture_url(api, pictured["user_id"])
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    life = expires_at - datetime.now(UTC)
    assert timedelta(0) < life <= timedelta(hours=1)


def test_redirect_is_302_to_the_same_url_cached_no_longer_than_it_lives(
    api: str, pictured: dict[str, Any]
) -> None:
    user_id = pictured["user_id"]
    body = picture_url(api, user_id)
    redirect = requests.get(
        f"{api}/users/{user_id}/picture",
        params={"redirect": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == body["url"]
    max_age = int(redirect.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 0 < max_age <= (expires_at - datetime.now(UTC)).total_seconds() + 1
    # A browser keeps the 302 a minute at most: the picture may be replaced or deleted.
    assert max_age <= 60

    followed = requests.get(f"{api}/users/{user_id}/picture?redirect=1", timeout=10)
    assert followed.status_code == 200
    assert gen.decode(followed.content).size == (90, 60)


def test_a_thumbnail_size_serves_the_square_webp_once_ready(
    api: str, pictured: dict[str, Any]
) -> None:
    body = picture_url(api, pictured["user_id"], size="64")
    assert object_key(body["url"]).endswith("/64.q80m4.webp")
    assert (body["size"], body["format"]) == ("64", "webp")
    image = requests.get(body["url"], timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/webp"
    assert gen.decode(image.content).size == (64, 64)  # exact, though the original is 90x60


@pytest.mark.parametrize(
    "params",
    [
        {"size": "2000"},
        {"size": "15"},
        {"size": "abc"},
        {"size": "64", "format": "gif"},
        {"size": "64", "format": "heic"},
        {"format": "webp"},  # the original is served as it is stored
    ],
)
def test_size_out_of_bounds_or_unknown_format_is_422(
    api: str, pictured: dict[str, Any], params: dict[str, str]
) -> None:
    response = requests.get(f"{api}/users/{pictured['user_id']}/picture", params=params, timeout=10)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# --- the store refuses everything but the URL it was given --------------------------------


def test_tampered_signature_is_403_from_the_store(api: str, pictured: dict[str, Any]) -> None:
    url = picture_url(api, pictured["user_id"])["url"]
    head, signature = url.rsplit("X-Amz-Signature=", 1)
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    response = requests.get(f"{head}X-Amz-Signature={flipped}", timeout=10)
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content


def test_signature_for_one_key_does_not_open_another(
    api: str, stack: RunningStack, pictured: dict[str, Any], user: dict[str, str]
) -> None:
    other = user["user_id"]
    headers = {"Content-Type": "image/png", **bearer(other)}
    png = gen.encode(gen.marked(), "PNG")
    put = requests.put(f"{api}/users/{other}/picture", data=png, headers=headers, timeout=30)
    assert put.status_code == 201
    mine = picture_url(api, pictured["user_id"])["url"]
    theirs = picture_url(api, other)["url"]

    swapped = theirs.split("?")[0] + "?" + mine.split("?")[1]
    response = requests.get(swapped, timeout=10)
    assert response.status_code == 403
    assert requests.get(theirs, timeout=10).status_code == 200  # the key itself is fine


def test_expired_url_is_403_from_the_store(stack: RunningStack, pictured: dict[str, Any]) -> None:
    key = f"originals/{pictured['user_id']}/{pictured['id']}.jpg"
    client = stack.minio()
    fresh = client.presigned_get_object(stack.bucket, key, expires=timedelta(minutes=1))
    assert requests.get(fresh, timeout=10).status_code == 200
    # Signed an hour ago for one minute: the same key and keys, only the time is wrong.
    stale = client.presigned_get_object(
        stack.bucket,
        key,
        expires=timedelta(minutes=1),
        request_date=datetime.now(UTC) - timedelta(hours=1),
    )
    response = requests.get(stale, timeout=10)
    assert response.status_code == 403
    assert b"expired" in response.content


def test_url_signed_with_the_wrong_secret_is_403(
    stack: RunningStack, pictured: dict[str, Any]
) -> None:
    key = f"originals/{pictured['user_id']}/{pictured['id']}.jpg"
    forged = stack.minio(secret_key="not-the-secret").presigned_get_object(stack.bucket, key)
    assert requests.get(forged, timeout=10).status_code == 403


def test_unsigned_get_of_an_object_is_403_as_the_bucket_is_private(
    api: str, pictured: dict[str, Any]
) -> None:
    url = picture_url(api, pictured["user_id"])["url"]
    response = requests.get(url.split("?")[0], timeout=10)
    assert response.status_code == 403
    listing = requests.get(url.split("/originals/")[0], timeout=10)
    assert listing.status_code == 403


def test_urls_are_signed_for_the_public_endpoint_and_work_only_there(tmp_path: Path) -> None:
    """The host is signed: the same URL sent to another name of the same server is refused."""
    s3_port, dynamodb_port = free_stack_ports()
    public = f"http://localhost:{s3_port}"
    with start_stack(
        tmp_path,
        {
            "PROFILEPICS_S3_PORT": str(s3_port),
            "PROFILEPICS_DYNAMODB_PORT": str(dynamodb_port),
            "PROFILEPICS_PUBLIC_S3_ENDPOINT": public,
        },
    ) as own:
        create_user(own.api, "pub", name="Pub Lic")
        put = put_picture(own.api, "pub", gen.encode(gen.photo(30, 20), "JPEG"))
        assert put.status_code == 201, put.text
        url = picture_url(own.api, "pub")["url"]

        assert url.startswith(f"{public}/{own.bucket}/originals/pub/")
        assert requests.get(url, timeout=10).status_code == 200
        internal = url.replace(public, str(own.info["s3_endpoint"]), 1)
        assert internal != url
        assert requests.get(internal, timeout=10).status_code == 403


# --- the default picture -----------------------------------------------------------------


def test_user_without_a_picture_gets_the_generated_default(api: str, user: dict[str, str]) -> None:
    user_id = user["user_id"]
    profile = requests.get(f"{api}/users/{user_id}", timeout=10).json()
    body = picture_url(api, user_id)
    assert body["is_default"] is True and body["expires_at"] is None
    assert body["url"] == profile["profile_picture_url"]
    assert f"{api}/pictures/default?" in body["url"]
    assert f"seed={user_id}" in body["url"]
    assert "@" not in body["url"]  # never an email (or a hash of one)

    png = requests.get(body["url"], timeout=10)
    assert png.status_code == 200
    assert png.headers["Content-Type"] == "image/png"
    img = gen.decode(png.content)
    assert (img.format, img.size) == ("PNG", (256, 256))

    small = requests.get(profile["profile_picture_variants"]["64"], timeout=10)
    assert gen.decode(small.content).size == (64, 64)

    redirect = requests.get(
        f"{api}/users/{user_id}/picture?redirect=1&size=128", allow_redirects=False, timeout=10
    )
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == profile["profile_picture_variants"]["128"]


def test_default_picture_is_cacheable_by_etag(api: str) -> None:
    url = f"{api}/pictures/default"
    params = {"name": "Grace Hopper", "seed": "u-etag", "size": "128"}
    first = requests.get(url, params=params, timeout=10)
    second = requests.get(url, params=params, timeout=10)
    assert first.status_code == second.status_code == 200
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.content == second.content
    assert "max-age=" in first.headers["Cache-Control"]

    cached = requests.get(
        url, params=params, headers={"If-None-Match": first.headers["ETag"]}, timeout=10
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["ETag"] == first.headers["ETag"]

    other = requests.get(url, params={**params, "seed": "u-other"}, timeout=10)
    assert other.headers["ETag"] != first.headers["ETag"]


def test_default_picture_without_a_name_is_the_static_default(api: str) -> None:
    plain = requests.get(f"{api}/pictures/default", timeout=10)
    seeded = requests.get(f"{api}/pictures/default", params={"seed": "u-123"}, timeout=10)
    assert plain.status_code == seeded.status_code == 200
    assert plain.headers["Content-Type"] == "image/png"
    assert gen.decode(plain.content).tobytes() == gen.decode(seeded.content).tobytes()
    named = requests.get(f"{api}/pictures/default", params={"name": "Ada"}, timeout=10)
    assert gen.decode(named.content).tobytes() != gen.decode(plain.content).tobytes()


@pytest.mark.parametrize("size", ["8", "0", "abc", "99999"])
def test_default_picture_with_a_bad_size_is_422(api: str, size: str) -> None:
    response = requests.get(f"{api}/pictures/default", params={"size": size}, timeout=10)
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
