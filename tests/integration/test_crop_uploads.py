"""The crop on the real stack: given on upload (PUT query, direct-upload body), chosen when not,
refused precisely when wrong; and the placeholder every ready picture carries."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image
from profilepics import placeholder

from tests.api_client import accepted, profile, put_picture
from tests.integration.test_direct_upload import post_file, start, upload_state
from tests.integration.test_thumbnails import wait_status
from tests.stackrun import RunningStack, bearer
from tests.unit import imagegen as gen
from tests.unit.test_crop import quadrants

pytestmark = pytest.mark.integration
QUADRANTS = gen.encode(quadrants(600), "PNG")
GREEN_QUARTER = {"x": 300, "y": 0, "w": 300, "h": 300}


def fetch(http: requests.Session, url: str) -> Image.Image:
    response = http.get(url, timeout=10)
    assert response.status_code == 200
    img = Image.open(io.BytesIO(response.content))
    img.load()
    return img


def is_green(pixel: tuple[int, ...]) -> bool:
    return pixel[1] > 200 and pixel[0] < 60 and pixel[2] < 60


def check_green_variants(http: requests.Session, picture: dict[str, Any]) -> None:
    """The 256 variant is the green quarter throughout; the placeholder says green."""
    img = fetch(http, picture["variants"]["256"])
    assert img.size == (256, 256)
    for xy in ((3, 3), (252, 252), (128, 128), (3, 252), (252, 3)):
        assert is_green(gen.pixel(img, xy)), xy
    r, g, b, a = placeholder.average_rgba(picture["placeholder"])
    assert g > 0.7 and r < 0.2 and b < 0.2 and a == 1.0


def test_a_put_with_a_crop_makes_variants_of_that_square_and_a_placeholder(
    api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    url = f"{api}/users/{user_id}/picture?crop=300,0,300,300"
    answer = http.put(
        url, data=QUADRANTS, headers={**bearer(user_id), "Content-Type": "image/png"}, timeout=30
    )
    picture = accepted(answer)
    assert picture["crop"] == GREEN_QUARTER
    assert picture["placeholder"] is None  # until the variants are made
    ready = wait_status(http, api, user_id, picture["id"])
    assert (fetch(http, ready["url"]).size) == (600, 600)  # the original is kept whole
    check_green_variants(http, ready)
    public = requests.get(f"{api}/users/{user_id}", timeout=10).json()
    assert public["picture"]["placeholder"] == ready["placeholder"]


def test_without_a_crop_a_portrait_gets_the_north_biased_square(
    api: str, http: requests.Session, user: dict[str, str]
) -> None:
    picture = accepted(put_picture(api, user["user_id"], gen.encode(gen.photo(300, 500), "JPEG")))
    assert picture["crop"] == {"x": 0, "y": 20, "w": 300, "h": 300}


@pytest.mark.parametrize(
    "crop",
    [
        "abc",
        "1,2,3",
        "-1,0,300,300",
        "0,0,0,0",
        "0,0,300,200",
        "301,0,300,300",
        "0,0,601,601",
    ],
)
def test_a_bad_crop_is_422_invalid_crop_and_changes_nothing(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str], crop: str
) -> None:
    user_id = user["user_id"]
    before = profile(api, user_id, http)
    answer = http.put(
        f"{api}/users/{user_id}/picture",
        params={"crop": crop},
        data=QUADRANTS,
        headers={**bearer(user_id), "Content-Type": "image/png"},
        timeout=30,
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "invalid_crop"
    assert profile(api, user_id, http) == before
    assert stack.keys(f"originals/{user_id}/") == []


def test_a_direct_upload_carries_its_crop_to_the_variants(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id, {"crop": GREEN_QUARTER})
    assert post_file(policy, QUADRANTS).status_code in (201, 204)
    done = upload_state(http, api, user_id, "done")
    assert done["upload"]["crop"] == GREEN_QUARTER
    assert done["picture"]["crop"] == GREEN_QUARTER
    check_green_variants(http, wait_status(http, api, user_id, done["picture"]["id"]))


def test_a_direct_upload_whose_crop_misses_the_picture_fails_invalid_crop_leaving_nothing(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id, {"crop": {"x": 500, "y": 0, "w": 300, "h": 300}})
    assert post_file(policy, QUADRANTS).status_code in (201, 204)
    failed = upload_state(http, api, user_id, "failed")
    assert failed["upload"]["error_code"] == "invalid_crop"
    assert failed["picture"] is None
    assert stack.keys(f"uploads/{user_id}/") == []
    assert stack.keys(f"originals/{user_id}/") == []


@pytest.mark.parametrize(
    "crop",
    [
        {"x": 0, "y": 0, "w": 0, "h": 0},
        {"x": 0, "y": 0, "w": 300, "h": 100},
        # 42 digits: more than DynamoDB's Number holds, and boto3 raised a 500 on writing it
        {"x": 0, "y": 0, "w": 10**41 + 1, "h": 10**41 + 1},
    ],
    ids=["empty", "oblong", "past-any-picture"],
)
def test_a_direct_upload_with_an_empty_oblong_or_boundless_crop_is_refused_before_any_policy(
    api: str, http: requests.Session, user: dict[str, str], crop: dict[str, int]
) -> None:
    user_id = user["user_id"]
    answer = http.post(
        f"{api}/users/{user_id}/picture/uploads", json={"crop": crop}, headers=bearer(user_id)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_crop"
    assert profile(api, user_id, http)["upload"] is None
