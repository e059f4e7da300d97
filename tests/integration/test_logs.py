"""The stack's logs during uploads: structured JSON with a correlation id, and no secrets."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.api_client import jpeg, put_picture
from tests.stackrun import EVENTS_TOKEN, JWT_SECRET, SECRET_KEY, RunningStack, bearer, token
from tests.stackrun import wait_for as poll

pytestmark = pytest.mark.integration
# What the invoker itself prints per request: method, path, status, time, function.
ACCESS_LINE = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>/\S*) (?P<status>\d{3}) \d+\.\d ms (?P<fn>\S+)$"
)


def signatures(value: Any) -> set[str]:
    """Every X-Amz-Signature in the URLs anywhere inside a JSON value."""
    text = json.dumps(value)
    found = set(re.findall(r"X-Amz-Signature=([0-9a-f]{64})", text))
    assert found, text
    return found


def json_lines(log: str) -> list[dict[str, Any]]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            assert isinstance(record, dict)
            lines.append(record)
    return lines


def wait_for(stack: RunningStack, match: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while match not in (log := stack.log()):
        assert time.monotonic() < deadline, f"{match!r} never logged"
        time.sleep(0.1)
    return log


def test_logs_never_hold_secrets_tokens_or_signatures(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    headers = bearer(user_id)
    used_tokens = [headers["Authorization"].removeprefix("Bearer ")]
    seen: set[str] = set()

    uploaded = put_picture(api, user_id, jpeg())
    seen |= signatures(uploaded.json())
    seen |= signatures(requests.get(f"{api}/users/{user_id}/picture?size=64", timeout=10).json())
    seen |= signatures(requests.get(f"{api}/users/{user_id}", timeout=10).json())
    policy = requests.post(f"{api}/users/{user_id}/picture/uploads", headers=headers, timeout=10)
    assert policy.status_code == 201
    seen.add(policy.json()["fields"]["x-amz-signature"])
    tampered = token(user_id)[:-4] + "AAAA"
    used_tokens.append(tampered)
    refused = requests.patch(
        f"{api}/users/{user_id}",
        json={"display_name": "x"},
        headers={"Authorization": f"Bearer {tampered}"},
        timeout=10,
    )
    assert refused.status_code == 401
    redirect = requests.get(
        f"{api}/users/{user_id}/picture?redirect=1", allow_redirects=False, timeout=10
    )
    seen.update(parse_qs(urlsplit(redirect.headers["Location"]).query)["X-Amz-Signature"])

    logs = [wait_for(stack, uploaded.json()["id"])]
    logs += [p.read_text(errors="replace") for p in (stack.data_dir / "logs").glob("*")]
    everything = "\n".join(logs)
    for secret in (SECRET_KEY, JWT_SECRET, EVENTS_TOKEN, *used_tokens, *seen):
        assert secret not in everything


def test_function_logs_are_json_with_the_request_id_as_correlation_id(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]

    uploads = [put_picture(api, user_id, jpeg(colour=colour)) for colour in ("red", "blue")]

    assert [r.status_code for r in uploads] == [201, 200]
    log = wait_for(stack, uploads[-1].json()["id"])
    stored = {
        record["picture_id"]: record
        for record in json_lines(log)
        if record.get("message") == "picture stored" and record.get("user_id") == user_id
    }
    request_ids = [r.headers["Apigw-Requestid"] for r in uploads]
    assert len(set(request_ids)) == 2
    for response, request_id in zip(uploads, request_ids, strict=True):
        record = stored[response.json()["id"]]
        assert record["correlation_id"] == request_id
        assert record["service"] == "upload"
        assert record["level"] == "INFO"
        assert record["function_name"] == "UploadFunction"
        assert record["timestamp"] and record["function_request_id"]
    assert stored[uploads[1].json()["id"]]["replaced"] == uploads[0].json()["id"]
    for line in log.splitlines():
        if user_id in line and not line.startswith("{"):
            assert ACCESS_LINE.match(line), line


def test_one_access_line_per_request_and_bucket_events_summarised(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    before = len(stack.log())

    put_picture(api, user_id, jpeg())
    requests.get(f"{api}/users/{user_id}/picture?size=64", timeout=10)
    requests.get(f"{api}/nowhere/{user_id}", timeout=10)

    def summarised() -> str | None:
        text = stack.log()[before:]
        return text if "bucket events: " in text else None

    log = poll(summarised, "a bucket-events summary", 20)

    lines = [m for line in log.splitlines() if (m := ACCESS_LINE.match(line))]
    mine = [(m["method"], m["path"], m["status"], m["fn"]) for m in lines if user_id in m["path"]]
    assert mine == [
        ("PUT", f"/users/{user_id}/picture", "201", "UploadFunction"),
        ("GET", f"/users/{user_id}/picture", "200", "GetUrlFunction"),
        ("GET", f"/nowhere/{user_id}", "404", "-"),
    ]
    assert not [m for m in lines if m["path"].startswith("/_events/")]
    summary = re.search(r"bucket events: (\d+) webhook calls in \d+ s \((.*)\)", log)
    assert summary and int(summary[1]) >= 1, log[-2000:]
