"""Shared HTTP glue for every function: the resolver, problem+json errors, JSON responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, ValidationError

from profilepics.errors import (
    MalformedMultipart,
    ProblemError,
    RouteNotFound,
    UnsupportedContentType,
    ValidationFailed,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


def problem(error: ProblemError) -> Response[str]:
    body: dict[str, Any] = {
        "type": f"https://profilepics.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        **error.extra,
    }
    headers = {"Cache-Control": "no-store"}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(error.status, PROBLEM_JSON, json.dumps(body), headers)


M = TypeVar("M", bound=BaseModel)


def json_response(
    model: M, status: int = 200, headers: dict[str, str] | None = None
) -> Response[M]:
    """A JSON response; the resolver serialises the model against the route's return type."""
    return Response(status, "application/json", model, headers)


def _invalid_request(errors: Sequence[Any]) -> ValidationFailed:
    # Only where and why: the offending input is not echoed back.
    fields = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]
    return ValidationFailed("The request did not validate", errors=fields)


def json_body(text: str) -> Any:
    """json.loads for request bodies: JSON nested deeper than the parser can go is malformed too.

    The stdlib parser recurses per level and raises RecursionError (not a JSONDecodeError) at about
    1,000 levels; powertools answers a JSONDecodeError as the 422 of any other malformed body.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", text, 0) from None


def make_resolver(enable_validation: bool = True) -> APIGatewayHttpResolver:
    """A resolver with every error mapped to problem+json."""
    app = APIGatewayHttpResolver(
        enable_validation=enable_validation, json_body_deserializer=json_body
    )

    @app.exception_handler(ProblemError)
    def _problem(exc: ProblemError) -> Response[str]:
        return problem(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        return problem(_invalid_request(exc.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        return problem(UnsupportedContentType("Send the body as application/json"))

    @app.exception_handler(ValidationError)
    def _invalid_model(exc: ValidationError) -> Response[str]:
        return problem(_invalid_request(exc.errors()))

    @app.not_found
    def _missing(_: Exception) -> Response[str]:
        return problem(RouteNotFound())

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        log.error("unhandled %s", type(exc).__name__)
        return problem(ProblemError())

    @app.exception_handler(ValueError)
    def _unreadable(exc: ValueError) -> Response[str]:
        # Powertools' body parsing raises a bare ValueError for a multipart body it can't read
        # (no boundary, say); any other ValueError is still a bug.
        content_type = app.current_event.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            return problem(MalformedMultipart("The multipart body could not be parsed"))
        log.error("unhandled %s", type(exc).__name__)
        return problem(ProblemError())

    return app
