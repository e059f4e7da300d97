"""Profile APIs: create, read, list and update the profiles a picture belongs to.

Public reads leave the e-mail address out; its owner reads it at GET /me, an admin at
GET /admin/users/{user_id}.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics.http import json_response, make_resolver
from profilepics.models import (
    ProfileCreate,
    ProfilePage,
    ProfilePrivate,
    ProfilePublic,
    ProfileUpdate,
)
from profilepics.observability import function_logger

logger = function_logger("profiles")
app = make_resolver()


@app.post("/users")
def create_user(body: ProfileCreate) -> Response[ProfilePrivate]:
    deps.authorizer().require_owner(app.current_event.raw_event, body.user_id)
    return json_response(deps.profiles().create(body), 201)


@app.get("/users")
def list_users(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[ProfilePage]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    return json_response(deps.profiles().list(limit, cursor))


@app.get("/users/<user_id>")
def get_user(user_id: str) -> Response[ProfilePublic]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    return json_response(deps.profiles().get(user_id))


@app.patch("/users/<user_id>")
def update_user(user_id: str, body: ProfileUpdate) -> Response[ProfilePrivate]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.profiles().update(user_id, body))


@app.get("/me")
def get_me() -> Response[ProfilePrivate]:
    caller = deps.authorizer().require_caller(app.current_event.raw_event)
    return json_response(deps.profiles().get_private(caller.sub))


@app.get("/admin/users/<user_id>")
def get_user_as_admin(user_id: str) -> Response[ProfilePrivate]:
    deps.authorizer().require_admin(app.current_event.raw_event)
    return json_response(deps.profiles().get_private(user_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
