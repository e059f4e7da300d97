"""Picture writes: upload or replace, delete, and presigned direct-upload policies."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics import errors as e
from profilepics.bodies import read_image
from profilepics.http import (
    DATA_ERRORS,
    IMAGE_BODY,
    OWNER_ERRORS,
    json_response,
    make_resolver,
    responses,
)
from profilepics.metrics import counting_uploads
from profilepics.models import PicturePublic, UploadPolicy
from profilepics.observability import function_logger

SERVICE = "upload"
logger = function_logger(SERVICE)
app = make_resolver()
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
    responses=responses(
        {200: PicturePublic, 201: PicturePublic},
        (e.EmptyFile, e.MalformedMultipart, e.UserNotFound, e.Conflict, e.FileTooLarge)
        + IMAGE_ERRORS
        + OWNER_ERRORS
        + DATA_ERRORS,
    ),
    openapi_extensions={"requestBody": IMAGE_BODY},
    tags=[SERVICE],
    middlewares=[counting_uploads(deps.meter)],
)
def put_picture(user_id: str) -> Response[PicturePublic]:
    event = app.current_event
    deps.authorizer().require_owner(event.raw_event, user_id)
    data = read_image(
        event.headers, event.body, bool(event.is_base64_encoded), deps.settings().max_bytes
    )
    picture, first = deps.pictures().upload(user_id, data)
    return json_response(picture, 201 if first else 200)


@app.delete(
    "/users/<user_id>/picture",
    summary="Delete the picture; the profile falls back to the default",
    description="The profile stops pointing at the picture first, then its objects are removed.",
    responses=responses({204: None}, (e.UserNotFound, *OWNER_ERRORS, *DATA_ERRORS)),
    tags=[SERVICE],
)
def delete_picture(user_id: str) -> Response[None]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    deps.pictures().delete(user_id)
    return Response(204)


@app.post(
    "/users/<user_id>/picture/uploads",
    summary="Start a direct upload: a presigned POST policy for the store",
    description="For large files: the browser posts the form straight to the store, then the "
    "upload is validated and published like a PUT; `upload.state` on the profile tells how.",
    responses=responses({201: UploadPolicy}, (e.UserNotFound, *OWNER_ERRORS, *DATA_ERRORS)),
    tags=[SERVICE],
)
def start_direct_upload(user_id: str) -> Response[UploadPolicy]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.pictures().start_direct_upload(user_id), 201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
