"""Session fixtures: one real local stack (SeaweedFS + dynalite + invoker) for all HTTP tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.stackrun import RunningStack, bearer, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(Path(tmp_path_factory.mktemp("stack")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A second stack whose store speaks only HTTPS, with a CA of its own (PROFILEPICS_TLS)."""
    running = start_stack(Path(tmp_path_factory.mktemp("tls")), {"PROFILEPICS_TLS": "true"})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def api(stack: RunningStack) -> str:
    return stack.api


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def user(api: str, http: requests.Session) -> dict[str, str]:
    """A fresh profile on the running stack."""
    user_id = f"u-{uuid.uuid4().hex[:12]}"
    body = {"user_id": user_id, "display_name": "Grace Hopper", "email": f"{user_id}@example.com"}
    response = http.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
    assert response.status_code == 201, response.text
    return body
