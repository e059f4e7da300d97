"""An empty ApiBaseUrl: links back to the API use the domain each request came in on."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler import Response
from profilepics import deps, request_url
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.http import make_resolver
from profilepics.models import Profile
from profilepics.presenter import Presenter

from tests.fakes import FakeStore, FakeTable

DOMAIN = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"


def _event(domain: str | None = DOMAIN, stage: str = "$default", **headers: str) -> dict[str, Any]:
    # On the execute-api domain, a named stage leads the path.
    path = "/base" if stage == "$default" else f"/{stage}/base"
    context: dict[str, Any] = {"stage": stage, "http": {"method": "GET", "path": path}}
    if domain is not None:
        context["domainName"] = domain
    return {
        "version": "2.0",
        "routeKey": "GET /base",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_event(), f"https://{DOMAIN}"),
        (_event(stage="prod"), f"https://{DOMAIN}/prod"),
        (_event("pics.example.com", stage="prod"), "https://pics.example.com"),
        (_event("127.0.0.1:3000", **{"X-Forwarded-Proto": "http"}), "http://127.0.0.1:3000"),
        (_event(None), None),
        (_event("evil.example.com/phish?"), None),
        (_event("a b"), None),
    ],
)
def test_the_base_url_comes_from_the_events_domain_and_stage(
    event: dict[str, Any], expected: str | None
) -> None:
    assert request_url.base_url_of(event) == expected


def test_every_resolver_knows_the_base_url_only_while_it_handles_a_request() -> None:
    app = make_resolver()

    @app.get("/base")
    def base() -> Response[str]:
        return Response(200, "text/plain", request_url.current() or "none")

    result = app.resolve(_event(stage="prod"), cast(Any, None))

    assert result["body"] == f"https://{DOMAIN}/prod"
    assert request_url.current() is None


def _presenter(api_base_url: str) -> Presenter:
    settings = Settings(api_base_url=api_base_url)
    return deps.build(settings, store=FakeStore(), table=FakeTable()).presenter


def _ada() -> Profile:
    now = utcnow()
    return Profile(
        user_id="ada",
        display_name="Ada Lovelace",
        email="ada@example.com",
        created_at=now,
        updated_at=now,
    )


def test_default_picture_urls_are_absolute_when_api_base_url_is_empty() -> None:
    presenter = _presenter(api_base_url="")
    profile = _ada()

    with request_url.serving(_event()):
        public = presenter.profile(profile)

    assert public.profile_picture_url.startswith(f"https://{DOMAIN}/pictures/default?")
    assert all(u.startswith(f"https://{DOMAIN}/") for u in public.profile_picture_variants.values())
    body = json.loads(public.model_dump_json())
    assert body["profile_picture_url"] == public.profile_picture_url


def test_a_configured_api_base_url_wins_over_the_request() -> None:
    presenter = _presenter(api_base_url="https://api.example.com")
    profile = _ada()

    with request_url.serving(_event()):
        url = presenter.default_url(profile, "128").url

    assert url.startswith("https://api.example.com/pictures/default?")
