"""A request target's path and query, as a front end in front of the invoker reads them."""

from __future__ import annotations

from urllib.parse import urlsplit


def path_and_query(target: str) -> tuple[str, str]:
    """The path and query of an origin-form target (`/users/ada?x=1`) or an absolute-form one
    (`http://host/users/ada`). Not urlsplit on every target: it reads `//x/health` as host `x`
    and path `/health`, where a proxy routes the path `//x/health`."""
    if target[:7].lower() == "http://" or target[:8].lower() == "https://":
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path, query
