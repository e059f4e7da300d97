"""Picture writes: upload or replace, delete, and presigned direct-upload policies."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.bodies import read_image
from profilepics.config import get_settings
from profilepics.http import json_response, make_resolver
from profilepics.metrics import counting_uploads
from profilepics.models import PicturePublic, UploadPolicy
from profilepics.observability import function_logger

logger = function_logger("upload")
app = make_resolver()


@app.put("/users/<user_id>/picture", middlewares=[counting_uploads(deps.meter)])
def put_picture(user_id: str) -> Response[PicturePublic]:
    event = app.current_event
    deps.authorizer().require_owner(event.raw_event, user_id)
    data = read_image(
        event.headers, event.body, bool(event.is_base64_encoded), get_settings().max_bytes
    )
    picture, first = deps.pictures().upload(user_id, data)
    return json_response(picture, 201 if first else 200)


@app.delete("/users/<user_id>/picture")
def delete_picture(user_id: str) -> Response[None]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    deps.pictures().delete(user_id)
    return Response(204)


@app.post("/users/<user_id>/picture/uploads")
def start_direct_upload(user_id: str) -> Response[UploadPolicy]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.pictures().start_direct_upload(user_id), 201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
