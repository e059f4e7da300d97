"""E-mails stay private on every public read; JSON routes refuse forms; errors echo no input."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from infra.invoker.template import load
from infra.local import REPO_ROOT
from tests.stackrun import bearer

pytestmark = pytest.mark.integration

PUBLIC_READS = sorted(
    r.path
    for r in load(REPO_ROOT / "template.yaml").routes
    if r.method == "GET" and not r.authorized
)
FORM = "application/x-www-form-urlencoded"


def new_user(api: str, email: str | None = None) -> dict[str, str]:
    user_id = f"priv-{uuid.uuid4().hex[:10]}"
    body = {
        "user_id": user_id,
        "display_name": "Hedy Lamarr",
        "email": email or f"{user_id}@private.example",
    }
    response = requests.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
    assert response.status_code == 201, response.text
    return body


def test_the_public_read_routes_are_the_ones_this_test_covers() -> None:
    assert PUBLIC_READS == [
        "/pictures/default",
        "/users",
        "/users/{user_id}",
        "/users/{user_id}/picture",
    ]


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_no_public_read_route_includes_an_email(api: str, path: str) -> None:
    user = new_user(api)
    url = f"{api}{path.replace('{user_id}', user['user_id'])}"
    params = {"limit": 100} if path == "/users" else {}

    response = requests.get(url, params=params, timeout=10)

    assert response.status_code == 200, response.text
    assert user["email"] not in response.text
    assert "private.example" not in response.text
    if path == "/users":
        items = response.json()["items"]
        assert items and all("email" not in item for item in items)
    if path == "/users/{user_id}":
        assert "email" not in response.json()


def test_a_public_read_with_a_token_still_leaves_the_email_out(api: str) -> None:
    user = new_user(api)
    for headers in (bearer(user["user_id"]), bearer("root", admin=True)):
        body = requests.get(f"{api}/users/{user['user_id']}", headers=headers, timeout=10)
        assert "email" not in body.json()


def test_me_returns_the_callers_whole_profile(api: str) -> None:
    user = new_user(api)

    me = requests.get(f"{api}/me", headers=bearer(user["user_id"]), timeout=10)

    assert me.status_code == 200
    assert me.json()["user_id"] == user["user_id"]
    assert me.json()["email"] == user["email"]
    assert me.headers["Content-Type"] == "application/json"


def test_me_needs_a_token_and_a_profile(api: str) -> None:
    anonymous = requests.get(f"{api}/me", timeout=10)
    stranger = requests.get(f"{api}/me", headers=bearer("never-created-me"), timeout=10)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "user_not_found")


def test_only_admins_read_another_users_whole_profile(api: str) -> None:
    user, other = new_user(api), new_user(api)
    url = f"{api}/admin/users/{user['user_id']}"

    as_admin = requests.get(url, headers=bearer("root", admin=True), timeout=10)
    as_other = requests.get(url, headers=bearer(other["user_id"]), timeout=10)
    as_owner = requests.get(url, headers=bearer(user["user_id"]), timeout=10)
    anonymous = requests.get(url, timeout=10)

    assert as_admin.status_code == 200 and as_admin.json()["email"] == user["email"]
    assert (as_other.status_code, as_other.json()["code"]) == (403, "forbidden")
    assert (as_owner.status_code, as_owner.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    for refused in (as_other, as_owner, anonymous):
        assert user["email"] not in refused.text


def test_the_owners_writes_answer_with_the_whole_profile(api: str) -> None:
    user = new_user(api)
    patched = requests.patch(
        f"{api}/users/{user['user_id']}",
        json={"display_name": "H. Lamarr"},
        headers=bearer(user["user_id"]),
        timeout=10,
    )
    assert patched.status_code == 200
    assert patched.json()["email"] == user["email"]


def curl_d(api: str, method: str, path: str, body: str, user_id: str) -> requests.Response:
    """What `curl -d BODY` sends: the body as application/x-www-form-urlencoded."""
    headers = {"Content-Type": FORM, **bearer(user_id)}
    return requests.request(method, f"{api}{path}", data=body, headers=headers, timeout=10)


def assert_415(response: requests.Response) -> None:
    assert response.status_code == 415, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_content_type"


def test_json_sent_as_curls_default_form_type_is_415_and_creates_nothing(api: str) -> None:
    user_id = f"form-{uuid.uuid4().hex[:10]}"
    body = f'{{"user_id":"{user_id}","display_name":"Ada","email":"ada@example.com"}}'

    response = curl_d(api, "POST", "/users", body, user_id)

    assert_415(response)
    assert user_id not in response.text  # the body is not echoed back
    assert requests.get(f"{api}/users/{user_id}", timeout=10).status_code == 404


def test_a_form_that_would_validate_is_still_415_and_creates_nothing(api: str) -> None:
    user_id = f"form-{uuid.uuid4().hex[:10]}"
    body = f"user_id={user_id}&display_name=Ada&email=ada%40example.com"

    assert_415(curl_d(api, "POST", "/users", body, user_id))
    assert requests.get(f"{api}/users/{user_id}", timeout=10).status_code == 404


def test_every_json_body_route_refuses_forms(api: str) -> None:
    user = new_user(api)
    user_id = user["user_id"]
    before = requests.get(f"{api}/users/{user_id}", timeout=10).json()

    assert_415(curl_d(api, "PATCH", f"/users/{user_id}", "display_name=Other", user_id))
    assert_415(curl_d(api, "POST", f"/users/{user_id}/picture/uploads", "size=10", user_id))
    multipart = requests.patch(
        f"{api}/users/{user_id}",
        files={"display_name": (None, "Other")},
        headers=bearer(user_id),
        timeout=10,
    )
    assert_415(multipart)
    assert requests.get(f"{api}/users/{user_id}", timeout=10).json() == before


MARKER = "ECHO-" + uuid.uuid4().hex


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", f'{{"user_id": "{MARKER}"'),  # cut short
        ("application/json", f'{{"user_id": "x", "display_name": "A", "email": "{MARKER}"}}'),
        (
            "application/json",
            f'{{"user_id": "{MARKER}/x", "display_name": "A", "email": "a@b.co"}}',
        ),
        ("application/json", f'{{"user_id": {{"{MARKER}": 1}}, "display_name": "A"}}'),
        ("application/json", f'["{MARKER}"]'),
        (
            "application/json",
            f'{{"user_id": "u", "display_name": "{MARKER * 5}", "email": "a@b.co"}}',
        ),
        (FORM, f"user_id={MARKER}&display_name={MARKER}"),
        ("text/plain", MARKER),
    ],
    ids=["cut-json", "bad-email", "bad-id", "wrong-type", "array", "too-long", "form", "text"],
)
def test_no_error_echoes_the_request_body(api: str, content_type: str, body: str) -> None:
    headers = {"Content-Type": content_type, **bearer("root", admin=True)}

    response = requests.post(f"{api}/users", data=body, headers=headers, timeout=10)

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert MARKER not in response.text


def test_a_problems_type_resolves_to_a_page_documenting_its_code(api: str) -> None:
    cases: list[tuple[requests.Response, str]] = [
        (requests.get(f"{api}/users/nobody-at-all", timeout=10), "user_not_found"),
        (curl_d(api, "POST", "/users", "a=b", "someone"), "unsupported_content_type"),
        (requests.post(f"{api}/users", json={}, timeout=10), "unauthorized"),
        (requests.get(f"{api}/no/such/route", timeout=10), "not_found"),
    ]
    for response, code in cases:
        problem: dict[str, Any] = response.json()
        assert problem["code"] == code

        page = requests.get(urljoin(f"{api}/", problem["type"]), timeout=10)

        assert page.status_code == 200, code
        assert page.headers["Content-Type"].startswith("text/html")
        assert f'id="{code}"' in page.text
        assert f"<code>{code}</code> — {problem['status']}" in page.text


def test_the_problems_index_lists_every_code_and_an_unknown_code_is_404(api: str) -> None:
    index = requests.get(f"{api}/problems", timeout=10)
    unknown = requests.get(f"{api}/problems/no_such_code", timeout=10)

    assert index.status_code == 200
    for code in ("validation_error", "file_too_large", "storage_unavailable", "function_error"):
        assert f'id="{code}"' in index.text
    assert unknown.status_code == 404
