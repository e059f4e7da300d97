"""Who is calling, from the JWT claims the authorizer verified, and what they may change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from profilepics.config import Settings
from profilepics.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Caller:
    sub: str
    admin: bool


def _words(value: Any) -> set[str]:
    # API Gateway hands claims over as strings: "a b", or "[a b]" for a list claim.
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set(str(value or "").strip("[]").replace(",", " ").split())


class Authorizer:
    def __init__(self, settings: Settings) -> None:
        self._admin_scope = settings.admin_scope
        self._admin_group = settings.admin_group
        self._public_reads = settings.public_reads

    def caller(self, event: Mapping[str, Any]) -> Caller | None:
        """The caller whose token the authorizer verified, or None for an anonymous request."""
        authorizer = event.get("requestContext", {}).get("authorizer") or {}
        claims = (authorizer.get("jwt") or {}).get("claims") or {}
        sub = claims.get("sub")
        if not sub:
            return None
        groups = _words(claims.get("groups")) | _words(claims.get("cognito:groups"))
        admin = self._admin_scope in _words(claims.get("scope")) or self._admin_group in groups
        return Caller(str(sub), admin)

    def require_caller(self, event: Mapping[str, Any]) -> Caller:
        """The caller, who must have sent a token."""
        caller = self.caller(event)
        if caller is None:
            raise Unauthorized("Send a bearer token")
        return caller

    def require_admin(self, event: Mapping[str, Any]) -> Caller:
        caller = self.require_caller(event)
        if not caller.admin:
            raise Forbidden("Only an admin may read another user's whole profile")
        return caller

    def require_owner(self, event: Mapping[str, Any], user_id: str) -> Caller:
        """The caller, if they may change user_id's profile and picture."""
        caller = self.require_caller(event)
        if caller.sub != user_id and not caller.admin:
            raise Forbidden("You may change only your own profile and picture")
        return caller

    def require_reader(self, event: Mapping[str, Any]) -> None:
        if not self._public_reads and self.caller(event) is None:
            raise Unauthorized("Reads need a bearer token on this deployment")
