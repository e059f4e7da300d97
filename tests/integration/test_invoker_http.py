"""The invoker as an HTTP server: chunked bodies and the API Gateway payload ceiling."""

from __future__ import annotations

import io
from collections.abc import Iterator

import requests
from PIL import Image
from requests.adapters import HTTPAdapter

from tests.stackrun import bearer


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "purple").save(out, "JPEG")
    return out.getvalue()


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_upload_is_read_whole_and_its_connection_serves_the_next_request(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    headers = {"Content-Type": "image/jpeg", **bearer(user_id)}
    with requests.Session() as session:
        response = session.put(
            f"{api}/users/{user_id}/picture", data=_chunks(_jpeg()), headers=headers, timeout=20
        )
        assert response.status_code == 201, response.text
        assert (response.json()["width"], response.json()["height"]) == (64, 48)

        again = session.get(f"{api}/users/{user_id}", timeout=10)

        assert again.status_code == 200 and again.json()["user_id"] == user_id
        adapter = session.get_adapter(api)
        assert isinstance(adapter, HTTPAdapter)
        pools = adapter.poolmanager.pools
        (pool,) = (pools[key] for key in pools.keys())
        # Both requests went over one connection: the chunked body was read to its end.
        assert (pool.num_requests, pool.num_connections) == (2, 1)


def test_body_over_the_gateway_limit_is_413(api: str, user: dict[str, str]) -> None:
    user_id = user["user_id"]
    headers = {"Content-Type": "image/jpeg", **bearer(user_id)}
    big = b"\xff" * (10 * 1024 * 1024 + 1)
    response = requests.put(
        f"{api}/users/{user_id}/picture", data=_chunks(big, 1 << 20), headers=headers, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


def test_dev_tokens_only_for_the_local_page_itself(api: str) -> None:
    own = requests.get(f"{api}/_dev/token/ada", timeout=10)
    assert own.status_code == 200
    assert own.json()["dev_only"] is True

    port = api.rsplit(":", 1)[1]
    for headers in (
        {"Host": f"rebound.example:{port}"},  # a web page whose name now resolves to 127.0.0.1
        {"Origin": "http://attacker.example"},
    ):
        refused = requests.get(f"{api}/_dev/token/ada", headers=headers, timeout=10)
        assert refused.status_code == 403, headers
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "forbidden"
        assert "token" not in refused.json()


ORIGIN = "https://app.example.com"


def test_a_cors_preflight_is_answered_at_the_gateway_as_the_template_configures(api: str) -> None:
    response = requests.options(
        f"{api}/users/someone/picture",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )

    assert response.status_code == 204, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"].split(",")
    assert {"authorization", "content-type"} <= set(
        response.headers["Access-Control-Allow-Headers"].split(",")
    )
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_a_preflight_allows_every_request_header_the_api_reads(api: str) -> None:
    # Headers a browser may not send cross-origin without the preflight allowing them: the
    # token, a JSON or image type, the default picture's ETag, and the fresh read's
    # Cache-Control (the page sends it after a write; a page elsewhere must too).
    asked = {"authorization", "content-type", "if-none-match", "cache-control"}
    response = requests.options(
        f"{api}/users/someone",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": ",".join(sorted(asked)),
        },
        timeout=10,
    )

    assert response.status_code == 204, response.text
    allowed = set(response.headers["Access-Control-Allow-Headers"].lower().split(","))
    assert asked <= allowed, asked - allowed


def test_a_cross_origin_call_can_read_the_answer_and_its_exposed_headers(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    headers = {"Content-Type": "image/jpeg", "Origin": ORIGIN, **bearer(user_id)}

    put = requests.put(f"{api}/users/{user_id}/picture", data=_jpeg(), headers=headers, timeout=20)
    refused = requests.get(f"{api}/users/nobody-{user_id}", headers={"Origin": ORIGIN}, timeout=10)
    same_origin = requests.get(f"{api}/users/{user_id}", timeout=10)

    assert put.status_code == 201, put.text
    assert put.headers["Access-Control-Allow-Origin"] == "*"
    assert "location" in put.headers["Access-Control-Expose-Headers"].split(",")
    # Errors too, or a page could not read why it was refused.
    assert refused.status_code == 404
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in same_origin.headers
