"""`profilepics serve` (the Compose app) against the real store and table: a bucket event is
acknowledged only after its function succeeded, a failure answers 503 for MinIO's queue_dir to
send it again, and a poison event is dead-lettered after its last attempt instead of blocking
MinIO's queue; `profilepics events --redrive` hands it to the app's own loop."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from profilepics import keys

from infra.invoker.events import s3_record
from infra.local import REPO_ROOT
from infra.stack import free_port
from tests.api_client import jpeg, put_picture
from tests.stackrun import ACCESS_KEY, EVENTS_TOKEN, JWT_SECRET, SECRET_KEY, RunningStack, wait_for

pytestmark = pytest.mark.integration
ATTEMPTS = 2


@pytest.fixture(scope="module")
def app(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A `serve` process on a port of its own, sharing the session stack's store and table."""
    port = free_port()
    env = {
        **stack.env,
        "PROFILEPICS_S3_ENDPOINT": str(stack.info["s3_endpoint"]),
        "PROFILEPICS_DYNAMODB_ENDPOINT": str(stack.info["dynamodb_endpoint"]),
        "PROFILEPICS_DYNAMODB_ACCESS_KEY": "local",
        "PROFILEPICS_DYNAMODB_SECRET_KEY": "local",
        "PROFILEPICS_S3_ACCESS_KEY": ACCESS_KEY,
        "PROFILEPICS_S3_SECRET_KEY": SECRET_KEY,
        "PROFILEPICS_JWT_SECRET": JWT_SECRET,
        "PROFILEPICS_EVENTS_TOKEN": EVENTS_TOKEN,
        "PROFILEPICS_DATA_DIR": str(tmp_path_factory.mktemp("serve")),
        "PROFILEPICS_EVENT_ATTEMPTS": str(ATTEMPTS),
        "PROFILEPICS_API_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = Path(env["PROFILEPICS_DATA_DIR"]) / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{api}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(healthy, f"serve healthy:\n{log.read_text(errors='replace')}", 60)
        yield {"api": api, **env}
    finally:
        process.terminate()
        process.wait(30)


def post(app: dict[str, str], *records: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{app['api']}/_events/s3",
        json={"EventName": "s3:ObjectCreated:Put", "Records": list(records)},
        headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
        timeout=60,
    )


def minio_record(bucket: str, key: str) -> dict[str, Any]:
    return s3_record("s3:ObjectCreated:Put", bucket, key, 10)


def events(app: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "events", *args],
        env=app,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout) if "--json" in args else done.stdout


def test_a_done_event_is_acknowledged_and_forgotten(
    stack: RunningStack, app: dict[str, str], user: dict[str, str]
) -> None:
    uploaded = put_picture(stack.api, user["user_id"], jpeg())
    assert uploaded.status_code == 201
    key = keys.original(user["user_id"], uploaded.json()["id"], "jpg")

    assert post(app, minio_record(stack.bucket, key)).status_code == 204
    assert [e for e in events(app, "--json") if e["key"] == key] == []


def test_a_failing_event_is_refused_until_its_last_attempt_then_dead_lettered(
    stack: RunningStack, app: dict[str, str], user: dict[str, str]
) -> None:
    stray = keys.original(user["user_id"], uuid.uuid4().hex, "jpg")
    data = jpeg(colour="navy")
    stack.minio().put_object(stack.bucket, stray, io.BytesIO(data), len(data), "image/jpeg")
    record = minio_record(stack.bucket, stray)  # MinIO resends the very same record

    first = post(app, record)
    assert first.status_code == 503
    assert first.headers["Content-Type"] == "application/problem+json"
    assert first.json()["code"] == "event_failed"
    assert post(app, record).status_code == 204  # the last attempt: dead here, MinIO moves on
    assert post(app, record).status_code == 204  # a late resend changes nothing
    (dead,) = [e for e in events(app, "--json") if e["key"] == stray]
    assert (dead["state"], dead["attempts"], dead["error"]) == ("dead", ATTEMPTS, "Conflict")

    # Once the stray original is gone, the redriven event succeeds (as superseded).
    stack.minio().remove_object(stack.bucket, stray)
    assert "1 dead event(s)" in events(app, "--redrive", str(dead["id"]))
    wait_for(
        lambda: not [e for e in events(app, "--json") if e["key"] == stray],
        "the serve process delivers the redriven event",
    )
