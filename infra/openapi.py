"""The OpenAPI 3.1 document of the whole HTTP API, merged from every function's resolver.

Each function's powertools resolver describes its own routes from the pydantic models; this
module merges them over the routes of template.yaml (so a route the template serves but no
resolver describes fails the build), then adds what the resolvers cannot know: the real
success statuses, the problem+json errors, the bearer-token security and the raw bodies.
`python -m infra.openapi` writes openapi.json; tests/unit/test_openapi.py keeps it in step.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profilepics import errors as e
from profilepics.defaults import DefaultQuery
from pydantic import BaseModel

from infra.invoker.template import Function, Route, Template, load
from infra.invoker.workers import load_module
from infra.local import REPO_ROOT

OUTPUT = REPO_ROOT / "openapi.json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BINARY = {"type": "string", "format": "binary"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457) with a stable code."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


@dataclass(frozen=True)
class Doc:
    """What the resolver can't tell about a route: its statuses and the errors it may answer."""

    summary: str
    ok: tuple[int, ...] = (200,)
    errors: tuple[type[e.ProblemError], ...] = ()
    uses_data: bool = True  # reads the table or the store, so may answer 503


DOCS: dict[str, Doc] = {
    "GET /users": Doc("List profiles, a page at a time", errors=(e.BadRequest, e.ValidationFailed)),
    "POST /users": Doc("Create a profile", (201,), (e.UserExists,)),
    "GET /users/{user_id}": Doc("Get a profile with its picture URLs", errors=(e.UserNotFound,)),
    "PATCH /users/{user_id}": Doc("Update a profile", errors=(e.UserNotFound, e.Conflict)),
    "PUT /users/{user_id}/picture": Doc(
        "Upload or replace the picture (201 for the first one)",
        (200, 201),
        (e.EmptyFile, e.MalformedMultipart, e.UserNotFound, e.Conflict, e.FileTooLarge)
        + (e.UnsupportedMediaType, e.ImageCorrupt, e.ImageTruncated, e.ImageTooLarge)
        + (e.ImageTooComplex, e.ImageTooSmall),
    ),
    "DELETE /users/{user_id}/picture": Doc(
        "Delete the picture; the profile falls back to the default", (204,), (e.UserNotFound,)
    ),
    "POST /users/{user_id}/picture/uploads": Doc(
        "Start a direct upload: a presigned POST policy for the store", (201,), (e.UserNotFound,)
    ),
    "GET /users/{user_id}/picture": Doc(
        "A signed URL of the picture, or a 302 to it with redirect=true",
        errors=(e.UserNotFound, e.ValidationFailed),
    ),
    "GET /pictures/default": Doc(
        "The generated default picture (initials on a colour)",
        errors=(e.ValidationFailed,),
        uses_data=False,
    ),
}
# What powertools answers for any pydantic body it can't read or that doesn't validate.
BODY_ERRORS = (e.MalformedMultipart, e.UnsupportedContentType, e.ValidationFailed)


def _function_spec(function: Function) -> dict[str, Any]:
    schema = load_module(function, "openapi").app.get_openapi_schema()
    spec: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return spec


def _error_responses(route: Route, doc: Doc, has_body: bool) -> dict[str, Any]:
    raised = list(doc.errors)
    if has_body:
        raised += [error for error in BODY_ERRORS if error not in raised]
    if route.authorized:
        raised += [e.Unauthorized, e.Forbidden]
    if doc.uses_data:
        raised += [e.StorageUnavailable, e.TableUnavailable]
    by_status: dict[int, list[type[e.ProblemError]]] = {}
    for error in raised:
        by_status.setdefault(error.status, []).append(error)
    responses: dict[str, Any] = {}
    for status, kinds in sorted(by_status.items()):
        examples = {
            kind.code: {
                "summary": kind.title,
                "value": {
                    "type": f"https://profilepics.dev/problems/{kind.code}",
                    "title": kind.title,
                    "status": status,
                    "detail": kind.title,
                    "code": kind.code,
                },
            }
            for kind in kinds
        }
        responses[str(status)] = {
            "description": "; ".join(f"`{k.code}`: {k.title}" for k in kinds),
            "content": {"application/problem+json": {"schema": PROBLEM_REF, "examples": examples}},
        }
    return responses


def _picture_body() -> dict[str, Any]:
    raw = {media: {"schema": BINARY} for media in (*IMAGE_TYPES, "application/octet-stream")}
    form = {
        "type": "object",
        "properties": {"file": BINARY},
        "required": ["file"],
    }
    return {
        "required": True,
        "description": "The image as the raw body, or a multipart form with a `file` field. "
        "The format is decided by the content, never by the name or the header.",
        "content": {**raw, "multipart/form-data": {"schema": form}},
    }


def _default_picture_operation() -> dict[str, Any]:
    """By hand: the route parses DefaultQuery itself, as a PNG body can't go through validation."""
    schema = DefaultQuery.model_json_schema()
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "query", "required": False, "schema": field}
        for name, field in schema["properties"].items()
    ]
    parameters.append(
        {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}
    )
    cache = {
        "ETag": {"schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string"}},
    }
    return {
        "operationId": "default_picture",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "A PNG of the name's initials on a colour from the seed",
                "headers": cache,
                "content": {"image/png": {"schema": BINARY}},
            },
            "304": {"description": "The client's copy (If-None-Match) is current"},
        },
    }


def _operation(route: Route, generated: dict[str, Any] | None, tag: str) -> dict[str, Any]:
    doc = DOCS.get(route.route_key)
    if doc is None:
        raise LookupError(f"{route.route_key}: add its statuses and errors to DOCS in {__name__}")
    if route.route_key == "GET /pictures/default":
        operation = _default_picture_operation()
    elif generated is None:
        raise LookupError(f"no resolver describes {route.route_key} ({route.function})")
    else:
        operation = dict(generated)
        operation.pop("summary", None)
        responses = operation.pop("responses", {})
        body = responses.get("200", {}).get("content")
        operation["responses"] = {}
        for status in doc.ok:
            answer: dict[str, Any] = {"description": HTTP_REASONS[status]}
            if status != 204 and body is not None:
                answer["content"] = _strip_optional(body)
            operation["responses"][str(status)] = answer
    if route.route_key == "PUT /users/{user_id}/picture":
        operation["requestBody"] = _picture_body()
    if route.route_key == "GET /users/{user_id}/picture":
        operation["responses"]["302"] = {
            "description": "With redirect=true: to the signed URL, so <img src> works",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    has_body = "application/json" in operation.get("requestBody", {}).get("content", {})
    operation["responses"].update(_error_responses(route, doc, has_body))
    operation = {"tags": [tag], "summary": doc.summary, **operation}
    if route.authorized:
        operation["security"] = [{"bearerAuth": []}]
    return operation


HTTP_REASONS = {200: "OK", 201: "Created", 204: "No Content"}


def _strip_optional(content: dict[str, Any]) -> dict[str, Any]:
    """`Response[Model | None]` means "no body on the redirect", not a null JSON body."""
    out = {}
    for media, value in content.items():
        schema = value.get("schema", {})
        refs = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
        out[media] = {"schema": refs[0]} if len(refs) == 1 else value
    return out


def _merge_schemas(into: dict[str, Any], more: dict[str, Any], source: str) -> None:
    for name, schema in more.items():
        if name in _POWERTOOLS_ONLY:
            continue
        if name in into and into[name] != schema:
            raise ValueError(f"schema {name} differs in {source}")
        into[name] = schema


def _version() -> str:
    project: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return str(project["version"])


def _tag(function: Function) -> str:
    """Operations are grouped by the function that serves them."""
    return str(function.environment.get("POWERTOOLS_SERVICE_NAME", function.name))


def build(template: Template) -> dict[str, Any]:
    """The merged OpenAPI document for every HTTP route of the template."""
    specs = {
        name: _function_spec(template.functions[name])
        for name in dict.fromkeys(r.function for r in template.routes)
        if name != "DefaultPictureFunction"
    }
    schemas: dict[str, Any] = {}
    for name, spec in specs.items():
        _merge_schemas(schemas, spec.get("components", {}).get("schemas", {}), name)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Problem"].pop("$defs"))
    paths: dict[str, dict[str, Any]] = {}
    routes = sorted(template.routes, key=lambda r: (r.path, r.method))
    for route in routes:
        generated = specs.get(route.function, {}).get("paths", {}).get(route.path, {})
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, generated.get(route.method.lower()), _tag(template.functions[route.function])
        )
    for name, spec in specs.items():
        for path, operations in spec.get("paths", {}).items():
            for method in operations:
                if method not in paths.get(path, {}):
                    raise LookupError(f"{name} serves {method.upper()} {path}, not in the template")
    serving = {r.function for r in routes}
    tags = [_tag(f) for name, f in template.functions.items() if name in serving]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "profilepics",
            "version": _version(),
            "description": "Profile pictures: validated uploads, signed URLs, thumbnails. "
            "Errors are application/problem+json with a stable `code`. Writes need a bearer "
            "JWT whose `sub` is the user (or an admin scope); reads are public by default.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def render(template_path: Path | None = None) -> str:
    """openapi.json's exact text."""
    from infra.local import template_path as default_template

    spec = build(load(template_path or default_template()))
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(render())
    sys.stdout.write(f"wrote {OUTPUT.relative_to(REPO_ROOT)}\n")


if __name__ == "__main__":
    main()
