"""Routes recorded at import become Powertools' resolver on first use (profilepics.routes)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse
from profilepics.routes import Query, Response, Routes
from pydantic import BaseModel


class Echo(BaseModel):
    n: int


def _routes() -> Routes:
    app = Routes()

    @app.get("/echo")
    def echo(n: Annotated[int, Query(ge=1)]) -> Response[Echo]:
        return Response(200, "application/json", Echo(n=n))

    return app


def _get(app: Routes, query: dict[str, str]) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": "GET /echo",
        "rawPath": "/echo",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "queryStringParameters": query,
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/echo"}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    answer: dict[str, Any] = app.resolve(event, None)
    return answer


def test_a_route_answers_and_validates_through_the_resolver_built_on_first_use() -> None:
    app = _routes()
    assert json.loads(_get(app, {"n": "3"})["body"]) == {"n": 3}
    refused = _get(app, {"n": "0"})
    assert refused["statusCode"] == 422
    assert json.loads(refused["body"])["code"] == "validation_error"


def test_the_stand_ins_make_powertools_own_objects() -> None:
    made: PowertoolsResponse[None] = Response(204)
    assert isinstance(made, PowertoolsResponse)
    assert Response[Echo] == PowertoolsResponse[Echo]


def test_the_openapi_document_comes_from_the_recorded_routes() -> None:
    spec = _routes().get_openapi_schema()
    assert spec.paths is not None and "/echo" in spec.paths


def test_a_route_declared_after_the_first_request_is_refused() -> None:
    app = _routes()
    _get(app, {"n": "1"})
    with pytest.raises(RuntimeError, match="at import"):
        app.get("/late")
