"""Profile APIs: create, read, list and update the profiles a picture belongs to.

Public reads leave the e-mail address out; its owner reads it at GET /me, an admin at
GET /admin/users/{user_id}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from profilepics import deps
from profilepics import errors as e
from profilepics.http import (
    BODY_ERRORS,
    DATA_ERRORS,
    OWNER_ERRORS,
    PRIVATE,
    PROFILES,
    SIGNED_URLS,
    json_response,
    responses,
    wants_fresh,
)
from profilepics.lazy import module
from profilepics.observability import function_logger
from profilepics.routes import Later, Query, Response, Routes

if TYPE_CHECKING:
    from profilepics import models
else:
    models = module("profilepics.models")  # with the first request: lazy.py says why

SERVICE = "profiles"
logger = function_logger(SERVICE)
app = Routes()


@app.post(
    "/users",
    summary="Create a profile",
    description="The token's `sub` must be the new `user_id`, unless it is an admin's. The "
    "answer is the whole profile, e-mail included: it goes to its owner.",
    responses=Later(
        lambda: responses(
            {201: models.ProfilePrivate}, (e.UserExists, *BODY_ERRORS, *OWNER_ERRORS, *DATA_ERRORS)
        )
    ),
    tags=[PROFILES],
)
def create_user(body: models.ProfileCreate) -> Response[models.ProfilePrivate]:
    deps.authorizer().require_owner(app.current_event.raw_event, body.user_id)
    return json_response(deps.profiles().create(body), 201, PRIVATE)


@app.get(
    "/users",
    summary="List profiles, a page at a time",
    description="Pass the `next_cursor` of one page as `cursor` for the next; none means the end.",
    responses=Later(
        lambda: responses(
            {200: models.ProfilePage}, (e.BadRequest, e.ValidationFailed, *DATA_ERRORS)
        )
    ),
    tags=[PROFILES],
)
def list_users(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[models.ProfilePage]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    return json_response(deps.profiles().list(limit, cursor), headers=SIGNED_URLS)


@app.get(
    "/users/<user_id>",
    summary="Get a profile with its picture URLs (public: no e-mail)",
    description="Every URL is signed and works at once: the picture's, or a generated default. "
    "The e-mail address is private: its owner reads it at GET /me. The profile may be a "
    "second old; `Cache-Control: no-cache` reads the last write.",
    responses=Later(lambda: responses({200: models.ProfilePublic}, (e.UserNotFound, *DATA_ERRORS))),
    tags=[PROFILES],
)
def get_user(user_id: str) -> Response[models.ProfilePublic]:
    deps.authorizer().require_reader(app.current_event.raw_event)
    fresh = wants_fresh(app.current_event.headers)
    return json_response(deps.profiles().get(user_id, fresh=fresh), headers=SIGNED_URLS)


@app.patch(
    "/users/<user_id>",
    summary="Update a profile",
    description="The answer is the whole profile, e-mail included: it goes to its owner.",
    responses=Later(
        lambda: responses(
            {200: models.ProfilePrivate},
            (e.UserNotFound, e.Conflict, *BODY_ERRORS, *OWNER_ERRORS, *DATA_ERRORS),
        )
    ),
    tags=[PROFILES],
)
def update_user(user_id: str, body: models.ProfileUpdate) -> Response[models.ProfilePrivate]:
    deps.authorizer().require_owner(app.current_event.raw_event, user_id)
    return json_response(deps.profiles().update(user_id, body), headers=PRIVATE)


@app.get(
    "/me",
    summary="The caller's whole profile, e-mail included",
    description="The profile of the token's `sub`: the only read that shows its own e-mail.",
    responses=Later(
        lambda: responses(
            {200: models.ProfilePrivate}, (e.UserNotFound, e.Unauthorized, *DATA_ERRORS)
        )
    ),
    tags=[PROFILES],
)
def get_me() -> Response[models.ProfilePrivate]:
    caller = deps.authorizer().require_caller(app.current_event.raw_event)
    return json_response(deps.profiles().get_private(caller.sub), headers=PRIVATE)


@app.get(
    "/admin/users/<user_id>",
    summary="Any user's whole profile, e-mail included (admins only)",
    description="Needs a token with the admin scope or group.",
    responses=Later(
        lambda: responses(
            {200: models.ProfilePrivate}, (e.UserNotFound, *OWNER_ERRORS, *DATA_ERRORS)
        )
    ),
    tags=[PROFILES],
)
def get_user_as_admin(user_id: str) -> Response[models.ProfilePrivate]:
    deps.authorizer().require_admin(app.current_event.raw_event)
    return json_response(deps.profiles().get_private(user_id), headers=PRIVATE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
