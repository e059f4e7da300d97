"""Session fixtures: one real local stack (SeaweedFS + dynalite + invoker) for all HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api_client import create_user
from tests.stackrun import OwnStack, RunningStack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with start_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[OwnStack]:
    """A stack of the test's own, which it may stop, break and restart."""
    stacks = OwnStack(tmp_path / "stack")
    try:
        yield stacks
    finally:
        stacks.current.stop()


@pytest.fixture(scope="session")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A second stack whose store speaks only HTTPS, with a CA of its own (PROFILEPICS_TLS)."""
    with start_stack(tmp_path_factory.mktemp("tls"), {"PROFILEPICS_TLS": "true"}) as running:
        yield running


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
