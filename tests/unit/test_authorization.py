"""Who may do what, from the claims API Gateway's JWT authorizer (or the invoker) verified."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from profilepics.auth import Authorizer, Caller
from profilepics.config import Settings
from profilepics.errors import Forbidden, Unauthorized

from infra.invoker.jwt_auth import Authenticator, issue


def _event(**claims: str) -> dict[str, Any]:
    if not claims:
        return {"requestContext": {}}
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}


def test_the_owner_may_write_and_others_may_not() -> None:
    auth = Authorizer(Settings())
    assert auth.require_owner(_event(sub="ada"), "ada").sub == "ada"
    with pytest.raises(Forbidden):
        auth.require_owner(_event(sub="eve"), "ada")
    with pytest.raises(Unauthorized):
        auth.require_owner(_event(), "ada")


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": "openid profilepics/admin"},
        {"cognito:groups": "[users admin]"},
        {"groups": "admin"},
    ],
)
def test_an_admin_scope_or_group_may_write_for_anyone(claims: dict[str, str]) -> None:
    caller = Authorizer(Settings()).require_owner(_event(sub="ops", **claims), "ada")
    assert caller.admin


def test_a_similar_scope_is_not_admin() -> None:
    with pytest.raises(Forbidden):
        Authorizer(Settings()).require_owner(_event(sub="eve", scope="profilepics/admins"), "ada")


def test_reads_are_public_unless_configured_otherwise() -> None:
    Authorizer(Settings()).require_reader(_event())
    private = Authorizer(Settings(public_reads=False))
    private.require_reader(_event(sub="ada"))
    with pytest.raises(Unauthorized):
        private.require_reader(_event())


def test_the_invoker_hands_on_verified_claims_as_strings() -> None:
    secret = "s" * 40
    authenticate = Authenticator(secret, "iss", "aud")
    token = issue(secret, "iss", "aud", "ada", "profilepics/admin", 60)
    claims = authenticate({"authorization": f"Bearer {token}"})
    assert claims["sub"] == "ada"
    assert claims["scope"] == "profilepics/admin"
    assert all(isinstance(value, str) for value in claims.values())


def _claims_of(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {"sub": "ops", "iss": "iss", "aud": "aud", "iat": now, "exp": now + 60, **extra}
    token = jwt.encode(payload, "s" * 40, algorithm="HS256")
    return Authenticator("s" * 40, "iss", "aud")({"authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("claim", "rendered"),
    [
        (["admin"], "[admin]"),
        (["admin", "ops"], "[admin ops]"),
        ([], "[]"),
        ([1, True, "x"], "[1 true x]"),
        (True, "true"),
        (False, "false"),
        (1700000000, "1700000000"),
        (2.5, "2.5"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
        ("plain words", "plain words"),
    ],
)
def test_the_invoker_renders_claims_as_api_gateway_does(claim: Any, rendered: str) -> None:
    assert _claims_of(custom=claim)["custom"] == rendered


def test_a_groups_list_claim_makes_an_admin_as_on_aws() -> None:
    claims = _claims_of(groups=["staff", "admin"], aud=["aud", "other"])
    assert claims["groups"] == "[staff admin]"
    assert claims["aud"] == "[aud other]"
    event = {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}
    assert Authorizer(Settings()).require_owner(event, "ada").admin


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic abc",
        "Bearer ",
        "Bearer " + issue("s" * 40, "other-issuer", "aud", "ada", None, 60),
        "Bearer " + issue("s" * 40, "iss", "other-audience", "ada", None, 60),
        "Bearer " + issue("s" * 40, "iss", "aud", "ada", None, -5),
        "Bearer " + issue("x" * 40, "iss", "aud", "ada", None, 60),
    ],
)
def test_the_invoker_refuses_missing_foreign_or_expired_tokens(header: str) -> None:
    with pytest.raises(PermissionError):
        Authenticator("s" * 40, "iss", "aud")({"authorization": header})


def test_only_a_token_holder_reads_their_own_whole_profile_and_only_admins_anyones() -> None:
    auth = Authorizer(Settings())
    assert auth.require_caller(_event(sub="ada")).sub == "ada"
    with pytest.raises(Unauthorized):
        auth.require_caller(_event())
    assert auth.require_admin(_event(sub="ops", scope="profilepics/admin")).admin
    with pytest.raises(Forbidden):
        auth.require_admin(_event(sub="ada"))
    with pytest.raises(Unauthorized):
        auth.require_admin(_event())


def test_each_refusal_says_what_the_caller_may_do_about_it() -> None:
    auth, private = Authorizer(Settings()), Authorizer(Settings(public_reads=False))
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: auth.require_caller(_event()), "Send a bearer token"),
        (lambda: auth.require_admin(_event(sub="eve")), "Only an admin may read another user's"),
        (lambda: auth.require_owner(_event(sub="eve"), "ada"), "You may change only your own"),
        (lambda: private.require_reader(_event()), "Reads need a bearer token on this deploy"),
    ]
    for refuse, detail in refusals:
        with pytest.raises((Unauthorized, Forbidden)) as refused:
            refuse()
        assert refused.value.detail.startswith(detail)


def test_an_event_without_a_request_context_is_an_anonymous_caller() -> None:
    auth = Authorizer(Settings())
    assert auth.caller({}) is None
    auth.require_reader({})
    with pytest.raises(Unauthorized):
        auth.require_caller({})


@pytest.mark.parametrize(
    "groups", [["staff", "admin"], ("admin",), "staff,admin", "[staff,admin]", "staff, admin"]
)
def test_a_groups_claim_as_a_list_or_with_commas_makes_an_admin(groups: Any) -> None:
    event = {
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "ops", "groups": groups}}}}
    }
    assert Authorizer(Settings()).require_owner(event, "ada").admin


def test_a_missing_or_empty_groups_claim_is_no_group() -> None:
    for claims in ({"sub": "eve"}, {"sub": "eve", "groups": ""}, {"sub": "eve", "groups": None}):
        event = {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}
        assert Authorizer(Settings()).caller(event) == Caller("eve", False)
