"""Owner-only writes: bearer tokens checked by the invoker, ownership by the handlers."""

from __future__ import annotations

import time
import uuid

import jwt
import requests

from tests.stackrun import JWT_SECRET, bearer, token


def _profile(user_id: str) -> dict[str, str]:
    return {"user_id": user_id, "display_name": "Owner", "email": f"{user_id}@example.com"}


def test_write_without_token_is_401(api: str, user: dict[str, str]) -> None:
    user_id = user["user_id"]
    for method, path in (
        ("PATCH", f"/users/{user_id}"),
        ("PUT", f"/users/{user_id}/picture"),
        ("DELETE", f"/users/{user_id}/picture"),
        ("POST", f"/users/{user_id}/picture/uploads"),
        ("POST", "/users"),
    ):
        response = requests.request(method, f"{api}{path}", json={}, timeout=10)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "unauthorized"
        assert response.headers["Content-Type"] == "application/problem+json"


def test_another_users_resource_is_403(api: str, user: dict[str, str]) -> None:
    intruder = bearer("someone-else")
    user_id = user["user_id"]
    patched = requests.patch(
        f"{api}/users/{user_id}", json={"display_name": "Pwned"}, headers=intruder, timeout=10
    )
    assert patched.status_code == 403
    assert patched.json()["code"] == "forbidden"
    deleted = requests.delete(f"{api}/users/{user_id}/picture", headers=intruder, timeout=10)
    assert deleted.status_code == 403
    created = requests.post(f"{api}/users", json=_profile("not-me"), headers=intruder, timeout=10)
    assert created.status_code == 403
    assert requests.get(f"{api}/users/{user_id}", timeout=10).json()["display_name"] != "Pwned"


def test_tampered_or_expired_or_foreign_tokens_are_401(api: str, user: dict[str, str]) -> None:
    user_id = user["user_id"]
    good = token(user_id)
    head, payload, signature = good.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    for bad in (tampered, token(user_id, ttl=-30), token(user_id, secret="x" * 40), "garbage"):
        response = requests.patch(
            f"{api}/users/{user_id}",
            json={"display_name": "Nope"},
            headers={"Authorization": f"Bearer {bad}"},
            timeout=10,
        )
        assert response.status_code == 401, bad
        assert response.json()["code"] == "unauthorized"


def test_admin_may_act_on_anyone(api: str, user: dict[str, str]) -> None:
    admin = bearer("ops", admin=True)
    response = requests.patch(
        f"{api}/users/{user['user_id']}",
        json={"display_name": "By Admin"},
        headers=admin,
        timeout=10,
    )
    assert response.status_code == 200
    other = f"a-{uuid.uuid4().hex[:10]}"
    assert (
        requests.post(f"{api}/users", json=_profile(other), headers=admin, timeout=10).status_code
        == 201
    )


def test_a_token_whose_groups_list_names_admin_may_act_on_anyone(
    api: str, user: dict[str, str]
) -> None:
    # API Gateway hands the list claim on as "[staff admin]", which the handlers understand.
    now = int(time.time())
    claims = {
        "sub": "ops-person",
        "iss": "profilepics-local",
        "aud": "profilepics",
        "iat": now,
        "exp": now + 60,
        "groups": ["staff", "admin"],
    }
    headers = {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}

    patched = requests.patch(
        f"{api}/users/{user['user_id']}",
        json={"display_name": "By Ops"},
        headers=headers,
        timeout=10,
    )

    assert patched.status_code == 200, patched.text
    assert patched.json()["display_name"] == "By Ops"


def test_reads_are_public(api: str, user: dict[str, str]) -> None:
    assert requests.get(f"{api}/users/{user['user_id']}", timeout=10).status_code == 200
    assert requests.get(f"{api}/users/{user['user_id']}/picture", timeout=10).status_code == 200
    assert requests.get(f"{api}/users", timeout=10).status_code == 200
