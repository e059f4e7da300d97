"""The shared resolver's answer to JSON bodies it cannot take: always a 4xx problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from profilepics.http import json_response, make_resolver
from pydantic import BaseModel

app = make_resolver()


class Thing(BaseModel):
    name: str


@app.post("/things")
def create_thing(body: Thing) -> Response[Thing]:
    return json_response(body, 201)


def post(body: str) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": "POST /things",
        "rawPath": "/things",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/things"}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": False,
    }
    result: dict[str, Any] = app.resolve(event, None)  # type: ignore[arg-type]
    return result


def test_a_valid_body_is_created() -> None:
    assert post('{"name": "ada"}')["statusCode"] == 201


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,  # API Gateway passes it; json.loads raised RecursionError
        '{"a":' * 5000 + "1" + "}" * 5000,
        "[" * 200_000,
        '{"name": "ada"',
        "{not json",
        "",
    ],
    ids=["arrays-1000-deep", "objects-5000-deep", "unclosed-200k", "truncated", "bare", "none"],
)
def test_malformed_or_too_deep_json_is_a_422_problem(body: str) -> None:
    answer = post(body)

    assert answer["statusCode"] == 422
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(answer["body"])
    assert problem["code"] == "validation_error"
    assert not body or body[:20] not in answer["body"]  # the input is not echoed back
