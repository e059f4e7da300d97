"""Shared HTTP glue for every function: the resolver, problem+json errors, JSON responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
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
    problem_type,
)

PROBLEM_JSON = "application/problem+json"
# Bodies powertools would parse into a dict for a JSON route: no route of ours takes them there.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LOC_PART_LIMIT = 64  # a field name in an error is cut here, so no error carries the body back
log = logging.getLogger(__name__)


def problem(error: ProblemError) -> Response[str]:
    body: dict[str, Any] = {
        "type": problem_type(error.code),
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


def _loc_part(part: object) -> str:
    text = str(part)
    return text if len(text) <= LOC_PART_LIMIT else text[: LOC_PART_LIMIT - 1] + "…"


def _invalid_request(errors: Sequence[Any]) -> ValidationFailed:
    # Only where and why: the offending input is not echoed back.
    fields = [
        {
            "loc": [_loc_part(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]
    return ValidationFailed("The request did not validate", errors=fields)


def _form_for_json_route(app: APIGatewayHttpResolver) -> bool:
    """A form body sent to a route whose body is JSON (curl -d sends forms by default)."""
    content_type = app.current_event.headers.get("content-type", "").strip().lower()
    if not content_type.startswith(FORM_TYPES):
        return False
    # Powertools keeps the matched route in the resolver's context while it handles a request.
    dependant = getattr(app.context.get("_route"), "dependant", None)
    return bool(getattr(dependant, "body_params", None))


def _send_json() -> UnsupportedContentType:
    return UnsupportedContentType("Send the body as application/json")


def make_resolver(enable_validation: bool = True) -> APIGatewayHttpResolver:
    """A resolver with every error mapped to problem+json."""
    app = APIGatewayHttpResolver(enable_validation=enable_validation)

    def _json_only(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        # Validation runs before any middleware and reads forms as dicts: a form that happened
        # to validate would still reach the route, so it is refused here too.
        if _form_for_json_route(app):
            raise _send_json()
        return next_middleware(app)

    app.use([_json_only])

    @app.exception_handler(ProblemError)
    def _problem(exc: ProblemError) -> Response[str]:
        return problem(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        if _form_for_json_route(app):
            return problem(_send_json())
        return problem(_invalid_request(exc.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        return problem(_send_json())

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
