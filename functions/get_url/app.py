"""Picture retrieval: a presigned URL for a size, as JSON or as a redirect for <img src>."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics import errors as e
from profilepics.config import Settings
from profilepics.formats import ORIGINAL
from profilepics.http import DATA_ERRORS, PICTURES, make_resolver, responses, wants_fresh
from profilepics.models import PictureURL
from profilepics.observability import function_logger

SERVICE = "get_url"
logger = function_logger(SERVICE)
app = make_resolver()
# What Swagger offers: the default settings' sizes (a deployment's own are checked on each call).
SIZES = [ORIGINAL, *(variant.name for variant in Settings.model_construct().variants)]
REDIRECT: OpenAPIResponse = {
    "description": "With redirect=true: to the signed URL, so <img src> works",
    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    "content": {},
}


@app.get(
    "/users/<user_id>/picture",
    summary="A signed URL of the picture, or a 302 to it with redirect=true",
    description="`size` is `original`, a thumbnail size or `animated`; a thumbnail not made yet "
    "is served by the original, and a user without a picture gets the default picture's URL. "
    "The profile may be a second old; `Cache-Control: no-cache` reads the last write.",
    responses=responses(
        {200: PictureURL}, (e.UserNotFound, e.ValidationFailed, *DATA_ERRORS), {302: REDIRECT}
    ),
    tags=[PICTURES],
)
def get_picture_url(
    user_id: str,
    size: Annotated[
        str,
        Query(
            max_length=16,
            description="`original`, a thumbnail's width in pixels, or `animated` (an animated "
            "picture's moving thumbnail); these are the default settings' sizes",
            json_schema_extra={"enum": SIZES},
        ),
    ] = ORIGINAL,
    redirect: Annotated[bool, Query()] = False,
) -> Response[PictureURL | None]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    fresh = wants_fresh(app.current_event.headers)
    picture = deps.pictures().url(user_id, size, fresh=fresh)
    headers = {"Cache-Control": deps.pictures().cache_control(picture)}
    if redirect:
        return Response(302, headers={**headers, "Location": picture.url})
    return Response(200, "application/json", picture, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
