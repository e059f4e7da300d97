"""An operator's own CORS origins (PROFILEPICS_CORS_ALLOWED_ORIGINS) in place of the template's
default, on a `profilepics serve` instance (the Compose app) beside the session stack: what
API Gateway does with the CorsAllowedOrigins parameter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.instances import Instance, start_instance
from tests.stackrun import RunningStack

pytestmark = pytest.mark.integration
LISTED = "http://localhost:5173"
SECOND = "https://app.example.com"


@pytest.fixture(scope="module")
def instance(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    directory: Path = tmp_path_factory.mktemp("cors")
    started = start_instance(
        stack, "cors", directory, {"PROFILEPICS_CORS_ALLOWED_ORIGINS": f"{LISTED}, {SECOND}"}
    )
    try:
        yield started
    finally:
        started.stop()


def _preflight(api: str, origin: str) -> requests.Response:
    return requests.options(
        f"{api}/users/someone/picture",
        headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )


def test_a_listed_origin_gets_itself_back_on_preflights_and_answers(instance: Instance) -> None:
    for origin in (LISTED, SECOND):
        preflight = _preflight(instance.api, origin)
        answer = requests.get(
            f"{instance.api}/users/nobody", headers={"Origin": origin}, timeout=10
        )

        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert preflight.headers["Vary"] == "Origin"
        # The rest of the template's CorsConfiguration stays as it is.
        assert "PUT" in preflight.headers["Access-Control-Allow-Methods"].split(",")
        assert preflight.headers["Access-Control-Max-Age"] == "600"
        assert answer.status_code == 404
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_an_origin_not_listed_gets_no_cors_headers(instance: Instance) -> None:
    preflight = _preflight(instance.api, "https://evil.example")
    answer = requests.get(
        f"{instance.api}/users/nobody", headers={"Origin": "https://evil.example"}, timeout=10
    )

    assert preflight.status_code == 204
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers
    assert answer.status_code == 404
    assert "Access-Control-Allow-Origin" not in answer.headers
