"""Worker processes as Lambda instances: errors, a broken module, and API Gateway's own timeout.

These start real (spawned) worker processes running the test function in tests/functions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.invoker.gateway import answer_for
from infra.invoker.template import Function
from infra.invoker.workers import (
    EXITED,
    GATEWAY_TIMEOUT,
    INIT_FAILED,
    OUT_OF_MEMORY,
    TIMED_OUT,
    FunctionPool,
)
from infra.local import REPO_ROOT

SLEEPER = REPO_ROOT / "tests" / "functions" / "sleeper"
ENVIRONMENT = {"PATH": os.environ.get("PATH", "")}


def sleeper(timeout: int = 2, memory: int = 128, code_dir: Path = SLEEPER) -> Function:
    return Function("Sleeper", code_dir, "handler.lambda_handler", timeout, memory)


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    made = FunctionPool(sleeper(), ENVIRONMENT, instances=1)
    yield made
    made.close()


def ask(pool: FunctionPool, answer_within: float | None = None, **order: Any) -> Any:
    outcome = pool.invoke({"body": json.dumps(order)}, answer_within)
    return outcome.error if outcome.failed else json.loads(outcome.result["body"])


def test_an_unhandled_error_is_the_result_and_the_instance_stays_warm(
    pool: FunctionPool,
) -> None:
    warm = ask(pool)
    outcome = pool.invoke({"body": "not json"})
    assert outcome.error == "JSONDecodeError"
    again = ask(pool)
    assert again["pid"] == warm["pid"] and again["served"] == warm["served"] + 2


def test_the_gateway_stops_waiting_but_the_function_runs_to_its_own_timeout(
    pool: FunctionPool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An integration timeout shorter than the function's: API Gateway answers at once, while
    Lambda lets the function go on until its own timeout stops it."""
    warm = ask(pool)
    # An earlier test may have copied a function's powertools config onto the core's loggers,
    # which turns their propagation off: caplog listens at the root.
    for name in ("profilepics", "profilepics.invoker"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)

    with caplog.at_level(logging.WARNING, logger="profilepics.invoker"):
        assert ask(pool, answer_within=0.3, sleep=10) == GATEWAY_TIMEOUT
        # Answered while the function still runs: its instance is alive, not killed with it.
        assert alive(warm["pid"])
        # The one instance is busy until its 2 s timeout stops it (not the 10 s sleep's end):
        # a caller that can wait gets a fresh instance then.
        fresh = ask(pool)

    assert fresh["pid"] != warm["pid"] and fresh["served"] == 1
    assert not alive(warm["pid"])
    assert [r.getMessage() for r in caplog.records] == [
        f"Sleeper failed after its caller gave up: {TIMED_OUT}"
    ]


def alive(pid: int) -> bool:
    """Whether the process still runs (a killed worker is reaped by the pool: gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_caller_that_finds_every_instance_busy_gets_the_gateway_timeout(
    pool: FunctionPool,
) -> None:
    ask(pool)
    assert ask(pool, answer_within=0.2, sleep=1.0) == GATEWAY_TIMEOUT
    assert ask(pool, answer_within=0.2) == GATEWAY_TIMEOUT  # no free instance in time
    assert "pid" in ask(pool)


def test_one_caller_after_another_reuses_the_warm_instance_and_starts_no_other() -> None:
    pool = FunctionPool(sleeper(), ENVIRONMENT, instances=3)
    try:
        pids = {ask(pool)["pid"] for _ in range(4)}
        assert len(pids) == 1  # a second instance would have paid a cold start for nothing
    finally:
        pool.close()


def test_a_module_that_fails_to_import_fails_each_invocation_cleanly(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("raise RuntimeError('broken at import')\n")
    broken = FunctionPool(sleeper(code_dir=tmp_path), ENVIRONMENT, instances=1)
    try:
        assert broken.invoke({}).error == INIT_FAILED
        assert broken.invoke({}).error == INIT_FAILED
    finally:
        broken.close()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (GATEWAY_TIMEOUT, 503, "integration_timeout"),
        (TIMED_OUT, 500, "function_timeout"),
        (OUT_OF_MEMORY, 500, "function_out_of_memory"),
        (EXITED, 500, "function_error"),
        (INIT_FAILED, 500, "function_error"),
        ("ValueError", 500, "function_error"),
    ],
)
def test_failures_get_what_api_gateways_http_api_answers(
    error: str, status: int, code: str
) -> None:
    answer = answer_for(error)
    assert (answer.status, answer.code) == (status, code)
