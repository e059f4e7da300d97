"""The profile APIs over real HTTP on the local stack."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.stackrun import bearer


def _new_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def test_create_get_patch_round_trip(api: str, http: requests.Session) -> None:
    user_id = _new_id()
    body = {"user_id": user_id, "display_name": "Ada Lovelace", "email": "ada@example.com"}

    created = http.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
    assert created.status_code == 201
    assert created.json()["user_id"] == user_id
    assert "/pictures/default?" in created.json()["profile_picture_url"]

    assert created.json()["email"] == "ada@example.com"  # the writer's own, whole profile

    fetched = http.get(f"{api}/users/{user_id}", timeout=10)
    assert fetched.status_code == 200
    assert "email" not in fetched.json()
    assert fetched.json()["profile_picture_url"] == created.json()["profile_picture_url"]

    patched = http.patch(
        f"{api}/users/{user_id}",
        json={"display_name": "Countess"},
        headers=bearer(user_id),
        timeout=10,
    )
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Countess"
    assert patched.json()["email"] == "ada@example.com"
    assert "name=Countess" in patched.json()["profile_picture_url"]


def test_duplicate_user_is_409_user_exists(api: str, user: dict[str, str]) -> None:
    response = requests.post(f"{api}/users", json=user, headers=bearer(user["user_id"]), timeout=10)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "user_exists"


def test_unknown_user_is_404_user_not_found(api: str) -> None:
    for method, path in (("GET", "/users/nobody-here"), ("PATCH", "/users/nobody-here")):
        response = requests.request(
            method,
            f"{api}{path}",
            json={"display_name": "x"},
            headers=bearer("nobody-here"),
            timeout=10,
        )
        assert response.status_code == 404, method
        problem = response.json()
        assert problem["code"] == "user_not_found"
        assert problem["status"] == 404
        assert {"type", "title", "detail"} <= set(problem)


def test_invalid_bodies_are_422_with_field_details(api: str) -> None:
    cases = [
        ({"user_id": _new_id(), "display_name": "A", "email": "not-an-email"}, "email"),
        ({"user_id": _new_id(), "display_name": "A", "email": "a@example.com", "x": 1}, "x"),
        (
            {"user_id": _new_id(), "display_name": "A" * 101, "email": "a@example.com"},
            "display_name",
        ),
        ({"user_id": "bad/id", "display_name": "A", "email": "a@example.com"}, "user_id"),
        ({"display_name": "A", "email": "a@example.com"}, "user_id"),
    ]
    for body, field in cases:
        admin = bearer("admin", admin=True)
        response = requests.post(f"{api}/users", json=body, headers=admin, timeout=10)
        assert response.status_code == 422, body
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert any(field in error["loc"] for error in problem["errors"]), problem


def test_patch_validates_too(api: str, user: dict[str, str]) -> None:
    url = f"{api}/users/{user['user_id']}"
    auth = bearer(user["user_id"])
    for body in ({}, {"email": "nope"}, {"user_id": "other"}):
        assert requests.patch(url, json=body, headers=auth, timeout=10).status_code == 422


def test_malformed_json_is_a_422_validation_problem(api: str) -> None:
    headers = {"Content-Type": "application/json", **bearer("admin", admin=True)}
    response = requests.post(f"{api}/users", data=b"{not json", headers=headers, timeout=10)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # Without a Content-Type the body reaches the function base64-encoded, as API Gateway
        # sends it, and powertools decoded it as UTF-8 unguarded.
        (b'{"display_name": "\xff"}', None),
        # Over Python's 4,300-digit limit json.loads raises a bare ValueError.
        (b'{"display_name": "A", "n": ' + b"9" * 4301 + b"}", "application/json"),
    ],
    ids=["not-utf8-untyped", "integer-4301-digits"],
)
def test_a_body_python_cannot_read_as_json_is_a_422_problem_not_a_500(
    api: str, user: dict[str, str], body: bytes, content_type: str | None
) -> None:
    headers = bearer(user["user_id"])
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = f"{api}/users/{user['user_id']}"

    for response in (
        requests.patch(url, data=body, headers=headers, timeout=10),
        requests.post(f"{url}/picture/uploads", data=body, headers=headers, timeout=10),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
    unchanged = requests.get(url, headers={"Cache-Control": "no-cache"}, timeout=10).json()
    assert (unchanged["display_name"], unchanged["upload"]) == (user["display_name"], None)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_too_deep_is_a_422_problem_for_create_and_update(
    api: str, user: dict[str, str], depth: int
) -> None:
    headers = {"Content-Type": "application/json", **bearer(user["user_id"])}
    deep = b"[" * depth + b"]" * depth

    created = requests.post(f"{api}/users", data=deep, headers=headers, timeout=10)
    url = f"{api}/users/{user['user_id']}"
    updated = requests.patch(url, data=deep, headers=headers, timeout=10)

    for response in (created, updated):
        assert response.status_code == 422, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
    unchanged = requests.get(f"{api}/users/{user['user_id']}", timeout=10).json()
    assert unchanged["display_name"] == user["display_name"]


def test_list_paginates_with_an_opaque_cursor(api: str, http: requests.Session) -> None:
    made = set()
    for _ in range(5):
        user_id = _new_id()
        body = {"user_id": user_id, "display_name": "Lister", "email": "l@example.com"}
        response = http.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
        assert response.status_code == 201
        made.add(user_id)

    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{api}/users", params=params, timeout=10)
        assert page.status_code == 200
        items = page.json()["items"]
        assert len(items) <= 2
        assert all("profile_picture_url" in item for item in items)
        seen.extend(item["user_id"] for item in items)
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen))


def test_list_rejects_bad_limit_and_cursor(api: str) -> None:
    assert requests.get(f"{api}/users", params={"limit": 0}, timeout=10).status_code == 422
    assert requests.get(f"{api}/users", params={"limit": 1000}, timeout=10).status_code == 422
    bad = requests.get(f"{api}/users", params={"cursor": "garbage!"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["code"] == "bad_request"


def test_unknown_route_is_404_problem(api: str) -> None:
    response = requests.get(f"{api}/nothing/here", timeout=10)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_health_answers_200_when_store_and_table_answer(api: str) -> None:
    response = requests.get(f"{api}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"store": True, "table": True}


def test_profile_reads_tell_caches_not_to_keep_their_signed_urls_or_share_private_ones(
    api: str, user: dict[str, str], http: requests.Session
) -> None:
    # Every profile answer carries signed URLs that expire; with no Cache-Control a CDN in
    # front applies its default TTL (CloudFront's: a day) and serves them after they expired,
    # and a shared cache could hand the owner's e-mail to the next caller.
    user_id = user["user_id"]
    public = [f"{api}/users/{user_id}", f"{api}/users?limit=1"]
    private = [(f"{api}/me", bearer(user_id)), (f"{api}/admin/users/{user_id}", bearer("x", True))]

    for url in public:
        answer = http.get(url, timeout=10)
        assert answer.status_code == 200, url
        directives = {d.strip() for d in answer.headers.get("Cache-Control", "").split(",")}
        assert {"private", "no-cache"} <= directives, (url, directives)
    for url, headers in private:
        answer = http.get(url, headers=headers, timeout=10)
        assert answer.status_code == 200, url
        assert answer.headers.get("Cache-Control") == "no-store", url
