"""The OpenAPI 3.1 document of the whole HTTP API: the functions' own specs, merged.

Each route documents itself on its powertools decorator (summary, description, statuses, the
problem codes it may answer); this module only merges the resolvers' specs over the routes of
template.yaml, in both directions (a route one side has and the other lacks fails the build),
and adds what only the template knows: which routes need a bearer token.
`python -m infra.openapi` writes openapi.json; tests/unit/test_openapi.py keeps it in step.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from profilepics.http import TAGS

from infra.invoker.template import Function, Route, Template, load
from infra.invoker.workers import load_module
from infra.local import REPO_ROOT

OUTPUT = REPO_ROOT / "openapi.json"
# Powertools' own validation-error models: our resolvers answer those as problem+json instead.
_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_POWERTOOLS_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
TOKEN_HELP = (
    "A JWT whose `sub` is the user you act as. On the local stack, from the repo root: "
    "`.venv/bin/profilepics token ada` (add `--admin` to act on anyone), or open "
    "`/_dev/token/ada` on `profilepics up`. Paste the token alone, without `Bearer`. "
    "On AWS: an access token from the identity provider named by the stack's JwtIssuer."
)


def _function_spec(function: Function) -> dict[str, Any]:
    schema = load_module(function, "openapi").app.get_openapi_schema()
    spec: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return spec


def _operation(route: Route, spec: dict[str, Any]) -> dict[str, Any]:
    found = spec.get("paths", {}).get(route.path, {}).get(route.method.lower())
    if found is None:
        raise LookupError(f"no resolver describes {route.route_key} ({route.function})")
    operation = dict(found)
    operation["responses"] = {
        status: _tidy(answer)
        for status, answer in found["responses"].items()
        if answer.get("content", {}).get("application/json", {}).get("schema") != _POWERTOOLS_422
    }
    # Powertools names an undocumented route "METHOD /path" and gives it no errors.
    documented = found.get("summary") != route.route_key
    if not documented or not any(int(status) >= 400 for status in operation["responses"]):
        raise LookupError(f"{route.route_key}: document it on its route decorator")
    if route.authorized:
        operation["security"] = [{"bearerAuth": []}]
    return operation


def _tidy(answer: dict[str, Any]) -> dict[str, Any]:
    """A response without a body: powertools can only say so with an empty `content`."""
    return {k: v for k, v in answer.items() if k != "content" or v}


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


def build(template: Template) -> dict[str, Any]:
    """The merged OpenAPI document for every HTTP route of the template."""
    serving = [
        name for name in template.functions if any(r.function == name for r in template.routes)
    ]
    specs = {name: _function_spec(template.functions[name]) for name in serving}
    schemas: dict[str, Any] = {}
    for name, spec in specs.items():
        _merge_schemas(schemas, spec.get("components", {}).get("schemas", {}), name)
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(template.routes, key=lambda r: (r.path, r.method)):
        operation = _operation(route, specs[route.function])
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for name, spec in specs.items():
        for path, operations in spec.get("paths", {}).items():
            for method in operations:
                if method not in paths.get(path, {}):
                    raise LookupError(f"{name} serves {method.upper()} {path}, not in the template")
    tags = [tag for name in serving for tag in _tags(specs[name])]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "profilepics",
            "version": _version(),
            "description": "Profile pictures: validated uploads, signed URLs, thumbnails. "
            "Errors are application/problem+json with a stable `code`; each error's `type` "
            "links to the page that documents it (all of them: [/problems](/problems)). Writes "
            "need a bearer JWT whose `sub` is the user (or an admin scope); reads are public by "
            "default and never include e-mail addresses.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag, "description": _tag_text(tag)} for tag in dict.fromkeys(tags)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": TOKEN_HELP,
                }
            },
        },
    }


def _tag_text(tag: str) -> str:
    if tag not in TAGS:
        raise LookupError(f"tag {tag!r}: describe it in profilepics.http.TAGS")
    return TAGS[tag]


def _tags(spec: dict[str, Any]) -> list[str]:
    """A function's operations' tags, in the order its routes come."""
    return [
        tag
        for operations in spec.get("paths", {}).values()
        for operation in operations.values()
        for tag in operation.get("tags", [])
    ]


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
