"""Bearer tokens for the local invoker: HS256 JWTs checked as API Gateway's JWT authorizer would."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jwt

ALGORITHM = "HS256"


def issue(
    secret: str, issuer: str, audience: str, user_id: str, admin_scope: str | None, ttl: int
) -> str:
    """A development token for user_id; with admin_scope it may act on anyone."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    if admin_scope:
        claims["scope"] = admin_scope
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class Authenticator:
    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    def __call__(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The verified claims, as API Gateway passes them on; PermissionError means 401."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PermissionError("Send an Authorization: Bearer token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise PermissionError("The token has expired") from None
        except jwt.InvalidTokenError:
            raise PermissionError("The token is not valid") from None
        return {name: render_claim(value) for name, value in claims.items()}


def render_claim(value: Any) -> str:
    """A claim as API Gateway's JWT authorizer hands it to the function: always a string.

    Lists come as "[admin ops]" and numbers and booleans as their JSON text (seen on AWS); an
    object follows the same Go-style notation ("map[k:v]", keys sorted), by analogy.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(render_claim(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{key}:{render_claim(value[key])}" for key in sorted(value))
        return "map[" + " ".join(pairs) + "]"
    return "" if value is None else str(value)
