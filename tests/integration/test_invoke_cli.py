"""`profilepics invoke FUNCTION --event FILE` against the running stack, with tests/events/."""

from __future__ import annotations

import base64
import copy
import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.stackrun import RunningStack, bearer
from tests.unit import imagegen as gen

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
SAMPLE_USER = "event-sample-user"  # the user id in the sample events


def invoke(stack: RunningStack, function: str, event: Path) -> Any:
    """Run the CLI; its last JSON document on stdout is the handler's result."""
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "invoke", function, "--event", str(event)],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    decoder, text, documents = json.JSONDecoder(), done.stdout, []
    position = 0
    while (start := text.find("{", position)) != -1:
        document, position = decoder.raw_decode(text, start)
        documents.append(document)
    return documents[-1]


def sample_objects(stack: RunningStack) -> list[str]:
    return [
        k for p in ("originals", "thumbnails", "uploads") for k in stack.keys(f"{p}/{SAMPLE_USER}/")
    ]


def write_event(directory: Path, name: str, event: dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(json.dumps(event))
    return path


@pytest.fixture(scope="module")
def sample_user(api: str) -> str:
    body = {"user_id": SAMPLE_USER, "display_name": "Ada Lovelace", "email": "ada@example.com"}
    response = requests.post(f"{api}/users", json=body, headers=bearer(SAMPLE_USER), timeout=10)
    assert response.status_code in (201, 409), response.text
    return SAMPLE_USER


def test_get_user_event_prints_an_api_gateway_response(
    stack: RunningStack, sample_user: str
) -> None:
    result = invoke(stack, "ProfilesFunction", EVENTS / "get_user.json")

    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "application/json"
    profile = json.loads(result["body"])
    assert profile["user_id"] == sample_user
    assert "/pictures/default?" in profile["profile_picture_url"]


def test_create_user_event_creates_the_user_its_claims_allow(
    stack: RunningStack, api: str, tmp_path: Path
) -> None:
    event = json.loads((EVENTS / "create_user.json").read_text())
    user_id = f"cli-{uuid.uuid4().hex[:10]}"
    body = {**json.loads(event["body"]), "user_id": user_id}
    event["body"] = json.dumps(body)
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = user_id

    result = invoke(stack, "ProfilesFunction", write_event(tmp_path, "create.json", event))

    assert result["statusCode"] == 201
    me = requests.get(f"{api}/me", headers=bearer(user_id), timeout=10)
    assert me.json()["email"] == body["email"]


def test_picture_url_and_default_picture_events_answer(
    stack: RunningStack, sample_user: str
) -> None:
    url = invoke(stack, "GetUrlFunction", EVENTS / "get_picture_url.json")
    assert url["statusCode"] == 200
    assert json.loads(url["body"])["is_default"] is True

    default = invoke(stack, "DefaultPictureFunction", EVENTS / "default_picture.json")
    assert default["statusCode"] == 200
    assert default["headers"]["Content-Type"] == "image/png"
    png = Image.open(io.BytesIO(base64.b64decode(default["body"])))
    assert (png.format, png.size) == ("PNG", (64, 64))


def test_sample_s3_events_for_objects_that_do_not_exist_change_nothing(
    stack: RunningStack, sample_user: str
) -> None:
    before = sample_objects(stack)
    original = json.loads((EVENTS / "s3_original_created.json").read_text())
    upload = json.loads((EVENTS / "s3_upload_created.json").read_text())

    thumbnails = invoke(stack, "ThumbnailsFunction", EVENTS / "s3_original_created.json")
    ingest = invoke(stack, "IngestFunction", EVENTS / "s3_upload_created.json")

    assert thumbnails == {"outcomes": {original["Records"][0]["s3"]["object"]["key"]: "superseded"}}
    assert ingest == {"outcomes": {upload["Records"][0]["s3"]["object"]["key"]: "ignored"}}
    assert sample_objects(stack) == before


def test_thumbnails_invoked_twice_makes_the_variants_once(
    stack: RunningStack, api: str, user: dict[str, str], tmp_path: Path
) -> None:
    user_id = user["user_id"]
    jpeg = gen.encode(gen.photo(900, 700), "JPEG")
    headers = {**bearer(user_id), "Content-Type": "image/jpeg"}
    put = requests.put(f"{api}/users/{user_id}/picture", data=jpeg, headers=headers, timeout=30)
    picture_id = put.json()["id"]
    wait_ready(api, user_id)
    # Back to the state before its event was handled, so the first run does the work.
    stack.dynamodb().update_item(
        TableName=stack.table,
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET picture.#s = :s REMOVE picture.variants",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "processing"}},
    )
    key = f"originals/{user_id}/{picture_id}.jpg"
    event = copy.deepcopy(json.loads((EVENTS / "s3_original_created.json").read_text()))
    event["Records"][0]["s3"]["object"]["key"] = key
    path = write_event(tmp_path, "original.json", event)
    objects = stack.keys(f"thumbnails/{user_id}/")

    first = invoke(stack, "ThumbnailsFunction", path)
    variants = objects_of(requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"])
    second = invoke(stack, "ThumbnailsFunction", path)

    assert (first, second) == ({"outcomes": {key: "ready"}}, {"outcomes": {key: "already_ready"}})
    assert stack.keys(f"thumbnails/{user_id}/") == objects
    assert len(objects) == 8  # four sizes, in WebP and AVIF
    again = requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"]
    assert (again["status"], objects_of(again)) == ("ready", variants)


def objects_of(picture: dict[str, Any]) -> dict[str, str]:
    """Each variant's URL without its signature: a URL is re-signed when its signing window
    turns, which can happen between two reads on a loaded machine (seen at 18:30:00)."""
    return {size: url.split("?", 1)[0] for size, url in picture["variants"].items()}


def test_thumbnails_ignore_keys_outside_originals(stack: RunningStack, tmp_path: Path) -> None:
    """The code's own loop guard, behind the template's prefix filter."""
    before = sample_objects(stack)
    keys = [f"thumbnails/{SAMPLE_USER}/{'a' * 32}/64.webp", f"uploads/{SAMPLE_USER}/{'b' * 32}"]
    event = json.loads((EVENTS / "s3_original_created.json").read_text())
    event["Records"] = [
        {**event["Records"][0], "s3": {**event["Records"][0]["s3"], "object": {"key": k}}}
        for k in keys
    ]

    result = invoke(stack, "ThumbnailsFunction", write_event(tmp_path, "loop.json", event))

    assert result == {"outcomes": dict.fromkeys(keys, "ignored")}
    assert sample_objects(stack) == before


def wait_ready(api: str, user_id: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"]["status"] != "ready":
        assert time.monotonic() < deadline, "the picture never became ready"
        time.sleep(0.05)
