"""Picture retrieval: a signed URL for a size and format, as JSON or a redirect for <img src>."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics import errors as e
from profilepics.formats import ImageFormat, VariantFormat
from profilepics.http import DATA_ERRORS, PICTURES, responses, wants_fresh
from profilepics.lazy import module
from profilepics.observability import function_logger
from profilepics.routes import Later, Query, Response, Routes

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import (
        OpenAPIResponse,
        OpenAPIResponseHeader,
    )
    from profilepics import models
else:
    models = module("profilepics.models")  # with the first request: lazy.py says why

SERVICE = "get_url"
logger = function_logger(SERVICE)
app = Routes()


class Edge(int):
    """A square's edge in pixels, within the deployment's bounds (the defaults in openapi.json):
    read from settings when the resolver is built, so that importing this validates none."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from profilepics.config import get_settings
        from pydantic_core import core_schema

        bounds = get_settings()
        return core_schema.int_schema(ge=bounds.min_variant_size, le=bounds.max_variant_size)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        return {**handler(schema), "title": "Pixels"}


SERVED: dict[str, OpenAPIResponseHeader] = {
    "Picture-Size": {"description": "The size served", "schema": {"type": "string"}},
    "Picture-Format": {"description": "The format served", "schema": {"type": "string"}},
}
REDIRECT: OpenAPIResponse = {
    "description": "With redirect=true: to the signed URL, so <img src> works. Without `format`, "
    "the format follows `Accept` and the answer carries `Vary: Accept`.",
    "headers": {
        "Location": {"schema": {"type": "string", "format": "uri"}},
        "Vary": {"schema": {"type": "string"}},
        **SERVED,
    },
    "content": {},
}


@app.get(
    "/users/<user_id>/picture",
    summary="A signed URL of the picture, or a 302 to it with redirect=true",
    description="`size` is `original`, an edge in pixels or `animated`. A size or format not "
    "stored yet is made on this request from the nearest larger stored variant (or the "
    "original), and stored for the next; a picture has at most PROFILEPICS_MAX_EXTRA_SIZES "
    "sizes made so, after which the nearest stored size is served (`size` in the answer, and "
    "its `Picture-Size` header, say which). While the picture is processing, the original is "
    "served. A user without a picture gets the default picture's URL. The profile may be a "
    "second old; `Cache-Control: no-cache` reads the last write.",
    responses=Later(
        lambda: responses(
            {200: models.PictureURL},
            (e.UserNotFound, e.ValidationFailed, *DATA_ERRORS),
            {302: REDIRECT},
        )
    ),
    tags=[PICTURES],
)
def get_picture_url(
    user_id: str,
    size: Annotated[
        Edge | Literal["original", "animated"],
        Query(description="`original`, `animated`, or the square's edge in pixels"),
    ] = "original",
    format: Annotated[
        VariantFormat | None,
        Query(description="The variant's format; without it, redirects follow `Accept`"),
    ] = None,
    redirect: Annotated[bool, Query()] = False,
) -> Response[models.PictureURL | None]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    negotiated = redirect and format is None
    accept = app.current_event.headers.get("accept", "") if negotiated else None
    fmt = ImageFormat(format) if format else None
    fresh = wants_fresh(app.current_event.headers)
    picture = deps.pictures().url(user_id, size, fmt, accept, fresh=fresh)
    headers = {
        "Cache-Control": deps.pictures().cache_control(picture),
        "Picture-Size": picture.size,
        **({"Picture-Format": picture.format} if picture.format else {}),
        **({"Vary": "Accept"} if negotiated else {}),
    }
    if redirect:
        return Response(302, headers={**headers, "Location": picture.url})
    return Response(200, "application/json", picture, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
