"""The default picture: a PNG of initials on a colour from the user id, cacheable by ETag."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import defaults
from profilepics.http import make_resolver
from profilepics.observability import function_logger

logger = function_logger("default_picture")
# A PNG body is not JSON: validation would try to serialise it, so the query is parsed here.
app = make_resolver(enable_validation=False)
CACHE_CONTROL = "public, max-age=86400"


@app.get("/pictures/default")
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
