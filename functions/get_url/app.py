"""Picture retrieval: a presigned URL for a size, as JSON or as a redirect for <img src>."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.http import make_resolver
from profilepics.models import PictureURL
from profilepics.observability import function_logger

logger = function_logger("get_url")
app = make_resolver()


@app.get("/users/<user_id>/picture")
def get_picture_url(
    user_id: str,
    size: Annotated[str, Query(max_length=16)] = "original",
    redirect: Annotated[bool, Query()] = False,
) -> Response[PictureURL | None]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    picture = deps.pictures().url(user_id, size)
    headers = {"Cache-Control": deps.pictures().cache_control(picture)}
    if redirect:
        return Response(302, headers={**headers, "Location": picture.url})
    return Response(200, "application/json", picture, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
