"""Session fixtures: one real local stack (SeaweedFS + dynalite + invoker) for all HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api_client import create_user
from tests.stackrun import RunningStack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(Path(tmp_path_factory.mktemp("stack")))
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
    return create_user(api, http=http)
