"""A function's routes, recorded at import; Powertools' resolver is built from them when the
first request (or the OpenAPI document) needs it.

Importing Powertools' event handler with its OpenAPI and validation machinery costs a cold
start ~60-80 ms of CPU (docs/benchmarks.md, section 4), more than the rest of a function's
import. Routes are declared as before; request validation and the OpenAPI spec are unchanged,
they are only built later. `Response`, `Query` and `Body` stand in for Powertools' own until
then: a route module that says `from __future__ import annotations` has its annotations read
when the resolver is built, and they are Powertools' classes by then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler import Response as Response
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
    from aws_lambda_powertools.event_handler.openapi.params import Body as Body
    from aws_lambda_powertools.event_handler.openapi.params import Query as Query
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
else:

    class Response:
        """Makes Powertools' Response; `Response[Model]` names Powertools' own generic."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            from aws_lambda_powertools.event_handler import Response as made

            return made(*args, **kwargs)

        def __class_getitem__(cls, item: Any) -> Any:
            from aws_lambda_powertools.event_handler import Response as made

            return made[item]

    def Query(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Powertools' name)
        from aws_lambda_powertools.event_handler.openapi.params import Query as made

        return made(*args, **kwargs)

    def Body(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Powertools' name)
        from aws_lambda_powertools.event_handler.openapi.params import Body as made

        return made(*args, **kwargs)


F = TypeVar("F", bound=Callable[..., Any])
Recorded = tuple[str, str, dict[str, Any], Callable[..., Any]]


class Later:
    """A route option made when the resolver is built, for one that would build a model (a
    validator, and pydantic's plugin loader with it) at import: `Later(lambda: ...)`."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class Routes:
    """A function's routes; `resolver` is Powertools' APIGatewayHttpResolver, made once."""

    def __init__(self, enable_validation: bool = True) -> None:
        self._validation = enable_validation
        self._routes: list[Recorded] = []
        self._resolver: APIGatewayHttpResolver | None = None

    def _route(self, method: str, rule: str, options: dict[str, Any]) -> Callable[[F], F]:
        if self._resolver is not None:
            raise RuntimeError("routes are declared at import, before the first request")

        def record(function: F) -> F:
            self._routes.append((method, rule, options, function))
            return function

        return record

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self._route("GET", rule, options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self._route("POST", rule, options)

    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self._route("PUT", rule, options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self._route("PATCH", rule, options)

    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self._route("DELETE", rule, options)

    @property
    def resolver(self) -> APIGatewayHttpResolver:
        if self._resolver is None:
            from profilepics.http import make_resolver

            resolver = make_resolver(self._validation)
            for method, rule, options, function in self._routes:
                made = {k: v.make() if isinstance(v, Later) else v for k, v in options.items()}
                resolver.route(rule, method, **made)(function)
            self._resolver = resolver
        return self._resolver

    @property
    def current_event(self) -> APIGatewayProxyEventV2:
        return self.resolver.current_event

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.resolver.resolve(event, context)

    def get_openapi_schema(self, **options: Any) -> OpenAPI:
        return self.resolver.get_openapi_schema(**options)
