"""Direct uploads on the real stack: POST policies SeaweedFS enforces, then the ingest."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import requests

from tests.api_client import profile
from tests.stackrun import RunningStack, bearer, wait_for
from tests.unit import imagegen as gen

pytestmark = pytest.mark.integration

T = TypeVar("T")
JPEG = gen.encode(gen.photo(1200, 900), "JPEG", quality=85)


def start(
    http: requests.Session, api: str, user_id: str, declared: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = http.post(
        f"{api}/users/{user_id}/picture/uploads", json=declared, headers=bearer(user_id)
    )
    assert response.status_code == 201, response.text
    policy: dict[str, Any] = response.json()
    return policy


def post_file(policy: dict[str, Any], data: bytes, **fields: str | None) -> requests.Response:
    """A generic S3 POST: the policy's `fields` as they are (a field given None is left out,
    others replace or add), then the file, as any form-posting client sends it."""
    form = {**policy["fields"], **fields}
    sent = {name: value for name, value in form.items() if value is not None}
    return requests.post(policy["url"], data=sent, files={"file": ("picture", data)}, timeout=30)


def upload_state(http: requests.Session, api: str, user_id: str, state: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = profile(api, user_id, http)
        return found if (found["upload"] or {}).get("state") == state else None

    return wait_for(probe, f"upload {state}")


def error_code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[-1].split("</Code>", 1)[0]


def test_policy_is_for_the_owner_only_and_bound_to_one_uploads_key(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    url = f"{api}/users/{user_id}/picture/uploads"
    assert http.post(url, timeout=10).status_code == 401
    assert http.post(url, headers=bearer("someone-else"), timeout=10).status_code == 403

    policy = start(http, api, user_id)

    assert policy["url"] == f"{stack.info['s3_endpoint']}/{stack.bucket}"
    assert policy["max_bytes"] == 5 * 1024 * 1024
    key = policy["fields"]["key"]
    assert key.startswith(f"uploads/{user_id}/") and len(key.rsplit("/", 1)[1]) == 32
    expires_at = datetime.fromisoformat(policy["expires_at"])
    assert timedelta(0) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)
    document = json.loads(base64.b64decode(policy["fields"]["policy"]))
    assert ["eq", "$key", key] in document["conditions"]
    assert ["content-length-range", 1, policy["max_bytes"]] in document["conditions"]
    # Nothing declared, nothing demanded that `fields` would not carry.
    assert not any("$Content-Type" in condition for condition in document["conditions"])
    assert "Content-Type" not in policy["fields"]
    assert profile(api, user_id, http)["upload"]["state"] == "pending"


def test_a_declared_type_and_size_are_in_fields_and_are_all_the_policy_takes(
    api: str, http: requests.Session, user: dict[str, str]
) -> None:
    policy = start(http, api, user["user_id"], {"content_type": "image/jpeg", "size": len(JPEG)})

    assert policy["fields"]["Content-Type"] == "image/jpeg"
    assert policy["max_bytes"] == len(JPEG)
    document = json.loads(base64.b64decode(policy["fields"]["policy"]))
    assert ["eq", "$Content-Type", "image/jpeg"] in document["conditions"]
    assert ["content-length-range", len(JPEG), len(JPEG)] in document["conditions"]


@pytest.mark.parametrize(
    "declared",
    [
        None,
        {"content_type": "image/jpeg"},
        {"size": len(JPEG)},
        {"content_type": "image/jpeg", "size": len(JPEG)},
    ],
    ids=["nothing", "type", "size", "type-and-size"],
)
def test_a_generic_client_posting_fields_as_returned_gets_a_2xx_and_a_picture(
    stack: RunningStack,
    api: str,
    http: requests.Session,
    user: dict[str, str],
    declared: dict[str, Any] | None,
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id, declared)

    stored = requests.post(
        policy["url"], data=policy["fields"], files={"file": ("me.jpg", JPEG)}, timeout=30
    )

    assert 200 <= stored.status_code < 300, stored.text
    done = upload_state(http, api, user_id, "done")
    assert (done["picture"]["width"], done["picture"]["height"]) == (1200, 900)


def test_a_declared_size_over_the_limit_is_413_and_starts_nothing(
    api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    response = http.post(
        f"{api}/users/{user_id}/picture/uploads",
        json={"content_type": "image/png", "size": 5 * 1024 * 1024 + 1},
        headers=bearer(user_id),
        timeout=10,
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert profile(api, user_id, http)["upload"] is None


@pytest.mark.parametrize(
    "declared",
    [{"content_type": "image/svg+xml"}, {"content_type": "text/plain"}, {"size": 0}, {"x": 1}],
)
def test_an_invalid_declaration_is_422_and_starts_nothing(
    api: str, http: requests.Session, user: dict[str, str], declared: dict[str, Any]
) -> None:
    user_id = user["user_id"]
    response = http.post(
        f"{api}/users/{user_id}/picture/uploads",
        json=declared,
        headers=bearer(user_id),
        timeout=10,
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert profile(api, user_id, http)["upload"] is None


def test_a_file_of_another_size_than_declared_is_refused_by_the_store(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id, {"size": len(JPEG)})

    longer = post_file(policy, JPEG + b"\0")
    shorter = post_file(policy, JPEG[:-1])

    assert (longer.status_code, error_code(longer)) == (400, "EntityTooLarge")
    assert (shorter.status_code, error_code(shorter)) == (400, "EntityTooSmall")
    assert stack.keys(f"uploads/{user_id}/") == []


def test_direct_post_of_a_jpeg_becomes_the_ready_picture(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)

    stored = post_file(policy, JPEG)
    assert stored.status_code in (201, 204), stored.text

    done = upload_state(http, api, user_id, "done")
    assert done["upload"]["error_code"] is None
    picture = done["picture"]
    assert (picture["width"], picture["height"], picture["format"]) == (1200, 900, "jpeg")

    def ready() -> bool:
        return bool(profile(api, user_id, http)["picture"]["status"] == "ready")

    wait_for(ready, "the new picture's variants")
    assert stack.keys(f"uploads/{user_id}/") == []
    assert stack.keys(f"originals/{user_id}/") == [f"originals/{user_id}/{picture['id']}.jpg"]
    assert len(stack.keys(f"thumbnails/{user_id}/{picture['id']}/")) == stack.stills()


def test_store_refuses_an_oversized_or_empty_post_and_stores_nothing(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)
    oversized = JPEG + bytes(policy["max_bytes"] + 1 - len(JPEG))

    too_large = post_file(policy, oversized)
    empty = post_file(policy, b"")

    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    assert (empty.status_code, error_code(empty)) == (400, "EntityTooSmall")
    assert stack.keys(f"uploads/{user_id}/") == []
    assert profile(api, user_id, http)["upload"]["state"] == "pending"


@pytest.mark.parametrize("content_type", ["text/plain", "IMAGE/JPEG", "image/png", None])
def test_store_refuses_a_post_whose_content_type_is_not_the_declared_one(
    stack: RunningStack,
    api: str,
    http: requests.Session,
    user: dict[str, str],
    content_type: str | None,
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id, {"content_type": "image/jpeg"})

    refused = post_file(policy, JPEG, **{"Content-Type": content_type})

    assert (refused.status_code, error_code(refused)) == (403, "AccessDenied")
    assert stack.keys(f"uploads/{user_id}/") == []


def test_store_refuses_another_key_a_forged_signature_or_extra_fields(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)

    elsewhere = post_file(policy, JPEG, key=f"originals/{user_id}/{'0' * 32}.jpg")
    forged = post_file(policy, JPEG, **{"x-amz-signature": "0" * 64})
    extra = post_file(policy, JPEG, **{"x-amz-meta-owner": "someone-else"})

    assert (elsewhere.status_code, error_code(elsewhere)) == (403, "AccessDenied")
    assert (forged.status_code, error_code(forged)) == (403, "SignatureDoesNotMatch")
    assert (extra.status_code, error_code(extra)) == (403, "AccessDenied")
    assert stack.keys(f"uploads/{user_id}/") == []
    assert stack.keys(f"originals/{user_id}/") == []


def test_invalid_direct_upload_records_its_code_and_leaves_nothing(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)

    # The policy can only check the declared type: the bytes are checked by ingest.
    assert post_file(policy, b"hello, I am plain text").status_code in (201, 204)

    failed = upload_state(http, api, user_id, "failed")
    assert failed["upload"]["error_code"] == "unsupported_media_type"
    assert failed["picture"] is None
    assert stack.keys(f"uploads/{user_id}/") == []
    assert stack.keys(f"originals/{user_id}/") == []


def test_policy_used_twice_publishes_one_picture(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    policy = start(http, api, user_id)
    assert post_file(policy, JPEG).status_code in (201, 204)
    first = upload_state(http, api, user_id, "done")["picture"]
    wait_for(lambda: stack.keys(f"uploads/{user_id}/") == [], "the quarantine emptied")

    again = post_file(policy, gen.encode(gen.photo(640, 480), "JPEG"))
    assert again.status_code in (201, 204)  # within its lifetime the store takes it again,

    wait_for(lambda: stack.keys(f"uploads/{user_id}/") == [], "the second copy dropped")
    assert profile(api, user_id, http)["picture"]["id"] == first["id"]  # but it is dropped
    assert stack.keys(f"originals/{user_id}/") == [f"originals/{user_id}/{first['id']}.jpg"]


def test_store_takes_unlisted_acl_and_redirect_fields_yet_keeps_the_picture_private(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    # SeaweedFS does not hold a POST to the policy's field list (S3 would refuse both fields).
    user_id = user["user_id"]
    policy = start(http, api, user_id)
    landing = "https://attacker.example/landing"

    form = {
        **policy["fields"],
        "Content-Type": "image/jpeg",
        "acl": "public-read",
        "success_action_redirect": landing,
    }
    posted = requests.post(
        policy["url"],
        data=form,
        files={"file": ("picture", JPEG)},
        allow_redirects=False,
        timeout=30,
    )

    assert posted.status_code == 303  # to a URL no policy named, with the bucket and key
    assert posted.headers["Location"].startswith(landing + "?")
    done = upload_state(http, api, user_id, "done")["picture"]
    original = f"originals/{user_id}/{done['id']}.jpg"
    assert stack.keys(f"originals/{user_id}/") == [original]
    store = str(stack.info["s3_endpoint"])
    anonymous = requests.get(f"{store}/{stack.bucket}/{original}", timeout=10)
    assert anonymous.status_code == 403  # acl=public-read changed nothing
    assert stack.keys(f"uploads/{user_id}/") == []
