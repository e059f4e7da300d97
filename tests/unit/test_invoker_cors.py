"""The invoker's CORS: what template.yaml's CorsConfiguration makes an HTTP API answer."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
from pydantic import ValidationError

from infra.invoker.cors import Cors
from infra.invoker.replies import Reply
from infra.invoker.template import load
from infra.local import LocalSettings, with_local_cors

ROOT = Path(__file__).resolve().parents[2]
LISTED = Cors(
    origins=("https://app.example.com",),
    methods=("GET", "PUT"),
    headers=("authorization",),
    expose=("etag",),
    max_age=600,
)


def test_the_template_s_configuration_is_read_with_its_parameter_s_default() -> None:
    cors = load(ROOT / "template.yaml").cors

    assert cors == Cors(
        origins=("*",),
        methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        headers=("authorization", "content-type", "if-none-match", "cache-control"),
        expose=("etag", "location", "picture-size", "picture-format"),
        max_age=600,
    )


def test_a_comma_delimited_parameter_lists_each_origin() -> None:
    parameters = {
        "Origins": {"Type": "CommaDelimitedList", "Default": "https://a.test, https://b.test"}
    }

    cors = Cors.of({"AllowOrigins": {"Ref": "Origins"}}, parameters)

    assert cors.origins == ("https://a.test", "https://b.test")


def test_a_preflight_from_a_listed_origin_gets_the_configuration() -> None:
    reply = LISTED.preflight(
        {"origin": "https://APP.example.com", "access-control-request-method": "PUT"}
    )

    assert reply is not None and reply.status == 204
    assert dict(reply.headers) == {
        "Access-Control-Allow-Origin": "https://APP.example.com",
        "Vary": "Origin",
        "Access-Control-Allow-Methods": "GET,PUT",
        "Access-Control-Allow-Headers": "authorization",
        "Access-Control-Max-Age": "600",
    }


def test_a_preflight_from_another_origin_gets_no_cors_headers() -> None:
    reply = LISTED.preflight(
        {"origin": "https://evil.test", "access-control-request-method": "PUT"}
    )

    assert reply is not None and (reply.status, reply.headers) == (204, [])


def test_an_options_request_that_is_no_preflight_is_not_answered_by_the_gateway() -> None:
    assert LISTED.preflight({"origin": "https://app.example.com"}) is None
    assert LISTED.preflight({"access-control-request-method": "PUT"}) is None


def test_answers_carry_the_configured_headers_in_place_of_the_function_s() -> None:
    sent = [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "https://x.test")]

    listed = LISTED.apply(Reply(200, list(sent)), {"origin": "https://app.example.com"})
    other = LISTED.apply(Reply(200, list(sent)), {"origin": "https://evil.test"})
    without = LISTED.apply(Reply(200, list(sent)), {})

    assert dict(listed.headers) == {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": "https://app.example.com",
        "Vary": "Origin",
        "Access-Control-Expose-Headers": "etag",
    }
    assert other.headers == without.headers == [("Content-Type", "application/json")]


def test_any_origin_is_answered_with_a_star_and_credentials_only_when_configured() -> None:
    anyone = Cors(origins=("*",))
    with_credentials = Cors(origins=("https://app.example.com",), credentials=True)

    assert dict(anyone.apply(Reply(200), {"origin": "https://z.test"}).headers) == {
        "Access-Control-Allow-Origin": "*"
    }
    applied = with_credentials.apply(Reply(200), {"origin": "https://app.example.com"}).headers
    assert ("Access-Control-Allow-Credentials", "true") in applied


def _local(origins: str | None) -> LocalSettings:
    env = {} if origins is None else {"PROFILEPICS_CORS_ALLOWED_ORIGINS": origins}
    with mock.patch.dict(os.environ, env, clear=True):
        return LocalSettings()


def test_the_operator_s_origins_replace_only_the_template_s_default() -> None:
    template = load(ROOT / "template.yaml")
    assert template.cors is not None

    chosen = with_local_cors(template, _local(" https://a.test ,http://127.0.0.1:5173,"))

    assert chosen.cors == replace(
        template.cors, origins=("https://a.test", "http://127.0.0.1:5173")
    )
    assert with_local_cors(template, _local(None)) is template
    assert with_local_cors(template, _local("")) is template


@pytest.mark.parametrize(
    "origins",
    [
        "https://a.test/",
        "https://a.test/app",
        "a.test",
        "ftp://a.test",
        "https://u@a.test",
        "https://a.test:port",
        "https://a.test?x",
        "https://a.test,null",
    ],
)
def test_an_origin_that_is_no_origin_is_refused_naming_the_variable(origins: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _local(origins)

    assert refused.value.errors()[0]["loc"] == ("cors_allowed_origins",)
