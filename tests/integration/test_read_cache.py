"""Reads for display with the per-instance cache on (recent.py), on a stack of their own with one
instance per function and a cache long enough that what a reader sees does not depend on timing:
a reader may see a profile as it was a moment ago, a writer's own answer is always exact, and
`Cache-Control: no-cache` reads what was last written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api_client import create_user, jpeg, put_picture
from tests.stackrun import RunningStack, bearer, start_stack, wait_for

FRESH = {"Cache-Control": "no-cache"}


@pytest.fixture(scope="module")
def cached_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = {"PROFILEPICS_READ_CACHE_SECONDS": "60", "PROFILEPICS_INSTANCES": "1"}
    running: RunningStack
    with start_stack(Path(tmp_path_factory.mktemp("cached")), settings) as running:
        yield running.api


def _name(api: str, user_id: str, headers: dict[str, str] | None = None) -> str:
    got = requests.get(f"{api}/users/{user_id}", headers=headers, timeout=10)
    assert got.status_code == 200, got.text
    return str(got.json()["display_name"])


def _picture(api: str, user_id: str, headers: dict[str, str] | None = None) -> str:
    got = requests.get(f"{api}/users/{user_id}/picture", headers=headers, timeout=10)
    assert got.status_code == 200, got.text
    return str(got.json()["url"])


def test_a_reader_may_see_the_profile_read_a_moment_ago_and_no_cache_reads_the_last_write(
    cached_api: str,
) -> None:
    user_id = create_user(cached_api, name="Ada")["user_id"]
    assert _name(cached_api, user_id) == "Ada"  # now kept by the instance

    patched = requests.patch(
        f"{cached_api}/users/{user_id}",
        json={"display_name": "Countess"},
        headers=bearer(user_id),
        timeout=10,
    )
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Countess"  # the writer's own answer is exact

    assert _name(cached_api, user_id) == "Ada"  # the copy the instance read before the write
    assert _name(cached_api, user_id, FRESH) == "Countess"
    assert _name(cached_api, user_id) == "Countess"  # the fresh read refreshed the copy
    assert _name(cached_api, user_id, {"Cache-Control": "max-age=0"}) == "Countess"


def test_the_uploaders_answer_is_exact_while_readers_may_see_the_default_a_moment_longer(
    cached_api: str,
) -> None:
    user_id = create_user(cached_api)["user_id"]
    default = _picture(cached_api, user_id)
    assert "/pictures/default" in default

    uploaded = put_picture(cached_api, user_id, jpeg(64, 48))
    assert uploaded.status_code == 201, uploaded.text
    key = f"/originals/{user_id}/{uploaded.json()['id']}.jpg?"
    assert key in uploaded.json()["url"]

    assert _picture(cached_api, user_id) == default
    assert key in _picture(cached_api, user_id, FRESH)
    assert key in _picture(cached_api, user_id)


def test_a_user_not_found_is_never_kept(cached_api: str) -> None:
    user_id = "u-not-yet-there"
    missing = requests.get(f"{cached_api}/users/{user_id}", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["code"] == "user_not_found"
    create_user(cached_api, user_id, name="Late")
    assert _name(cached_api, user_id) == "Late"


def test_the_recroppers_answer_is_exact_while_readers_may_see_the_old_square_a_moment_longer(
    cached_api: str,
) -> None:
    user_id = create_user(cached_api)["user_id"]
    uploaded = put_picture(cached_api, user_id, jpeg(96, 64))
    assert uploaded.status_code == 201, uploaded.text

    def ready() -> dict[str, Any] | None:  # read fresh: the thumbnails run in the background
        got = requests.get(f"{cached_api}/users/{user_id}", headers=FRESH, timeout=10).json()
        return got["picture"] if got["picture"]["status"] == "ready" else None

    old = wait_for(ready, "the thumbnails")
    assert old["crop"] == {"x": 16, "y": 0, "w": 64, "h": 64}

    square = {"x": 0, "y": 0, "w": 64, "h": 64}
    recropped = requests.patch(
        f"{cached_api}/users/{user_id}/picture",
        json={"crop": square},
        headers=bearer(user_id),
        timeout=30,
    )
    assert recropped.status_code == 200, recropped.text
    mine = recropped.json()
    assert mine["crop"] == square  # the writer's own answer is exact: the new square's URLs
    assert all(".c1-" in url.split("?")[0] for url in mine["variants"].values())

    # The copy the instance read before: the old square, whose objects still serve.
    seen = requests.get(f"{cached_api}/users/{user_id}", timeout=10).json()["picture"]
    assert seen["crop"] == old["crop"]
    assert requests.get(seen["variants"]["64"], timeout=10).status_code == 200
    fresh = requests.get(f"{cached_api}/users/{user_id}", headers=FRESH, timeout=10).json()
    assert fresh["picture"]["crop"] == square
    again = requests.get(f"{cached_api}/users/{user_id}", timeout=10).json()["picture"]
    assert again["crop"] == square  # the fresh read refreshed the copy
