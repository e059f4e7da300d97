"""The default picture: a PNG of initials on a colour from the user id, cacheable by ETag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics.errors import ValidationFailed
from profilepics.http import BINARY, PICTURES, query_parameters, responses
from profilepics.lazy import module
from profilepics.observability import function_logger
from profilepics.routes import Later, Response, Routes

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader
    from profilepics import defaults

else:
    defaults = module("profilepics.defaults")  # with the first request: lazy.py says why

SERVICE = "default_picture"
logger = function_logger(SERVICE)
# A PNG body is not JSON: validation would try to serialise it, so the query is parsed here.
app = Routes(enable_validation=False)
CACHE_CONTROL = "public, max-age=86400"
CACHE_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "ETag": {"schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}


@app.get(
    "/pictures/default",
    summary="The generated default picture (initials on a colour)",
    description="The same name and seed always give the same picture, so it is cached by ETag.",
    operation_id="default_picture",
    responses=Later(
        lambda: responses(
            {},
            (ValidationFailed,),
            {
                200: {
                    "description": "A PNG of the name's initials on a colour from the seed",
                    "headers": CACHE_HEADERS,
                    "content": {"image/png": {"schema": BINARY}},
                },
                304: {"description": "The client's copy (If-None-Match) is current", "content": {}},
            },
        )
    ),
    openapi_extensions=Later(
        lambda: {"parameters": [*query_parameters(defaults.DefaultQuery), IF_NONE_MATCH]}
    ),
    tags=[PICTURES],
)
def default_picture() -> Response[bytes]:
    event = app.current_event
    query = defaults.DefaultQuery.model_validate(event.query_string_parameters or {})
    tag, png = defaults.negotiate(query, event.headers.get("if-none-match"))
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if png is None:
        return Response(304, headers=headers)
    return Response(200, "image/png", png, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
