"""The invoker itself: routes requests to function pools, bucket events to their triggers."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from infra.invoker import events
from infra.invoker.edge import EdgeServer
from infra.invoker.replies import Reply, problem
from infra.invoker.template import Function, Template
from infra.invoker.workers import FunctionPool

__all__ = ["Invoker", "Reply", "problem", "serve", "to_reply"]
log = logging.getLogger("profilepics.invoker")
EVENT_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
# Lambda waits about 1 and then 2 minutes before those retries; seconds are enough locally.
EVENT_RETRY_DELAYS = (0.5, 2.0)


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
        self._events = ThreadPoolExecutor(max_workers=2, thread_name_prefix="events")

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
        parts = urlsplit(target)
        header_map = {k.lower(): v for k, v in headers}
        if parts.path == "/health" and method == "GET":
            checks = self._health()
            status = 200 if all(checks.values()) else 503
            return Reply(
                status, [("Content-Type", "application/json")], json.dumps(checks).encode()
            )
        if parts.path in ("/_events/s3", "/_events/seaweedfs") and method == "POST":
            if not self._may_post_events(header_map):
                return problem(401, "unauthorized", "Bucket events need the events token")
            return self._accept_events(parts.path, body)
        for route in self.template.routes:
            params = route.match(method, parts.path)
            if params is None:
                continue
            claims = None
            if route.authorized and self._authenticate is not None:
                try:
                    claims = self._authenticate(header_map)
                except PermissionError as exc:
                    return problem(401, "unauthorized", "Authentication required", str(exc))
            event = events.http_event(
                route, method, parts.path, parts.query, headers, body, params, ip, claims
            )
            reply = self._call(route.function, event)
            reply.function = route.function
            # As API Gateway does: the id the functions log as their correlation id.
            reply.headers.append(("Apigw-Requestid", event["requestContext"]["requestId"]))
            return reply
        page = self._pages(parts.path, header_map) if self._pages and method == "GET" else None
        return page or problem(404, "not_found", "No such route")

    def _may_post_events(self, headers: Mapping[str, str]) -> bool:
        if self._events_token is None:
            return True
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self._events_token.encode())

    def _call(self, function: str, event: dict[str, Any]) -> Reply:
        outcome = self.pool(function).invoke(event)
        if "errorType" in outcome:
            log.error("%s failed: %s", function, outcome["errorType"])
            return problem(502, "function_error", "The function failed")
        return to_reply(outcome["result"])

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
        self.deliver(records)
        return Reply(204)

    def deliver(self, records: Iterable[dict[str, Any]]) -> None:
        """Invoke every function whose S3 trigger matches, asynchronously, with retries."""
        for record in records:
            key = events.decoded_key(record)
            # S3 names events "ObjectCreated:Put", MinIO "s3:ObjectCreated:Put", as templates do.
            name = str(record.get("eventName", ""))
            name = name if name.startswith("s3:") else f"s3:{name}"
            for trigger in self.template.triggers:
                if trigger.matches(name, key):
                    self._events.submit(self._deliver_one, trigger.function, record)

    def _deliver_one(self, function: str, record: dict[str, Any], attempt: int = 1) -> None:
        outcome = self.pool(function).invoke({"Records": [record]})
        if "errorType" not in outcome:
            return
        log.warning("%s attempt %d failed: %s", function, attempt, outcome["errorType"])
        if attempt < EVENT_ATTEMPTS:
            # A timer, not a sleep, so a retry waiting does not hold up other events.
            retry = threading.Timer(
                EVENT_RETRY_DELAYS[attempt - 1], self._retry, (function, record, attempt + 1)
            )
            retry.daemon = True
            retry.start()

    def _retry(self, function: str, record: dict[str, Any], attempt: int) -> None:
        try:
            self._events.submit(self._deliver_one, function, record, attempt)
        except RuntimeError:
            pass  # the invoker is shutting down

    def close(self) -> None:
        self._events.shutdown(wait=False, cancel_futures=True)
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
