"""Function instances on the real stack: a timed-out, crashed or oversized worker is killed and
replaced, and its late work never lands; the client gets what API Gateway's HTTP API answers."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from infra.invoker.template import load
from infra.local import REPO_ROOT
from tests.stackrun import RunningStack, start_stack, wait_for

pytestmark = pytest.mark.integration

TIMEOUT = 2  # seconds: the test function's own Timeout in its template
MEMORY = 128  # MB: its MemorySize
LATE = "originals/late/"  # the functions' identity may write under the service's prefixes only


def sleeper_template(path: Path) -> Path:
    """A template with the real table and one test function on POST /sleep."""
    real = load(REPO_ROOT / "template.yaml")
    doc = {
        "Globals": {"Function": {"Timeout": TIMEOUT, "MemorySize": MEMORY}},
        "Resources": {
            "ProfilesTable": {"Type": "AWS::DynamoDB::Table", "Properties": real.table},
            "SleeperFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": str(REPO_ROOT / "tests" / "functions" / "sleeper"),
                    "Handler": "handler.lambda_handler",
                    "Events": {
                        "Sleep": {
                            "Type": "HttpApi",
                            "Properties": {
                                "Path": "/sleep",
                                "Method": "POST",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        }
                    },
                },
            },
        },
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def sleeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("sleeper")
    template = sleeper_template(root / "template.yaml")
    # One instance, so "the next request" can only be served by the killed worker or its
    # replacement.
    env = {"PROFILEPICS_TEMPLATE": str(template), "PROFILEPICS_INSTANCES": "1"}
    stack = start_stack(root / "data", env)
    try:
        yield stack
    finally:
        stack.stop()


def call(stack: RunningStack, **order: Any) -> requests.Response:
    return requests.post(f"{stack.api}/sleep", json=order, timeout=TIMEOUT + 30)


def served_by(stack: RunningStack) -> dict[str, int]:
    response = call(stack)
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers signal 0 until its parent reaps it.
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def assert_problem(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_write_within_the_timeout_lands(sleeper: RunningStack) -> None:
    """The control for the next test: the same write, made in time, does land."""
    key = f"{LATE}{uuid.uuid4().hex}"
    assert call(sleeper, sleep=0.2, write=key).status_code == 200
    assert key in sleeper.keys(LATE)


def test_a_function_past_its_timeout_is_killed_and_its_late_write_never_lands(
    sleeper: RunningStack,
) -> None:
    warm = served_by(sleeper)
    key = f"{LATE}{uuid.uuid4().hex}"

    response = call(sleeper, sleep=TIMEOUT + 2, write=key)

    # Stopped at its timeout, not at the sleep's end: that would have answered 200.
    assert_problem(response, 500, "function_timeout")
    # Killed, and a dead process writes nothing: the write was to come 2 s after the timeout.
    wait_for(lambda: gone(warm["pid"]), "the timed-out worker is killed", timeout=5)
    assert key not in sleeper.keys(LATE)
    fresh = served_by(sleeper)
    assert fresh["pid"] != warm["pid"] and fresh["served"] == 1


def test_a_worker_that_exits_mid_request_is_replaced(sleeper: RunningStack) -> None:
    warm = served_by(sleeper)
    assert_problem(call(sleeper, exit=True), 500, "function_error")
    fresh = served_by(sleeper)
    assert fresh["pid"] != warm["pid"] and fresh["served"] == 1


def test_a_worker_killed_while_idle_is_replaced_not_left_failing(sleeper: RunningStack) -> None:
    warm = served_by(sleeper)
    os.kill(warm["pid"], signal.SIGKILL)
    wait_for(lambda: gone(warm["pid"]), "the worker is dead")
    for _ in range(3):
        fresh = served_by(sleeper)
        assert fresh["pid"] != warm["pid"]


def test_a_worker_past_its_memory_size_is_killed_as_lambda_would(sleeper: RunningStack) -> None:
    warm = served_by(sleeper)
    response = call(sleeper, allocate_mb=MEMORY * 2, hold=TIMEOUT)
    assert_problem(response, 500, "function_out_of_memory")
    fresh = served_by(sleeper)
    assert fresh["pid"] != warm["pid"] and fresh["served"] == 1
    within = call(sleeper, allocate_mb=MEMORY // 4)
    assert within.status_code == 200, within.text
