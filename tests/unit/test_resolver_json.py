"""The shared resolver's answer to JSON bodies it cannot take: always a 4xx problem, never a 500."""

from __future__ import annotations

import base64
import json
import logging
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


SECRET = "s3cr3t-in-the-message"


@app.post("/bugs")
def raise_a_bug(body: Thing) -> Response[Thing]:
    raise RuntimeError(SECRET)


@app.post("/value-bugs")
def raise_a_value_bug(body: Thing) -> Response[Thing]:
    raise ValueError(SECRET)  # not a multipart body Powertools could not read: still a bug


def post(body: str, path: str = "/things") -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default"},
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
        '{"name": "ada", "n": ' + "9" * 4301 + "}",  # json.loads raised a bare ValueError
        '{"name": "ada"',
        "{not json",
        "",
    ],
    ids=[
        "arrays-1000-deep",
        "objects-5000-deep",
        "unclosed-200k",
        "integer-4301-digits",
        "truncated",
        "bare",
        "none",
    ],
)
def test_malformed_or_too_deep_json_is_a_422_problem(body: str) -> None:
    answer = post(body)

    assert answer["statusCode"] == 422
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(answer["body"])
    assert problem["code"] == "validation_error"
    assert not body or body[:20] not in answer["body"]  # the input is not echoed back


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"content-type": "application/json"}, 422, "validation_error"),
        ({"content-type": "application/octet-stream"}, 415, "unsupported_content_type"),
    ],
    ids=["no-type", "json", "binary-type"],
)
def test_a_binary_body_that_is_not_utf8_is_a_4xx_problem(
    headers: dict[str, str], status: int, code: str
) -> None:
    # API Gateway (and the local invoker) base64-encode a body without a text Content-Type;
    # powertools decoded it as UTF-8 for the JSON route, and its UnicodeDecodeError was a 500.
    event = {
        "version": "2.0",
        "routeKey": "POST /things",
        "rawPath": "/things",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/things"}, "stage": "$default"},
        "body": base64.b64encode(b'{"name": "\xff"}').decode(),
        "isBase64Encoded": True,
    }
    answer = app.resolve(event, None)  # type: ignore[arg-type]

    assert answer["statusCode"] == status
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["code"] == code


@pytest.mark.parametrize(
    ("path", "error"), [("/bugs", "RuntimeError"), ("/value-bugs", "ValueError")]
)
def test_an_unhandled_error_is_a_500_logged_by_type_never_with_its_trace_or_message(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, path: str, error: str
) -> None:
    # An earlier test may have copied a function's powertools config onto the core's loggers,
    # which turns their propagation off: caplog listens at the root.
    monkeypatch.setattr(logging.getLogger("profilepics"), "propagate", True)
    with caplog.at_level(logging.DEBUG):
        answer = post('{"name": "ada"}', path)

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["code"] == "internal_error"
    assert SECRET not in answer["body"]
    (record,) = [r for r in caplog.records if r.name == "profilepics.http"]
    assert record.getMessage() == f"unhandled {error}"
    assert record.exc_info is None and record.exc_text is None and record.stack_info is None
    assert SECRET not in caplog.text and "Traceback" not in caplog.text
