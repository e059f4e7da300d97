"""openapi.json: generated from the resolvers and template.yaml, and kept in step with them."""

from __future__ import annotations

import dataclasses
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from profilepics.config import Settings
from profilepics.defaults import MAX_SIZE, MIN_SIZE, DefaultQuery
from profilepics.errors import FileTooLarge
from profilepics.formats import UPLOAD_FORMATS

from infra import openapi
from infra.invoker.template import Function, Route, Template, _path_pattern, load
from infra.local import REPO_ROOT

TEMPLATE = load(REPO_ROOT / "template.yaml")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi.build(TEMPLATE)


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


def test_committed_openapi_json_matches_the_generator() -> None:
    committed = (REPO_ROOT / "openapi.json").read_text()
    assert committed == openapi.render(), "openapi.json is stale: run `make openapi`"


def test_every_route_of_the_template_is_documented_and_nothing_else(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert set(operations(spec)) == {(r.method, r.path) for r in TEMPLATE.routes}


def test_write_routes_need_a_bearer_token_and_reads_do_not(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    for route in TEMPLATE.routes:
        operation = ops[(route.method, route.path)]
        if route.authorized:
            assert operation["security"] == [{"bearerAuth": []}], route.route_key
            assert "401" in operation["responses"], route.route_key
            # Every authorized route but the caller's own profile may refuse a valid token.
            if route.path != "/me":
                assert "403" in operation["responses"], route.route_key
        else:
            assert "security" not in operation, route.route_key
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert {k: scheme[k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_the_authorize_dialog_says_how_to_get_a_token(spec: dict[str, Any]) -> None:
    help_text = spec["components"]["securitySchemes"]["bearerAuth"]["description"]
    assert ".venv/bin/profilepics token ada" in help_text
    assert "/_dev/token/" in help_text


def test_operations_are_grouped_by_resource(spec: dict[str, Any]) -> None:
    assert [tag["name"] for tag in spec["tags"]] == ["profiles", "pictures"]
    assert all(tag["description"] for tag in spec["tags"])
    for (method, path), operation in operations(spec).items():
        expected = "pictures" if "/picture" in path else "profiles"
        assert operation["tags"] == [expected], (method, path)


def test_models_carry_real_examples_rather_than_bare_strings(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["ProfileCreate"]["properties"]
    assert create["user_id"]["examples"] == ["ada"]
    assert create["email"]["examples"] == ["ada@example.com"]
    content_type = schemas["UploadRequest"]["properties"]["content_type"]["anyOf"][0]
    assert content_type["enum"] == [f.content_type for f in UPLOAD_FORMATS]
    assert schemas["PictureStatus"]["enum"] == ["processing", "ready", "failed"]


def test_public_reads_document_no_email_and_the_private_routes_do(spec: dict[str, Any]) -> None:
    ops = operations(spec)

    def schema_of(method: str, path: str) -> str:
        content = ops[(method, path)]["responses"]["200"]["content"]["application/json"]
        return str(content["schema"]["$ref"]).rsplit("/", 1)[-1]

    schemas = spec["components"]["schemas"]
    assert "email" not in schemas["ProfilePublic"]["properties"]
    assert "email" in schemas["ProfilePrivate"]["required"]
    assert schema_of("GET", "/users/{user_id}") == "ProfilePublic"
    assert schema_of("GET", "/users") == "ProfilePage"
    assert schemas["ProfilePage"]["properties"]["items"]["items"]["$ref"].endswith("/ProfilePublic")
    assert schema_of("GET", "/me") == "ProfilePrivate"
    assert schema_of("GET", "/admin/users/{user_id}") == "ProfilePrivate"
    assert ops[("GET", "/me")]["security"] == [{"bearerAuth": []}]


def test_the_direct_upload_flow_is_documented(spec: dict[str, Any]) -> None:
    operation = operations(spec)[("POST", "/users/{user_id}/picture/uploads")]
    assert operation["requestBody"].get("required", False) is False
    assert set(operation["requestBody"]["content"]["application/json"]["examples"]) == {
        "declared",
        "nothing",
    }
    assert "every entry of `fields`" in operation["description"]
    assert "413" in operation["responses"]


def test_problem_types_link_to_the_pages_documenting_them(spec: dict[str, Any]) -> None:
    for operation in operations(spec).values():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            for code, example in response["content"]["application/problem+json"][
                "examples"
            ].items():
                assert example["value"]["type"] == f"/problems/{code}"


def test_every_error_response_is_problem_json_with_a_stable_code(spec: dict[str, Any]) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    for (method, path), operation in operations(spec).items():
        errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert errors, f"{method} {path} documents no errors"
        for status, response in errors.items():
            content = response["content"]["application/problem+json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert all(e["value"]["status"] == int(status) for e in content["examples"].values())
    assert "HTTPValidationError" not in json.dumps(spec)


def test_success_statuses_are_the_ones_the_handlers_answer(spec: dict[str, Any]) -> None:
    ops = operations(spec)

    def ok(method: str, path: str) -> set[str]:
        return {s for s in ops[(method, path)]["responses"] if int(s) < 400}

    assert ok("POST", "/users") == {"201"}
    assert ok("PUT", "/users/{user_id}/picture") == {"200", "201"}
    assert ok("DELETE", "/users/{user_id}/picture") == {"204"}
    assert ok("GET", "/users/{user_id}/picture") == {"200", "302"}
    assert ok("GET", "/pictures/default") == {"200", "304"}
    body = ops[("PUT", "/users/{user_id}/picture")]["requestBody"]["content"]
    assert {"image/jpeg", "image/png", "multipart/form-data"} <= set(body)


def test_default_picture_parameters_come_from_its_query_model(spec: dict[str, Any]) -> None:
    operation = operations(spec)[("GET", "/pictures/default")]
    query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert set(query) == set(DefaultQuery.model_fields)
    assert (query["size"]["minimum"], query["size"]["maximum"]) == (MIN_SIZE, MAX_SIZE)


def test_picture_size_and_format_are_documented_with_their_bounds_and_values(
    spec: dict[str, Any],
) -> None:
    operation = operations(spec)[("GET", "/users/{user_id}/picture")]
    query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    edge, named = query["size"]["anyOf"]
    settings = Settings()
    assert (edge["type"], edge["minimum"], edge["maximum"]) == (
        "integer",
        settings.min_variant_size,
        settings.max_variant_size,
    )
    assert named["enum"] == ["original", "animated"]
    assert query["size"]["default"] == "original"
    fmt = query["format"]["anyOf"][0]
    fmt = spec["components"]["schemas"][fmt["$ref"].rsplit("/", 1)[1]] if "$ref" in fmt else fmt
    assert fmt["enum"] == ["avif", "webp", "jpeg", "png"]
    redirect = operation["responses"]["302"]["headers"]
    assert {"Location", "Vary", "Picture-Size", "Picture-Format"} <= set(redirect)


def with_route(method: str, path: str, function: str = "ProfilesFunction") -> Template:
    route = Route(method, path, function, False, _path_pattern(path))
    return dataclasses.replace(TEMPLATE, routes=[*TEMPLATE.routes, route])


def test_a_template_route_whose_function_does_not_serve_it_fails_the_build() -> None:
    template = with_route("GET", "/users/{user_id}", function="UploadFunction")
    with pytest.raises(LookupError, match="no resolver describes GET /users/{user_id}"):
        openapi.build(template)


UNDOCUMENTED = """\
from profilepics.http import make_resolver

app = make_resolver()


@app.get("/users/<user_id>/ping")
def ping(user_id: str) -> dict[str, str]:
    return {"user_id": user_id}
"""


def test_a_route_not_documented_on_its_decorator_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(UNDOCUMENTED)
    function = Function("PingFunction", tmp_path, "app.lambda_handler", 3, 128)
    route = Route("GET", "/users/{user_id}/ping", function.name, False, _path_pattern("/x"))
    template = Template({function.name: function}, [route], [], {})

    with pytest.raises(LookupError, match="document it on its route decorator"):
        openapi.build(template)


def test_error_examples_are_the_bodies_the_api_sends(spec: dict[str, Any]) -> None:
    """One problem+json builder: the documented example of a code is that error's own body."""
    operation = operations(spec)[("PUT", "/users/{user_id}/picture")]
    examples = operation["responses"]["413"]["content"]["application/problem+json"]["examples"]
    assert examples["file_too_large"]["value"] == FileTooLarge().body()
    assert operation["responses"]["201"]["description"] == HTTPStatus.CREATED.phrase


def test_a_resolver_route_missing_from_the_template_fails_the_build() -> None:
    routes = [r for r in TEMPLATE.routes if r.route_key != "PATCH /users/{user_id}"]
    with pytest.raises(LookupError, match="serves PATCH /users/{user_id}, not in the template"):
        openapi.build(dataclasses.replace(TEMPLATE, routes=routes))
