"""Shared HTTP glue for every function: the resolver, problem+json errors, JSON responses, and
the pieces each route's documentation (on its decorator) is made of."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from profilepics import request_url
from profilepics.errors import (
    PROBLEM_JSON,
    Forbidden,
    MalformedMultipart,
    ProblemError,
    RouteNotFound,
    StorageUnavailable,
    TableUnavailable,
    Unauthorized,
    UnsupportedContentType,
    ValidationFailed,
)
from profilepics.formats import UPLOAD_FORMATS
from profilepics.routes import Response

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from pydantic import BaseModel

# Bodies powertools would parse into a dict for a JSON route: no route of ours takes them there.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LOC_PART_LIMIT = 64  # a field name in an error is cut here, so no error carries the body back
log = logging.getLogger(__name__)
Errors = tuple[type[ProblemError], ...]
# What every route of a kind may answer, for the routes' documentation.
BODY_ERRORS: Errors = (MalformedMultipart, UnsupportedContentType, ValidationFailed)
OWNER_ERRORS: Errors = (Unauthorized, Forbidden)
DATA_ERRORS: Errors = (StorageUnavailable, TableUnavailable)
BINARY = {"type": "string", "format": "binary"}
# Operations are grouped by what they act on, whichever function serves them.
PROFILES, PICTURES = "profiles", "pictures"
TAGS = {
    PROFILES: "Who a picture belongs to. Public reads never include the e-mail address.",
    PICTURES: "Upload, replace, delete and fetch pictures and their thumbnails.",
}
# The upload route reads its body itself (bodies.read_image): its OpenAPI requestBody.
IMAGE_BODY = {
    "required": True,
    "description": "The image as the raw body, or a multipart form with a `file` field. "
    "The format is decided by the content, never by the name or the header.",
    "content": {
        **{f.content_type: {"schema": BINARY} for f in UPLOAD_FORMATS},
        "application/octet-stream": {"schema": BINARY},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": BINARY}, "required": ["file"]}
        },
    },
}


def problem(error: ProblemError) -> Response[str]:
    headers = {"Cache-Control": "no-store"}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(error.status, PROBLEM_JSON, json.dumps(error.body()), headers)


M = TypeVar("M", bound="BaseModel")
# Profile answers carry signed URLs that expire: with no Cache-Control a CDN in front keeps
# them for its default TTL (CloudFront's: a day). A public view may be stored by the reader
# but revalidated each time; the whole profile (the e-mail) is never stored.
SIGNED_URLS = {"Cache-Control": "private, no-cache"}
PRIVATE = {"Cache-Control": "no-store"}


def json_response(
    model: M, status: int = 200, headers: dict[str, str] | None = None
) -> Response[M]:
    """A JSON response; the resolver serialises the model against the route's return type."""
    # A copy: the Response adds its Content-Type to the dict it is given (shared constants).
    return Response(status, "application/json", model, dict(headers or {}))


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


def wants_fresh(headers: Mapping[str, str]) -> bool:
    """Whether a reader asks for what was last written (`Cache-Control: no-cache` or
    `max-age=0`), not a profile an instance read a moment ago (recent.py)."""
    directives = {part.strip().lower() for part in headers.get("cache-control", "").split(",")}
    return bool(directives & {"no-cache", "max-age=0", "no-store"})


def json_body(text: str) -> Any:
    """json.loads for request bodies: JSON nested deeper than the parser can go is malformed too.

    The stdlib parser recurses per level and raises RecursionError (not a JSONDecodeError) at about
    1,000 levels, and a bare ValueError for an integer of more than 4,300 digits (Python's limit
    on converting them); powertools answers a JSONDecodeError as the 422 of any other malformed
    body, and a bare ValueError as a bug.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        raise json.JSONDecodeError("JSON number too long", text, 0) from None


def _undecodable_body(app: APIGatewayHttpResolver) -> bool:
    """A base64 body (API Gateway sends one for a request without a text Content-Type) that is
    not UTF-8: powertools decodes it as text for a JSON route and raises UnicodeDecodeError."""
    event = app.current_event
    if not event.is_base64_encoded or not event.body:
        return False
    try:
        base64.b64decode(event.body).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        return True
    return False


def _within_request_url(
    app: APIGatewayHttpResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    with request_url.serving(app.current_event.raw_event):
        return next_middleware(app)


def _json_only(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    # Validation runs before any middleware and reads forms as dicts: a form that happened to
    # validate would still reach the route, so it is refused here too.
    if _form_for_json_route(app):
        raise _send_json()
    return next_middleware(app)


def make_resolver(enable_validation: bool = True) -> APIGatewayHttpResolver:
    """A resolver with every error mapped to problem+json, and each request's own base URL."""
    # Powertools' event handler loads on the first request (routes.py says why).
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from pydantic import ValidationError

    from profilepics.config import get_settings

    # Invalid settings fail here, before any request is dispatched, as they failed the import
    # when it read them: raised inside a route, the errors below would answer for them.
    get_settings()
    from aws_lambda_powertools.event_handler.openapi.exceptions import (
        RequestUnsupportedContentType,
        RequestValidationError,
    )

    app = APIGatewayHttpResolver(
        enable_validation=enable_validation, json_body_deserializer=json_body
    )
    app.use(middlewares=[_within_request_url, _json_only])

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
        # (no boundary, say), and a UnicodeDecodeError for a binary body that is not UTF-8;
        # any other ValueError is still a bug.
        content_type = app.current_event.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            return problem(MalformedMultipart("The multipart body could not be parsed"))
        if _undecodable_body(app):
            error = {"loc": ("body",), "msg": "The body is not UTF-8 text", "type": "json_invalid"}
            return problem(_invalid_request([error]))
        log.error("unhandled %s", type(exc).__name__)
        return problem(ProblemError())

    return app


def responses(
    ok: Mapping[int, type[BaseModel] | None],
    errors: Errors = (),
    more: Mapping[int, OpenAPIResponse] | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's documented answers: its success statuses (with the body's model, or none),
    then each error status with the problem codes it may carry and an example of each."""
    from profilepics.models import Problem  # when the resolver is built (lazy.py)

    documented: dict[int, OpenAPIResponse] = {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"model": model}} if model else {},
        }
        for status, model in ok.items()
    }
    documented.update(more or {})
    by_status: dict[int, list[type[ProblemError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    for status, kinds in sorted(by_status.items()):
        examples = {kind.code: {"summary": kind.title, "value": kind().body()} for kind in kinds}
        documented[status] = {
            "description": "; ".join(f"`{kind.code}`: {kind.title}" for kind in kinds),
            "content": {PROBLEM_JSON: {"model": Problem, "examples": examples}},
        }
    return documented


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters for a model a route validates by hand."""
    properties = model.model_json_schema()["properties"]
    return [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in properties.items()
    ]
