"""PATCH re-crop on the real stack: no upload, new variants of the new square switched to in one
conditional write, the old ones retired (never orphaned), precise refusals, and races."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image
from profilepics import placeholder
from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.adapters.minio_store import MinioStore
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import StorageUnavailable
from profilepics.models import Crop, Picture, PictureStatus

from tests.api_client import accepted, put_picture
from tests.integration.invariants import doomed, settle
from tests.integration.test_crop_uploads import QUADRANTS, check_green_variants
from tests.integration.test_thumbnails import wait_status
from tests.stackrun import RunningStack, bearer
from tests.unit import imagegen as gen

pytestmark = pytest.mark.integration
GREEN_QUARTER = {"x": 300, "y": 0, "w": 300, "h": 300}
RED_HALF = {"x": 0, "y": 100, "w": 300, "h": 300}
FRESH = {"Cache-Control": "no-cache"}
# The quadrants picture (tests/unit/imagegen.quadrants): green top right, red on the left.
GREEN, RED = (0, 255, 0), (255, 0, 0)


def stored(stack: RunningStack, user_id: str) -> Picture:
    found = DynamoDBTable(stack.settings()).get(user_id)
    assert found is not None and found.picture is not None
    return found.picture


def patch(
    http: requests.Session, api: str, user_id: str, body: Any, *, admin: bool = False
) -> requests.Response:
    return http.patch(
        f"{api}/users/{user_id}/picture",
        json=body,
        headers=bearer("an-admin" if admin else user_id, admin),
        timeout=60,
    )


def shows(http: requests.Session, url: str, colour: tuple[int, int, int]) -> bool:
    img = Image.open(io.BytesIO(http.get(url, timeout=10).content))
    pixels = [gen.pixel(img, xy)[:3] for xy in ((3, 3), (252, 252), (128, 128))]
    return all(all(abs(c - want) < 60 for c, want in zip(p, colour, strict=True)) for p in pixels)


def accounted_for(stack: RunningStack, user_id: str, picture: Picture) -> None:
    """Nothing the picture names is missing, and every object in its folder is current or
    retired (URLs handed out may point at those): nothing orphaned."""
    folder = set(stack.keys(f"thumbnails/{user_id}/{picture.id}/"))
    assert {picture.key, *picture.variants.values()} <= folder | {picture.key}
    assert picture.key in stack.keys(f"originals/{user_id}/")
    assert set(picture.variants.values()) <= folder
    assert folder <= set(picture.variants.values()) | set(picture.retired)


@pytest.fixture
def ready_quadrants(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> dict[str, Any]:
    """The quadrants picture, cropped to its green quarter, with its variants ready."""
    user_id = user["user_id"]
    answer = http.put(
        f"{api}/users/{user_id}/picture",
        params={"crop": "300,0,300,300"},
        data=QUADRANTS,
        headers={**bearer(user_id), "Content-Type": "image/png"},
        timeout=30,
    )
    picture = accepted(answer)
    return {"user_id": user_id, **wait_status(http, api, user_id, picture["id"])}


def test_a_recrop_needs_no_upload_shows_the_new_square_and_orphans_nothing(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id, picture_id = ready_quadrants["user_id"], ready_quadrants["id"]
    check_green_variants(http, ready_quadrants)
    before = stored(stack, user_id)
    originals = stack.keys(f"originals/{user_id}/")

    recropped = accepted(patch(http, api, user_id, {"crop": RED_HALF}))

    assert (recropped["id"], recropped["status"], recropped["crop"]) == (
        picture_id,
        "ready",
        RED_HALF,
    )
    assert stack.keys(f"originals/{user_id}/") == originals  # no upload, the original kept
    assert shows(http, recropped["variants"]["256"], RED)
    mean = placeholder.average_rgba(recropped["placeholder"])
    assert mean[0] > 0.7 and mean[1] < 0.2 and mean[2] < 0.2

    after = stored(stack, user_id)
    assert after.revision == before.revision + 1 and after.crop_tag.startswith("c1-")
    old, new = set(before.variants.values()), set(after.variants.values())
    assert not old & new and all(f".{after.crop_tag}." in key for key in new)
    # The old set is retired, not orphaned: URLs handed out may still point at it, and the
    # sweep deletes it once they have expired.
    assert set(after.retired) == old
    assert set(stack.keys(f"thumbnails/{user_id}/{picture_id}/")) == old | new
    accounted_for(stack, user_id, after)
    # A URL handed out before the re-crop still works meanwhile.
    assert shows(http, ready_quadrants["variants"]["256"], GREEN)
    read = http.get(f"{api}/users/{user_id}", headers=FRESH, timeout=10).json()
    assert read["picture"]["crop"] == RED_HALF


def test_the_same_square_again_changes_nothing(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id = ready_quadrants["user_id"]
    before, objects = stored(stack, user_id), stack.keys(f"thumbnails/{user_id}/")
    again = accepted(patch(http, api, user_id, {"crop": GREEN_QUARTER}))
    assert again["crop"] == GREEN_QUARTER
    assert stored(stack, user_id) == before
    assert stack.keys(f"thumbnails/{user_id}/") == objects


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"crop": {"x": 400, "y": 0, "w": 300, "h": 300}}, "invalid_crop"),  # outside
        ({"crop": {"x": 0, "y": 0, "w": 300, "h": 200}}, "invalid_crop"),  # not square
        ({"crop": {"x": 0, "y": 0, "w": 0, "h": 0}}, "invalid_crop"),  # empty
        ({"crop": {"x": -5, "y": 0, "w": 10, "h": 10}}, "invalid_crop"),
        ({"crop": {"x": 0, "y": 0, "w": 10**9, "h": 10**9}}, "invalid_crop"),
        ({"crop": {"x": 0, "y": 0, "w": "a", "h": 1}}, "validation_error"),
        ({"crop": {"x": 0, "y": 0, "w": 10}}, "validation_error"),
        ({"crop": {"x": 0, "y": 0, "w": 10, "h": 10}, "colour": "red"}, "validation_error"),
        ({}, "validation_error"),
        ([1, 2], "validation_error"),
    ],
)
def test_a_bad_recrop_is_a_precise_422_that_changes_nothing(
    stack: RunningStack,
    api: str,
    http: requests.Session,
    ready_quadrants: dict[str, Any],
    body: Any,
    code: str,
) -> None:
    user_id = ready_quadrants["user_id"]
    before, objects = stored(stack, user_id), stack.keys(f"thumbnails/{user_id}/")
    answer = patch(http, api, user_id, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert stored(stack, user_id) == before
    assert stack.keys(f"thumbnails/{user_id}/") == objects


def test_only_the_owner_or_an_admin_recrops_and_only_a_picture_there_is(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id = ready_quadrants["user_id"]
    before = stored(stack, user_id)
    body = {"crop": RED_HALF}
    anonymous = http.patch(f"{api}/users/{user_id}/picture", json=body, timeout=10)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    other = http.patch(
        f"{api}/users/{user_id}/picture", json=body, headers=bearer("someone-else"), timeout=10
    )
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")
    assert stored(stack, user_id) == before

    assert accepted(patch(http, api, user_id, body, admin=True))["crop"] == RED_HALF

    gone = http.delete(f"{api}/users/{user_id}/picture", headers=bearer(user_id), timeout=10)
    assert gone.status_code == 204
    answer = patch(http, api, user_id, body)
    assert (answer.status_code, answer.json()["code"]) == (404, "picture_not_found")
    nobody = patch(http, api, "nobody-here", body, admin=True)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "user_not_found")


def test_a_picture_still_processing_is_a_409_and_unchanged(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id = ready_quadrants["user_id"]
    table = DynamoDBTable(stack.settings())
    ready = stored(stack, user_id)
    processing = ready.model_copy(
        update={"status": PictureStatus.PROCESSING, "revision": ready.revision + 1}
    )
    # as a thumbnails run left it
    table.swap_picture(user_id, processing, ready.revision, datetime.now(UTC))

    answer = patch(http, api, user_id, {"crop": RED_HALF})

    assert (answer.status_code, answer.json()["code"]) == (409, "conflict")
    assert stored(stack, user_id) == processing
    assert set(stack.keys(f"thumbnails/{user_id}/")) == set(ready.variants.values())


def test_two_recrops_at_once_both_answer_and_the_last_one_shows_whole(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id = ready_quadrants["user_id"]
    crops = [
        RED_HALF,
        {"x": 0, "y": 0, "w": 200, "h": 200},
        {"x": 350, "y": 50, "w": 200, "h": 200},
    ]
    with ThreadPoolExecutor(len(crops)) as pool:
        answers = list(
            pool.map(lambda c: patch(requests.Session(), api, user_id, {"crop": c}), crops)
        )

    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    assert any(a.status_code == 200 for a in answers)
    after = stored(stack, user_id)
    assert after.crop is not None and after.crop.model_dump() in crops
    assert after.crop_tag.startswith("c")
    wanted = GREEN if after.crop.x >= 300 else RED
    fresh = http.get(f"{api}/users/{user_id}", headers=FRESH, timeout=10).json()["picture"]
    assert shows(http, fresh["variants"]["256"], wanted)
    accounted_for(stack, user_id, after)


def test_a_recrop_racing_an_upload_leaves_the_upload_and_nothing_of_the_old_picture(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id, old_id = ready_quadrants["user_id"], ready_quadrants["id"]
    square = {"x": 0, "y": 0, "w": 200, "h": 200}  # inside both pictures
    with ThreadPoolExecutor(2) as pool:
        recrop = pool.submit(patch, requests.Session(), api, user_id, {"crop": square})
        upload = pool.submit(put_picture, api, user_id, gen.encode(gen.photo(320, 240), "JPEG"))
        recropped, uploaded = recrop.result(), upload.result()

    assert uploaded.status_code == 200, uploaded.text
    assert recropped.status_code in (200, 409), recropped.text
    settle(stack, [user_id])
    after = stored(stack, user_id)
    assert after.id == uploaded.json()["id"] and after.status is PictureStatus.READY
    if recropped.status_code == 200 and recropped.json()["id"] == after.id:
        assert after.crop is not None and after.crop.model_dump() == square  # came second
    else:  # re-cropped the old picture, or found it replaced (or the new one processing)
        assert after.crop_tag == ""
    assert not [key for key in stack.keys(f"thumbnails/{user_id}/") if old_id in key]
    assert stack.keys(f"originals/{user_id}/") == [after.key]
    accounted_for(stack, user_id, after)


class PutFailsAfter(MinioStore):
    """The real store, except that it becomes unreachable for writes after a few."""

    def __init__(self, settings: Settings, puts: int) -> None:
        super().__init__(settings)
        self.puts = puts

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        if self.puts <= 0:
            raise StorageUnavailable()
        self.puts -= 1
        super().put(key, data, content_type, cache_control)


def test_a_store_fault_mid_way_is_a_503_the_picture_stays_whole_and_the_sweep_clears_the_rest(
    stack: RunningStack, api: str, http: requests.Session, ready_quadrants: dict[str, Any]
) -> None:
    user_id, picture_id = ready_quadrants["user_id"], ready_quadrants["id"]
    settings = stack.settings()
    before = stored(stack, user_id)
    flaky = build(settings, store=PutFailsAfter(settings, 2), table=DynamoDBTable(settings))

    with pytest.raises(StorageUnavailable) as failed:
        flaky.recrops.recrop(user_id, Crop(x=0, y=100, w=300, h=300))

    assert failed.value.status == 503
    assert stored(stack, user_id) == before  # still the whole old set
    folder = set(stack.keys(f"thumbnails/{user_id}/{picture_id}/"))
    stray = folder - set(before.variants.values())
    assert len(stray) == 2  # written before the fault, named by nothing
    # The sweep (a dry run here: the stack is shared) deletes exactly those once past its grace.
    would_delete, report = doomed(stack, stray)
    assert stray <= would_delete, report
    assert not would_delete & (set(before.variants.values()) | {before.key})

    # Once the store is back, the same request simply works.
    assert accepted(patch(http, api, user_id, {"crop": RED_HALF}))["crop"] == RED_HALF
