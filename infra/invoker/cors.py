"""CORS as an HTTP API with a CorsConfiguration answers it: preflights at the gateway, the
configured headers added to every answer of a request that names an Origin, and whatever CORS
headers a function sent dropped (API Gateway ignores them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.invoker.replies import Reply


@dataclass(frozen=True)
class Cors:
    origins: tuple[str, ...]
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    credentials: bool = False

    @classmethod
    def of(cls, config: Mapping[str, Any], parameters: Mapping[str, Any]) -> Cors:
        """From a template's CorsConfiguration; a !Ref takes the parameter's default."""

        def listed(name: str) -> tuple[str, ...]:
            value = config.get(name, [])
            if isinstance(value, dict) and "Ref" in value:
                value = parameters.get(value["Ref"], {}).get("Default", "")
            if isinstance(value, str):
                value = value.split(",")
            return tuple(str(item).strip() for item in value if str(item).strip())

        age = config.get("MaxAge")
        return cls(
            origins=listed("AllowOrigins"),
            methods=listed("AllowMethods"),
            headers=listed("AllowHeaders"),
            expose=listed("ExposeHeaders"),
            max_age=int(age) if age is not None else None,
            credentials=bool(config.get("AllowCredentials", False)),
        )

    def allowed(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin an origin gets, or None when it is not allowed."""
        if "*" in self.origins:
            return "*"
        wanted = origin.lower()
        return origin if any(o.lower() == wanted for o in self.origins) else None

    def preflight(self, headers: Mapping[str, str]) -> Reply | None:
        """The gateway's answer to a preflight (headers lower-cased), or None if it isn't one."""
        origin = headers.get("origin")
        if origin is None or "access-control-request-method" not in headers:
            return None
        reply = Reply(204)
        allow = self.allowed(origin)
        if allow is not None:
            reply.headers.extend(self._origin(allow))
            reply.headers.append(("Access-Control-Allow-Methods", ",".join(self.methods)))
            if self.headers:
                reply.headers.append(("Access-Control-Allow-Headers", ",".join(self.headers)))
            if self.max_age is not None:
                reply.headers.append(("Access-Control-Max-Age", str(self.max_age)))
        return reply

    def apply(self, reply: Reply, headers: Mapping[str, str]) -> Reply:
        """The reply with the configured CORS headers in place of any the function sent."""
        reply.headers = [
            (name, value)
            for name, value in reply.headers
            if not name.lower().startswith("access-control-")
        ]
        origin = headers.get("origin")
        allow = self.allowed(origin) if origin is not None else None
        if allow is not None:
            reply.headers.extend(self._origin(allow))
            if self.expose:
                reply.headers.append(("Access-Control-Expose-Headers", ",".join(self.expose)))
        return reply

    def _origin(self, allow: str) -> list[tuple[str, str]]:
        found = [("Access-Control-Allow-Origin", allow)]
        if self.credentials:
            found.append(("Access-Control-Allow-Credentials", "true"))
        if allow != "*":
            found.append(("Vary", "Origin"))
        return found
