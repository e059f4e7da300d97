"""Thumbnails on the real stack: SeaweedFS's webhook -> invoker -> variants, status, safety."""

from __future__ import annotations

import io
import re
import time
import uuid
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from infra.invoker.events import s3_record
from tests.api_client import accepted, profile, put_picture
from tests.stackrun import EVENTS_TOKEN, RunningStack, wait_for
from tests.unit import imagegen as gen

pytestmark = pytest.mark.integration

T = TypeVar("T")
SIZES = (64, 128, 256, 512)
ENDINGS = {"webp": "q80m4.webp", "avif": "q60s8.avif"}  # the default settings' encoders
FINAL_OUTCOMES = ("ready", "already_ready", "superseded", "failed")


def camera_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A photo-like JPEG: a smooth scene with sensor-like grain, so it compresses like one."""
    grain = Image.effect_noise((width // 4, height // 4), 60).resize((width, height))
    return gen.encode(Image.blend(gen.photo(width, height), grain.convert("RGB"), 0.3), "JPEG")


@pytest.fixture(scope="module")
def twelve_megapixels() -> bytes:
    return camera_jpeg()


def small_jpeg(shade: int = 0) -> bytes:
    img = gen.photo(900, 700)
    return gen.encode(Image.eval(img, lambda v: (v + shade) % 256), "JPEG", quality=85)


def wait_status(
    http: requests.Session, api: str, user_id: str, picture_id: str, status: str = "ready"
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        picture = profile(api, user_id, http)["picture"]
        if picture and picture["id"] == picture_id and picture["status"] == status:
            return dict(picture)
        return None

    return wait_for(probe, f"picture {picture_id} {status}")


@pytest.fixture
def ready(api: str, http: requests.Session, user: dict[str, str]) -> dict[str, Any]:
    """The user's picture (a small JPEG) once its thumbnails are ready, with its user_id."""
    uploaded = accepted(put_picture(api, user["user_id"], small_jpeg(), http=http))
    wait_status(http, api, user["user_id"], uploaded["id"])
    return {"user_id": user["user_id"], **uploaded}


def key_of(url: str, bucket: str) -> str:
    return urlsplit(url).path.removeprefix(f"/{bucket}/")


def fetch_webp(http: requests.Session, url: str) -> tuple[Image.Image, int]:
    response = http.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    img = Image.open(io.BytesIO(response.content))
    img.load()
    assert img.format == "WEBP"
    return img, len(response.content)


def outcomes(stack: RunningStack, key: str) -> list[str]:
    """What the event functions logged for key, in order."""
    return re.findall(rf'"{re.escape(key)}":"(\w+)"', stack.log())


def wait_outcomes(stack: RunningStack, key: str, seen: int, count: int) -> list[str]:
    """The next count outcomes for key after the first seen ones, once they are logged."""

    def probe() -> list[str] | None:
        found = outcomes(stack, key)[seen:]
        return found if len(found) >= count else None

    return wait_for(probe, f"{count} more outcomes for {key}")


def post_records(http: requests.Session, api: str, records: list[dict[str, Any]]) -> int:
    response = http.post(
        f"{api}/_events/s3",
        json={"Records": records},
        headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
        timeout=10,
    )
    return response.status_code


def set_processing(stack: RunningStack, user_id: str) -> None:
    """Put the stored picture back to the state it has before its event is handled."""
    stack.dynamodb().update_item(
        TableName=stack.table,
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET picture.#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "processing"}},
    )


def variant_keys(user_id: str, picture_id: str) -> list[str]:
    """The keys of the configured variants: every size in WebP and AVIF."""
    return sorted(
        f"thumbnails/{user_id}/{picture_id}/{s}.{ending}"
        for s in SIZES
        for ending in ENDINGS.values()
    )


def test_uploads_become_ready_with_webp_and_avif_variants_of_exact_size(
    stack: RunningStack,
    api: str,
    http: requests.Session,
    user: dict[str, str],
    twelve_megapixels: bytes,
    request: pytest.FixtureRequest,
) -> None:
    user_id = user["user_id"]
    latencies = []
    for _ in range(5):
        uploaded = accepted(put_picture(api, user_id, twelve_megapixels, http=http))
        put_done = time.monotonic()
        # Given a new upload, every size falls back to the original until the variants exist.
        assert uploaded["status"] == "processing"
        assert set(uploaded["variants"]) == {str(s) for s in SIZES}
        assert set(uploaded["variants"].values()) == {uploaded["url"]}

        picture = wait_status(http, api, user_id, uploaded["id"])
        latencies.append(time.monotonic() - put_done)

    sizes = {}
    for size in SIZES:
        url = picture["variants"][str(size)]
        expected = f"thumbnails/{user_id}/{picture['id']}/{size}.{ENDINGS['webp']}"
        assert key_of(url, stack.bucket) == expected
        img, length = fetch_webp(http, url)
        assert img.size == (size, size)
        sizes[size] = length
        assert picture["sources"]["webp"][str(size)] == url
        avif = http.get(picture["sources"]["avif"][str(size)], timeout=10)
        assert avif.headers["Content-Type"] == "image/avif"
        assert Image.open(io.BytesIO(avif.content)).size == (size, size)
    assert stack.keys(f"thumbnails/{user_id}/") == variant_keys(user_id, picture["id"])
    # How long it took is a figure, not a check (no timed assertions): for a report or a junit
    # file. wait_status's bound only keeps a lost event from hanging the test.
    request.node.user_properties += [
        ("upload_to_ready_seconds", [round(s, 3) for s in sorted(latencies)]),
        ("variant_bytes_12mp", sizes),
    ]


def test_picture_url_for_128_reflects_the_status_then_serves_the_variant(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id, uploaded = ready["user_id"], ready
    original = f"originals/{user_id}/{uploaded['id']}.jpg"
    url = f"{api}/users/{user_id}/picture?size=128"

    set_processing(stack, user_id)
    before = http.get(url, timeout=10).json()
    assert before["status"] == "processing"
    assert key_of(before["url"], stack.bucket) == original
    read = profile(api, user_id, http)
    assert set(read["profile_picture_variants"].values()) == {read["profile_picture_url"]}

    # The event for the same original, delivered again, finishes the job.
    record = s3_record("ObjectCreated:Put", stack.bucket, original, 1)
    assert post_records(http, api, [record]) == 204
    wait_status(http, api, user_id, uploaded["id"])
    after = http.get(url, timeout=10).json()
    assert after["status"] == "ready"
    expected = f"thumbnails/{user_id}/{uploaded['id']}/128.{ENDINGS['webp']}"
    assert key_of(after["url"], stack.bucket) == expected
    assert fetch_webp(http, after["url"])[0].size == (128, 128)
    redirect = http.get(
        f"{url}&redirect=true",
        headers={"Accept": "image/webp,*/*;q=0.8"},
        allow_redirects=False,
        timeout=10,
    )
    assert (redirect.status_code, redirect.headers["Location"]) == (302, after["url"])
    assert redirect.headers["Vary"] == "Accept"


def test_duplicate_event_changes_nothing(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id, uploaded = ready["user_id"], ready
    key = f"originals/{user_id}/{uploaded['id']}.jpg"
    objects = stack.keys(f"originals/{user_id}/") + stack.keys(f"thumbnails/{user_id}/")
    before = profile(api, user_id, http)
    # The run that made the variants logs its outcome after recording them: count it first.
    wait_for(lambda: "ready" in outcomes(stack, key), "the first run's outcome logged")
    seen = len(outcomes(stack, key))
    record = s3_record("ObjectCreated:Put", stack.bucket, key, len(small_jpeg()))

    unsigned = http.post(f"{api}/_events/s3", json={"Records": [record]}, timeout=10)
    assert unsigned.status_code == 401
    assert post_records(http, api, [record]) == 204
    assert post_records(http, api, [record]) == 204

    assert wait_outcomes(stack, key, seen, 2) == ["already_ready", "already_ready"]
    assert stack.keys(f"originals/{user_id}/") + stack.keys(f"thumbnails/{user_id}/") == objects
    again = profile(api, user_id, http)
    assert again["picture"] == before["picture"]
    assert again["updated_at"] == before["updated_at"]


def test_two_quick_replacements_leave_only_the_last_pictures_variants(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    ids = [
        accepted(put_picture(api, user_id, small_jpeg(shade), http=http))["id"]
        for shade in (0, 40, 80)
    ]
    originals = [f"originals/{user_id}/{picture_id}.jpg" for picture_id in ids]

    def settled() -> bool:
        return all(set(outcomes(stack, k)) & set(FINAL_OUTCOMES) for k in originals)

    wait_for(settled, "every original's event handled")
    last = wait_status(http, api, user_id, ids[-1])
    assert stack.keys(f"originals/{user_id}/") == [originals[-1]]
    assert stack.keys(f"thumbnails/{user_id}/") == variant_keys(user_id, ids[-1])
    listed = {key_of(u, stack.bucket) for urls in last["sources"].values() for u in urls.values()}
    assert listed == set(stack.keys(f"thumbnails/{user_id}/"))


def test_objects_under_thumbnails_trigger_nothing(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id, uploaded = ready["user_id"], ready
    variant = f"thumbnails/{user_id}/{uploaded['id']}/64.{ENDINGS['webp']}"
    stray = f"uploads/{user_id}/{uuid.uuid4().hex}"
    before = stack.keys(f"thumbnails/{user_id}/")

    # The variant's own event, then one the ingest function does answer, in one delivery.
    records = [s3_record("ObjectCreated:Put", stack.bucket, k, 10) for k in (variant, stray)]
    assert post_records(http, api, records) == 204
    wait_for(lambda: outcomes(stack, stray) == ["ignored"], "the stray upload's outcome")

    assert outcomes(stack, variant) == []
    assert stack.keys(f"thumbnails/{user_id}/") == before
    assert profile(api, user_id, http)["picture"]["status"] == "ready"


def test_animated_gif_gets_static_variants_and_an_animated_webp(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    animation = gen.animation("GIF", 6, (640, 560))
    uploaded = accepted(put_picture(api, user_id, animation, "image/gif", http=http))
    picture = wait_status(http, api, user_id, uploaded["id"])

    for size in SIZES:
        img, _ = fetch_webp(http, picture["variants"][str(size)])
        assert (img.size, gen.frame_count(img)) == ((size, size), 1)
    animated, _ = fetch_webp(http, picture["variants"]["animated"])
    # At most 10 frames a second (variants.py): six 50 ms frames show as three of 100 ms.
    assert (animated.size, gen.frame_count(animated)) == ((256, 256), 3)
    shown = []
    for index in range(gen.frame_count(animated)):
        animated.seek(index)
        animated.load()
        shown.append(animated.info["duration"])
    assert shown == [100, 100, 100]
    served = http.get(f"{api}/users/{user_id}/picture", params={"size": "animated"}, timeout=10)
    assert served.status_code == 200
    assert (
        f"thumbnails/{user_id}/{uploaded['id']}/animated.{ENDINGS['webp']}" in served.json()["url"]
    )


def test_original_garbled_in_the_bucket_fails_with_a_code(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id, uploaded = ready["user_id"], ready
    key = f"originals/{user_id}/{uploaded['id']}.jpg"

    # Given a picture not yet processed whose original is then damaged in the bucket,
    set_processing(stack, user_id)
    garbage = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    stack.minio().put_object(stack.bucket, key, io.BytesIO(garbage), len(garbage), "image/jpeg")

    # its own ObjectCreated event fails the picture with a reason, not "processing" forever.
    failed = wait_status(http, api, user_id, uploaded["id"], "failed")
    assert failed["error"] == "image_corrupt"
    url = http.get(f"{api}/users/{user_id}/picture?size=128", timeout=10).json()
    assert url["status"] == "failed"
    assert key_of(url["url"], stack.bucket) == key


def test_original_past_the_limits_in_the_bucket_fails_with_image_too_large(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id, uploaded = ready["user_id"], ready
    key = f"originals/{user_id}/{uploaded['id']}.jpg"

    # Given an original swapped in the bucket for 136 bytes declaring two 7000x7000 frames
    # (1.8 GB and 7 s of CPU to decode before issue 11),
    variants = stack.keys(f"thumbnails/{user_id}/")
    set_processing(stack, user_id)
    nasty = gen.webp_solid(7000, 7000, 2)
    stack.minio().put_object(stack.bucket, key, io.BytesIO(nasty), len(nasty), "image/jpeg")

    # the thumbnails function refuses it from its header: the picture fails with that code.
    failed = wait_status(http, api, user_id, uploaded["id"], "failed")
    assert failed["error"] == "image_too_large"
    assert stack.keys(f"thumbnails/{user_id}/") == variants


def test_a_picture_with_a_large_icc_profile_gets_variants_of_a_few_kilobytes(
    api: str, http: requests.Session, user: dict[str, str]
) -> None:
    """Each variant carried the upload's RGB profile: with a 1 MB one, every 64 px avatar was
    1 MB. Past 64 KiB the variants are converted to sRGB and carry none."""
    icc = bytearray(gen.srgb_icc()) + bytes(1_000_000)
    icc[:4] = len(icc).to_bytes(4, "big")
    data = gen.encode(gen.photo(900, 700), "JPEG", quality=85, icc_profile=bytes(icc))
    uploaded = accepted(put_picture(api, user["user_id"], data, http=http))
    picture = wait_status(http, api, user["user_id"], uploaded["id"])
    for fmt, urls in picture["sources"].items():
        for size, url in urls.items():
            response = http.get(url, timeout=10)
            assert response.status_code == 200
            assert len(response.content) < 100_000, (fmt, size, len(response.content))
            assert not Image.open(io.BytesIO(response.content)).info.get("icc_profile")
