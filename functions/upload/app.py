"""Picture writes: upload or replace, re-crop, delete, and presigned direct-upload policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics import errors as e
from profilepics.bodies import read_image
from profilepics.http import (
    DATA_ERRORS,
    IMAGE_BODY,
    OWNER_ERRORS,
    PICTURES,
    json_response,
    responses,
)
from profilepics.lazy import module
from profilepics.metrics import counting_uploads
from profilepics.observability import function_logger
from profilepics.routes import Body, Later, Query, Response, Routes

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import Example
    from profilepics import crop as crops
    from profilepics import models
else:
    # With the first request: lazy.py says why.
    crops, models = module("profilepics.crop"), module("profilepics.models")

SERVICE = "upload"
logger = function_logger(SERVICE)
app = Routes()
DIRECT_UPLOAD = """For large files: the client posts the file straight to the store.

1. Call this with the file's `content_type` and `size` (both optional; declared, the policy
   takes exactly them, and `Content-Type` is in `fields`).
2. POST `multipart/form-data` to `url`: every entry of `fields` as it is, then the file as the
   last part, named `file`. The store answers 204. Any S3 POST client does this, e.g.
   `curl -F key=… -F policy=… … -F file=@photo.jpg URL`.
3. The store's object-created event runs the same checks as `PUT /users/{user_id}/picture`;
   poll `GET /users/{user_id}`: `upload.state` turns `done` (the picture is published) or
   `failed` with `upload.error_code`.

The policy lasts 10 minutes and names one key under `uploads/`."""
# Plain dicts, which the OpenAPI document validates into Examples when it is generated:
# importing powertools' OpenAPI models to build them here cost every cold start ~100 ms.
EXAMPLES = {
    "declared": {
        "summary": "type and size",
        "value": {"content_type": "image/jpeg", "size": 48213},
    },
    "nothing": {"summary": "nothing declared (any size up to the limit)", "value": {}},
}
IMAGE_ERRORS = (
    e.UnsupportedMediaType,
    e.ImageCorrupt,
    e.ImageTruncated,
    e.ImageTooLarge,
    e.ImageTooComplex,
    e.ImageTooSmall,
)


@app.put(
    "/users/<user_id>/picture",
    summary="Upload or replace the picture (201 for the first one)",
    description="Validated by its content, cleaned (orientation applied, metadata removed) and "
    "stored under a new key; thumbnails follow (`status` is `processing` until they are made).",
    responses=Later(
        lambda: responses(
            {200: models.PicturePublic, 201: models.PicturePublic},
            (e.EmptyFile, e.MalformedMultipart, e.UserNotFound, e.Conflict, e.FileTooLarge)
            + (e.InvalidCrop, *IMAGE_ERRORS)
            + OWNER_ERRORS
            + DATA_ERRORS,
        )
    ),
    openapi_extensions={"requestBody": IMAGE_BODY},
    tags=[PICTURES],
    middlewares=[counting_uploads(deps.meter)],
)
def put_picture(
    user_id: str,
    crop: Annotated[
        str | None,
        Query(
            max_length=32,
            description="`x,y,w,h`: the square of the upright picture its variants show, in "
            "pixels (default: the centred square; a portrait's sits a little higher)",
            examples=["0,40,480,480"],
        ),
    ] = None,
) -> Response[models.PicturePublic]:
    event = app.current_event
    deps.authorizer().require_owner(event.raw_event, user_id)
    square = crops.parse(crop) if crop is not None else None
    data = read_image(
        event.headers, event.body, bool(event.is_base64_encoded), deps.settings().max_bytes
    )
    picture, first = deps.pictures().upload(user_id, data, square)
    return json_response(picture, 201 if first else 200)


@app.patch(
    "/users/<user_id>/picture",
    summary="Re-crop the picture: variants of another square, no new upload",
    description="The variants of the new square are made from the stored original; the picture "
    "switches to them and the square in one conditional write, and the old ones are retired "
    "(the sweep deletes them once the URLs handed out for them have expired). Only a ready "
    "picture (else 409); the same square again changes nothing.",
    responses=Later(
        lambda: responses(
            {200: models.PicturePublic},
            (e.UserNotFound, e.PictureNotFound, e.InvalidCrop, e.Conflict, e.ValidationFailed)
            + OWNER_ERRORS
            + DATA_ERRORS,
        )
    ),
    tags=[PICTURES],
)
def recrop_picture(
    user_id: str, body: Annotated[models.PictureUpdate, Body(description="The new square")]
) -> Response[models.PicturePublic]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.recrops().recrop(user_id, body.crop), 200)


@app.delete(
    "/users/<user_id>/picture",
    summary="Delete the picture; the profile falls back to the default",
    description="The profile stops pointing at the picture first, then its objects are removed.",
    responses=Later(lambda: responses({204: None}, (e.UserNotFound, *OWNER_ERRORS, *DATA_ERRORS))),
    tags=[PICTURES],
)
def delete_picture(user_id: str) -> Response[None]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    deps.pictures().delete(user_id)
    return Response(204)


@app.post(
    "/users/<user_id>/picture/uploads",
    summary="Start a direct upload: a presigned POST policy for the store",
    description=DIRECT_UPLOAD,
    responses=Later(
        lambda: responses(
            {201: models.UploadPolicy},
            (e.UserNotFound, e.FileTooLarge, e.UnsupportedContentType, e.ValidationFailed)
            + (e.InvalidCrop,)
            + OWNER_ERRORS
            + DATA_ERRORS,
        )
    ),
    tags=[PICTURES],
)
def start_direct_upload(
    user_id: str,
    body: Annotated[
        models.UploadRequest | None,
        Body(
            description="Optional: what the file will be, so the policy takes exactly that",
            # Quoted: Example is imported for type checkers only.
            openapi_examples=cast("dict[str, Example]", EXAMPLES),  # noqa: UP037
        ),
    ] = None,
) -> Response[models.UploadPolicy]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.pictures().start_direct_upload(user_id, body), 201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
