"""Schemathesis against the OpenAPI document the local stack serves: no request gets a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error

from tests.stackrun import RunningStack, token

pytestmark = pytest.mark.integration
# An admin may write to any user, so writes get past authorization to the core's own checks.
ADMIN = "schemathesis-admin"


@pytest.fixture(scope="session")
def served_openapi(stack: RunningStack) -> Any:
    schema = schemathesis.openapi.from_url(f"{stack.api}/openapi.json", timeout=10)
    schema.config.update(base_url=stack.api)
    return schema


schema = schemathesis.pytest.from_fixture("served_openapi")


@schema.auth()
class AdminToken:
    def get(self, case: Case[Any], context: Any) -> str:
        return token(ADMIN, admin=True)

    def set(self, case: Case[Any], data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error(case: Case[Any]) -> None:
    case.call_and_validate(checks=[not_a_server_error], timeout=15)
