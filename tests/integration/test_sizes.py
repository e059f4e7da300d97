"""Any size, the best format per client, on the real stack: sizes made on first request and
stored, the guard, Accept and Vary, explicit formats, races, and what happens to them when
the picture is replaced or deleted."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from PIL import Image

from tests.api_client import accepted, profile, put_picture
from tests.integration.invariants import doomed
from tests.integration.test_thumbnails import key_of, small_jpeg, wait_status
from tests.stackrun import RunningStack, bearer

pytestmark = pytest.mark.integration

BROWSER = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
CONFIGURED = 8  # four sizes in WebP and AVIF


@pytest.fixture
def ready(api: str, http: requests.Session, user: dict[str, str]) -> dict[str, Any]:
    uploaded = accepted(put_picture(api, user["user_id"], small_jpeg(), http=http))
    wait_status(http, api, user["user_id"], uploaded["id"])
    return {"user_id": user["user_id"], **uploaded}


def ask(http: requests.Session, api: str, user_id: str, **params: str) -> requests.Response:
    response = http.get(f"{api}/users/{user_id}/picture", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response


def redirect(
    http: requests.Session, api: str, user_id: str, accept: str | None, **params: str
) -> requests.Response:
    headers = {} if accept is None else {"Accept": accept}
    response = http.get(
        f"{api}/users/{user_id}/picture",
        params={"redirect": "1", **params},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return response


def fetch(http: requests.Session, url: str) -> tuple[Image.Image, str]:
    response = http.get(url, timeout=10)
    assert response.status_code == 200
    img = Image.open(io.BytesIO(response.content))
    img.load()
    return img, response.headers["Content-Type"]


def folder(stack: RunningStack, ready: dict[str, Any]) -> list[str]:
    return stack.keys(f"thumbnails/{ready['user_id']}/{ready['id']}/")


def stored_state(stack: RunningStack, ready: dict[str, Any]) -> tuple[Any, ...]:
    """The objects with their last-modified times, and the table item: what a write changes."""
    objects = stack.minio().list_objects(
        stack.bucket, prefix=f"thumbnails/{ready['user_id']}/", recursive=True
    )
    item = stack.dynamodb().get_item(
        TableName=stack.table, Key={"user_id": {"S": ready["user_id"]}}, ConsistentRead=True
    )["Item"]
    return sorted((o.object_name, o.last_modified, o.etag) for o in objects), item


def test_an_arbitrary_size_is_exact_and_the_second_request_writes_nothing(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id = ready["user_id"]
    first = ask(http, api, user_id, size="100")
    body = first.json()
    img, content_type = fetch(http, body["url"])
    assert (img.size, img.format, content_type) == ((100, 100), "WEBP", "image/webp")
    assert (body["size"], body["format"], first.headers["Picture-Size"]) == ("100", "webp", "100")
    made = f"thumbnails/{user_id}/{ready['id']}/100.q80m4.webp"
    assert key_of(body["url"], stack.bucket) == made
    assert len(folder(stack, ready)) == CONFIGURED + 1
    before = stored_state(stack, ready)

    again = [ask(http, api, user_id, size="100").json() for _ in range(3)]
    followed = redirect(http, api, user_id, None, size="100", format="webp")

    assert {a["url"] for a in again} | {followed.headers["Location"]} == {body["url"]}
    assert stored_state(stack, ready) == before  # no object, no table write
    listed = profile(api, user_id, http)["picture"]["sources"]["webp"]
    assert list(listed) == ["64", "100", "128", "256", "512"]  # every stored size, for srcset


@pytest.mark.parametrize(
    ("fmt", "pillow_name"), [("webp", "WEBP"), ("avif", "AVIF"), ("jpeg", "JPEG"), ("png", "PNG")]
)
def test_explicit_formats_decode_as_what_they_claim(
    api: str, http: requests.Session, ready: dict[str, Any], fmt: str, pillow_name: str
) -> None:
    for size in ("256", "77"):  # a configured size, and one made on request
        body = ask(http, api, ready["user_id"], size=size, format=fmt).json()
        img, content_type = fetch(http, body["url"])
        assert (img.format, img.size, content_type) == (
            pillow_name,
            (int(size), int(size)),
            f"image/{fmt}",
        )
        assert body["format"] == fmt


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (BROWSER, "avif"),
        ("image/webp,*/*", "webp"),
        ("*/*", "jpeg"),  # e-mail clients and old tools
        (None, "jpeg"),
        ("image/avif;q=0.4,image/webp;q=0.9", "webp"),
    ],
)
def test_redirects_follow_accept_and_say_vary_accept(
    api: str, http: requests.Session, ready: dict[str, Any], accept: str | None, fmt: str
) -> None:
    response = redirect(http, api, ready["user_id"], accept, size="128")
    assert response.headers["Vary"] == "Accept"
    assert (response.headers["Picture-Size"], response.headers["Picture-Format"]) == ("128", fmt)
    img, content_type = fetch(http, response.headers["Location"])
    assert (img.size, content_type) == ((128, 128), f"image/{fmt}")


def test_an_explicit_format_or_a_json_answer_does_not_vary(
    api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    explicit = redirect(http, api, ready["user_id"], BROWSER, size="128", format="png")
    assert "Vary" not in explicit.headers
    assert explicit.headers["Picture-Format"] == "png"
    plain = ask(http, api, ready["user_id"], size="128")
    assert "Vary" not in plain.headers and plain.json()["format"] == "webp"


def test_the_guard_holds_under_concurrent_requests_for_many_sizes(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id = ready["user_id"]
    sizes = list(range(101, 101 + 24 * 7, 7))  # 24 sizes, none configured: 16 may be made

    def one(size: int) -> dict[str, Any]:
        with requests.Session() as session:
            return dict(ask(session, api, user_id, size=str(size)).json())

    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(sizes, pool.map(one, sizes), strict=True))

    exact = [s for s, a in answers.items() if a["size"] == str(s)]
    assert len(exact) == 16
    for size, answer in answers.items():
        img, _ = fetch(http, answer["url"])
        assert img.size == (int(answer["size"]),) * 2
        if answer["size"] != str(size):  # past the guard: the nearest stored size
            stored = [int(s) for s in (*exact, 64, 128, 256, 512)]
            assert int(answer["size"]) == min(stored, key=lambda s: (abs(s - size), -s))
    assert len(folder(stack, ready)) == CONFIGURED + 16  # nothing left over by a lost race
    picture = profile(api, user_id, http)["picture"]
    assert len(picture["sources"]["webp"]) == 4 + 16
    again = ask(http, api, user_id, size=str(sizes[-1] + 50)).json()
    assert again["size"] != str(sizes[-1] + 50)


def test_concurrent_first_requests_for_one_size_store_one_object(
    stack: RunningStack, api: str, ready: dict[str, Any]
) -> None:
    def one(_: int) -> str:
        with requests.Session() as session:
            return str(ask(session, api, ready["user_id"], size="333", format="avif").json()["url"])

    with ThreadPoolExecutor(6) as pool:
        urls = set(pool.map(one, range(6)))

    assert len({key_of(u, stack.bucket) for u in urls}) == 1
    assert [k for k in folder(stack, ready) if "/333." in k] == [key_of(urls.pop(), stack.bucket)]
    assert len(folder(stack, ready)) == CONFIGURED + 1


def test_while_processing_a_size_is_the_original_and_nothing_is_made(
    stack: RunningStack, api: str, http: requests.Session, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    uploaded = accepted(put_picture(api, user_id, small_jpeg(), http=http))
    stack.dynamodb().update_item(  # hold it in processing, as before its event is handled
        TableName=stack.table,
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET picture.#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "processing"}},
    )
    for params in ({"size": "100"}, {"size": "256", "format": "png"}):
        body = ask(http, api, user_id, **params).json()
        assert body["status"] == "processing"
        assert key_of(body["url"], stack.bucket) == f"originals/{user_id}/{uploaded['id']}.jpg"
    assert not any("/100." in k or ".png" in k for k in stack.keys(f"thumbnails/{user_id}/"))


def test_replacing_and_deleting_the_picture_removes_its_on_demand_variants(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id = ready["user_id"]
    for size, fmt in (("100", "webp"), ("300", "jpeg"), ("256", "png")):
        ask(http, api, user_id, size=size, format=fmt)
    assert len(folder(stack, ready)) == CONFIGURED + 3

    replaced = accepted(put_picture(api, user_id, small_jpeg(40), http=http))
    wait_status(http, api, user_id, replaced["id"])
    assert stack.keys(f"thumbnails/{user_id}/{ready['id']}/") == []
    ask(http, api, user_id, size="100")
    assert len(stack.keys(f"thumbnails/{user_id}/")) == CONFIGURED + 1

    deleted = http.delete(f"{api}/users/{user_id}/picture", headers=bearer(user_id), timeout=10)
    assert deleted.status_code == 204
    assert stack.keys(f"thumbnails/{user_id}/") == []
    assert stack.keys(f"originals/{user_id}/") == []


def test_the_sweep_keeps_on_demand_variants_and_deletes_those_of_gone_pictures(
    stack: RunningStack, api: str, http: requests.Session, ready: dict[str, Any]
) -> None:
    user_id = ready["user_id"]
    made = key_of(ask(http, api, user_id, size="150", format="avif").json()["url"], stack.bucket)
    # A variant a request made for a picture that was replaced before it could be recorded:
    stray = f"thumbnails/{user_id}/{'f' * 32}/150.q60s8.avif"
    data = stack.minio().get_object(stack.bucket, made).read()
    stack.minio().put_object(stack.bucket, stray, io.BytesIO(data), len(data), "image/avif")

    would_delete, report = doomed(stack, {stray})

    assert stray in would_delete, report
    assert made not in report
