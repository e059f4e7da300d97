"""The local stack's pages: server limits for the page, dev tokens, static files, Swagger UI's."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from profilepics.config import Settings

from infra.invoker.pages import Pages, own_hosts

SETTINGS = Settings(
    max_bytes=1234,
    allowed_formats=["png", "webp"],
    thumbnail_sizes=[64, 256],
    s3_endpoint="http://127.0.0.1:9000",
    public_s3_endpoint="https://store.example.test:8443",
)


@pytest.fixture
def web(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "app.js").write_text("'use strict';")
    swagger = tmp_path / "node_modules" / "swagger-ui-dist"
    swagger.mkdir(parents=True)
    (swagger / "swagger-ui.css").write_text("body {}")
    (swagger / "package.json").write_text("{}")
    (tmp_path / "openapi.json").write_text('{"openapi": "3.1.0"}')
    return tmp_path


OWN = {"host": "127.0.0.1:3000"}


def pages(web: Path, issuer: bool = False) -> Pages:
    issue = (lambda user_id: jwt.encode({"sub": user_id}, "k" * 32)) if issuer else None
    hosts = own_hosts("127.0.0.1", 3000)
    return Pages(SETTINGS, issue, directory=web, spec=web / "openapi.json", own_hosts=hosts)


def test_config_json_carries_the_server_limits_so_the_page_never_hard_codes_them(web: Path) -> None:
    reply = pages(web)("/config.json", {})

    assert reply is not None and reply.status == 200
    config = json.loads(reply.body)
    assert config["max_bytes"] == 1234
    assert config["allowed_types"] == ["image/png", "image/webp"]
    assert config["thumbnail_sizes"] == [64, 256]
    assert config["store_origin"] == "https://store.example.test:8443"
    assert config["dev_tokens"] is False


def test_dev_tokens_are_served_only_by_the_pages_of_the_local_stack(web: Path) -> None:
    assert pages(web)("/_dev/token/ada", {}) is None

    reply = pages(web, issuer=True)("/_dev/token/ada", OWN)
    assert reply is not None and reply.status == 200
    token = json.loads(reply.body)["token"]
    assert jwt.decode(token, "k" * 32, algorithms=["HS256"])["sub"] == "ada"
    assert ("Cache-Control", "no-store") in reply.headers


def test_a_dev_token_for_something_that_is_not_a_user_id_is_refused(web: Path) -> None:
    reply = pages(web, issuer=True)("/_dev/token/..%2F..", OWN)

    assert reply is not None and reply.status == 422
    assert json.loads(reply.body)["code"] == "validation_error"


def test_the_page_revalidates_by_etag_and_may_load_images_from_the_store_only(web: Path) -> None:
    first = pages(web)("/", {})
    assert first is not None and first.status == 200
    headers = dict(first.headers)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://store.example.test:8443;" in csp
    assert "default-src 'self'" in csp

    again = pages(web)("/", {"if-none-match": headers["ETag"]})
    assert again is not None and again.status == 304 and again.body == b""


def test_only_swagger_ui_s_own_files_are_served_from_its_package(web: Path) -> None:
    css = pages(web)("/docs/swagger-ui.css", {})
    assert css is not None and css.status == 200 and css.body == b"body {}"
    assert pages(web)("/docs/package.json", {}) is None
    assert pages(web)("/docs/../../openapi.json", {}) is None


def test_the_committed_openapi_document_is_served(web: Path) -> None:
    reply = pages(web)("/openapi.json", {})

    assert reply is not None and reply.status == 200
    assert json.loads(reply.body) == {"openapi": "3.1.0"}
    assert dict(reply.headers)["Content-Type"] == "application/json"


def test_a_missing_file_says_how_to_install_it(web: Path) -> None:
    reply = pages(web)("/docs/swagger-ui-bundle.js", {})

    assert reply is not None and reply.status == 404
    assert "make setup" in json.loads(reply.body)["detail"]


def test_unknown_paths_are_left_to_the_invoker(web: Path) -> None:
    assert pages(web)("/nothing-here", {}) is None


def test_every_error_code_has_a_page_saying_when_it_happens(web: Path) -> None:
    from profilepics import errors

    from infra.invoker import gateway, problems
    from infra.invoker.edge import EDGE_ERRORS

    codes = {doc.code: doc for doc in problems.catalogue()}
    raised = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ProblemError)
    }
    invoker = {"bad_event", "events_unavailable", "event_failed"}
    invoker |= {answer.code for answer in gateway.ANSWERS}
    invoker |= {code for code, _ in EDGE_ERRORS.values()}
    assert raised | invoker == set(codes)
    assert all(len(doc.when) > 20 for doc in codes.values()), codes
    for code in codes:
        reply = pages(web)(f"/problems/{code}", {})
        assert reply is not None and reply.status == 200, code
        assert f'id="{code}"' in reply.body.decode()
    index = pages(web)("/problems", {})
    assert index is not None and all(f'id="{c}"' in index.body.decode() for c in codes)


def test_problem_pages_escape_their_text_and_refuse_unknown_codes(web: Path) -> None:
    unknown = pages(web)("/problems/<script>", {})
    assert unknown is not None and unknown.status == 404
    page = pages(web)("/problems/unsupported_content_type", {})
    assert page is not None
    assert "<code>-H &#x27;Content-Type: application/json&#x27;</code>" in page.body.decode()


def test_the_favicon_is_served(web: Path) -> None:
    (web / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    reply = pages(web)("/favicon.svg", {})
    assert reply is not None and ("Content-Type", "image/svg+xml") in reply.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:3000"},
        {"host": "localhost:3000", "origin": "http://localhost:3000"},
        {"host": "[::1]:3000", "origin": "http://[::1]:3000"},
        {"host": "LOCALHOST:3000"},
    ],
)
def test_dev_tokens_go_to_the_local_page_itself(web: Path, headers: dict[str, str]) -> None:
    reply = pages(web, issuer=True)("/_dev/token/ada", headers)
    assert reply is not None and reply.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # HTTP/1.0 without a Host
        {"host": "attacker.example:3000"},  # DNS rebinding: the name now points at 127.0.0.1
        {"host": "attacker.example"},
        {"host": "127.0.0.1:3001"},
        {"host": "127.0.0.1:3000", "origin": "http://attacker.example"},
        {"host": "127.0.0.1:3000", "origin": "null"},
        {"host": "127.0.0.1:3000", "origin": "https://127.0.0.1:3000"},
    ],
)
def test_dev_tokens_are_refused_to_other_hosts_and_origins(
    web: Path, headers: dict[str, str]
) -> None:
    reply = pages(web, issuer=True)("/_dev/token/ada", headers)

    assert reply is not None and reply.status == 403
    assert json.loads(reply.body)["code"] == "forbidden"
    assert b"eyJ" not in reply.body  # no JWT in it


def test_the_edges_own_answers_link_to_their_pages(web: Path) -> None:
    from infra.invoker.edge import EDGE_ERRORS, edge_problem

    for status, (code, _) in EDGE_ERRORS.items():
        body = json.loads(edge_problem(status).body)
        assert (body["status"], body["code"], body["type"]) == (status, code, f"/problems/{code}")
        page = pages(web)(body["type"], {})
        assert page is not None and page.status == 200, code
