"""The public base URL of the request being handled, for links back to this API.

When PROFILEPICS_API_BASE_URL is empty (the template's ApiBaseUrl default), links such as the
default picture's are built from the request itself: API Gateway puts the domain name it
received the request on (execute-api or a custom domain) and the stage in the event. One
invocation runs at a time per instance, and a context variable keeps the value to the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current: ContextVar[str | None] = ContextVar("request_base_url", default=None)
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$")
_EXECUTE_API = ".execute-api."


def base_url_of(event: Mapping[str, Any]) -> str | None:
    """https://<domain>[/<stage>] from an API Gateway HTTP API event, or None without one."""
    context = event.get("requestContext") or {}
    domain = str(context.get("domainName") or "")
    if not _HOST.match(domain):
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    scheme = "http" if headers.get("x-forwarded-proto") == "http" else "https"
    stage = str(context.get("stage") or "$default")
    # A named stage is part of the path on the execute-api domain; a custom domain's API
    # mapping hides it (set ApiBaseUrl when the mapping has a base path).
    path = f"/{stage}" if stage != "$default" and _EXECUTE_API in domain else ""
    return f"{scheme}://{domain}{path}"


@contextmanager
def serving(event: Mapping[str, Any]) -> Iterator[None]:
    token = _current.set(base_url_of(event))
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str | None:
    return _current.get()
