"""The invoker itself: routes requests to function pools, bucket events to their triggers."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from infra.invoker import events
from infra.invoker.delivery import Ack, Delivery, RetryPolicy, lease_seconds
from infra.invoker.edge import EdgeServer
from infra.invoker.gateway import INTEGRATION_TIMEOUT_SECONDS, answer_for
from infra.invoker.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from infra.invoker.metrics import Registry
from infra.invoker.replies import Reply, problem
from infra.invoker.spool import Spool
from infra.invoker.target import path_and_query
from infra.invoker.template import Function, Template
from infra.invoker.workers import FunctionPool, Outcome

__all__ = ["Invoker", "Reply", "problem", "serve", "to_reply"]
log = logging.getLogger("profilepics.invoker")
Authenticator = Callable[[Mapping[str, str]], dict[str, Any]]
Page = Callable[[str, Mapping[str, str]], Reply | None]


class Invoker:
    def __init__(
        self,
        template: Template,
        environment: Callable[[Function], Mapping[str, str]],
        health: Callable[[], dict[str, bool]],
        instances: int = 2,
        authenticate: Authenticator | None = None,
        pages: Page | None = None,
        events_token: str | None = None,
        spool: Spool | None = None,
        ack: Ack = Ack.PERSIST,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.template = template
        self._environment = environment
        self._health = health
        self._instances = instances
        self._authenticate = authenticate
        self._pages = pages
        self._events_token = events_token
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self.metrics = Registry()
        self.delivery = Delivery(
            template.triggers,
            self._invoke,
            spool or Spool(":memory:"),
            ack,
            retry,
            lease_seconds(template),
        )

    def pool(self, name: str) -> FunctionPool:
        with self._lock:
            if name not in self._pools:
                function = self.template.functions[name]
                self._pools[name] = FunctionPool(
                    function, self._environment(function), self._instances
                )
            return self._pools[name]

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, ip: str
    ) -> Reply:
        header_map = {k.lower(): v for k, v in headers}
        cors = self.template.cors
        if cors is not None and method == "OPTIONS":
            preflight = cors.preflight(header_map)
            if preflight is not None:
                return preflight
        reply = self._invoked(self.prepare(method, target, headers, header_map, body, ip))
        return cors.apply(reply, header_map) if cors is not None else reply

    def _invoked(self, prepared: Reply | tuple[str, dict[str, Any]]) -> Reply:
        """The invoker's own answer as it is, or the answer of the function to its event."""
        if isinstance(prepared, Reply):
            return prepared
        function, event = prepared
        reply = self._call(function, event)
        reply.function = function
        # As API Gateway does: the id the functions log as their correlation id.
        reply.headers.append(("Apigw-Requestid", event["requestContext"]["requestId"]))
        return reply

    def prepare(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        header_map: Mapping[str, str],
        body: bytes,
        ip: str,
    ) -> Reply | tuple[str, dict[str, Any]]:
        """The invoker's own answer to a request (header_map: its headers by lower-cased name),
        or the function to invoke and its event."""
        path, query = path_and_query(target)
        if path == "/health" and method == "GET":
            checks = self._health()
            status = 200 if all(checks.values()) else 503
            return Reply(
                status, [("Content-Type", "application/json")], json.dumps(checks).encode()
            )
        if path == "/metrics" and method == "GET":
            body = self.metrics.render().encode()
            return Reply(200, [("Content-Type", METRICS_CONTENT_TYPE)], body)
        if path in ("/_events/s3", "/_events/seaweedfs") and method == "POST":
            if not self._may_post_events(header_map):
                return problem(401, "unauthorized", "Bucket events need the events token")
            return self._accept_events(path, body)
        for route in self.template.routes:
            params = route.match(method, path)
            if params is None:
                continue
            claims = None
            if route.authorized and self._authenticate is not None:
                try:
                    claims = self._authenticate(header_map)
                except PermissionError as exc:
                    return problem(401, "unauthorized", "Authentication required", str(exc))
            event = events.http_event(route, method, path, query, headers, body, params, ip, claims)
            return route.function, event
        page = self._pages(path, header_map) if self._pages and method == "GET" else None
        return page or problem(404, "not_found", "No such route")

    def _may_post_events(self, headers: Mapping[str, str]) -> bool:
        if self._events_token is None:
            return True
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self._events_token.encode())

    def _invoke(
        self, function: str, event: dict[str, Any], answer_within: float | None = None
    ) -> Outcome:
        """One invocation's outcome; the metrics it recorded go to GET /metrics."""
        outcome = self.pool(function).invoke(event, answer_within)
        self.metrics.observe_all(outcome.metrics)
        return outcome

    def _call(self, function: str, event: dict[str, Any]) -> Reply:
        outcome = self._invoke(function, event, INTEGRATION_TIMEOUT_SECONDS)
        if outcome.error is not None:
            log.error("%s failed: %s", function, outcome.error)
            answer = answer_for(outcome.error)
            return problem(answer.status, answer.code, answer.title)
        return to_reply(outcome.result)

    def _accept_events(self, path: str, body: bytes) -> Reply:
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            return problem(400, "bad_event", "The event is not JSON")
        if path.endswith("/seaweedfs"):
            from infra.invoker.seaweed_events import to_s3_records

            records = to_s3_records(payload)
        else:
            records = payload.get("Records", []) if isinstance(payload, dict) else []
        if not isinstance(records, list) or not all(map(_has_object_key, records)):
            return problem(400, "bad_event", "Every record needs s3.object.key")
        accepted = self.delivery.accept(records)
        if accepted.status >= 300:
            return problem(accepted.status, accepted.code, accepted.title)
        return Reply(accepted.status)

    def close(self) -> None:
        self.delivery.close()
        for pool in self._pools.values():
            pool.close()


def _has_object_key(record: Any) -> bool:
    try:
        return isinstance(record["s3"]["object"]["key"], str)
    except (KeyError, TypeError):
        return False


def to_reply(result: Any) -> Reply:
    """Turn a handler's return value into HTTP, as API Gateway's payload v2.0 does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return Reply(200, [("Content-Type", "application/json")], body)
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return Reply(int(result["statusCode"]), headers, body)


def serve(invoker: Invoker, host: str, port: int) -> EdgeServer:
    """The invoker's HTTP server, bound and listening (call serve_forever on it)."""
    return EdgeServer(invoker.handle, host, port)
