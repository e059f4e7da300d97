"""The local stack's own pages: the try-it page, config, OpenAPI, Swagger UI, error codes and
dev tokens.

They answer GET requests that match no route of the template, so they never shadow the API
and never reach AWS: the SAM template knows nothing of them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from profilepics.config import Settings
from profilepics.errors import PROBLEMS_PATH
from profilepics.models import USER_ID_PATTERN

from infra.invoker import problems
from infra.invoker.replies import Reply, problem
from infra.local import REPO_ROOT

WEB = "infra/web"
# Swagger UI's own files, from the pinned npm package (make setup installs it).
SWAGGER_DIR = "node_modules/swagger-ui-dist"
SWAGGER_FILES = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-16x16.png",
    "favicon-32x32.png",
)
STATIC = {
    "/": "index.html",
    "/app.js": "app.js",
    "/style.css": "style.css",
    "/favicon.svg": "favicon.svg",
    "/docs": "docs.html",
    "/docs/init.js": "docs.js",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
DIRECT_UPLOAD_ABOVE = 1024 * 1024  # larger files go straight to the store by presigned POST
TOKEN_TTL = 3600
_DEV_TOKEN = re.compile(r"/_dev/token/(?P<user_id>[^/]+)")

TokenIssuer = Callable[[str], str]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def own_hosts(host: str, port: int) -> frozenset[str]:
    """The Host values of the local page itself: its address, and loopback's names."""
    names = {host, *LOOPBACK_NAMES} - {"0.0.0.0", "::", "[::]"}
    return frozenset(f"{name}:{port}".lower() for name in names)


def _located(relative: str) -> Path:
    """A file of the working directory (a container's /app), else of this checkout."""
    here = Path.cwd() / relative
    return here if here.exists() else REPO_ROOT / relative


class Pages:
    def __init__(
        self,
        settings: Settings,
        issue_token: TokenIssuer | None = None,
        directory: Path | None = None,
        spec: Path | None = None,
        own_hosts: Collection[str] = (),
    ) -> None:
        self._settings = settings
        self._issue_token = issue_token
        self._own_hosts = frozenset(own_hosts)
        self._dir = directory or _located(WEB)
        # The committed file, not one made here: making it imports every handler module, and
        # tests/unit/test_openapi.py already fails when the file drifts from the code.
        self._spec = spec or _located("openapi.json")

    def __call__(self, path: str, headers: Mapping[str, str]) -> Reply | None:
        if path in STATIC:
            return self._file(self._dir / STATIC[path], headers)
        if path.startswith("/docs/") and path.removeprefix("/docs/") in SWAGGER_FILES:
            return self._file(self._dir / SWAGGER_DIR / path.removeprefix("/docs/"), headers)
        if path == "/openapi.json":
            return self._file(self._spec, headers)
        if path == "/config.json":
            return _json(self.config())
        if path == PROBLEMS_PATH.rstrip("/") or path.startswith(PROBLEMS_PATH):
            return self._problems(path.removeprefix(PROBLEMS_PATH.rstrip("/")).strip("/"))
        if self._issue_token is not None and (found := _DEV_TOKEN.fullmatch(path)):
            return self._dev_token(found["user_id"], headers)
        return None

    def config(self) -> dict[str, object]:
        """The server's limits, so the page's pre-checks never drift from them."""
        s = self._settings
        return {
            "max_bytes": s.max_bytes,
            "allowed_formats": s.allowed_formats,
            "allowed_types": [f.content_type for f in s.allowed_formats],
            "thumbnail_sizes": s.thumbnail_sizes,
            "direct_upload_above": DIRECT_UPLOAD_ABOVE,
            "dev_tokens": self._issue_token is not None,
            "store_origin": _origin(s.signing_endpoint),
        }

    def _dev_token(self, user_id: str, headers: Mapping[str, str]) -> Reply:
        assert self._issue_token is not None
        if not self._from_own_page(headers):
            return problem(
                403, "forbidden", "Not allowed", "Development tokens go only to the local page"
            )
        if not re.fullmatch(USER_ID_PATTERN, user_id):
            return problem(422, "validation_error", "The request is invalid", "Not a user id")
        token = self._issue_token(user_id)
        return _json({"token": token, "expires_in": TOKEN_TTL, "dev_only": True})

    def _problems(self, code: str) -> Reply:
        page = problems.render(code or None)
        if page is None:
            return problem(404, "not_found", "No such error code", "See /problems for every code")
        headers = [("Content-Type", TYPES[".html"]), ("Content-Security-Policy", self._csp())]
        return Reply(200, headers, page.encode())

    def _from_own_page(self, headers: Mapping[str, str]) -> bool:
        # A page elsewhere reaches this server only under another Host (DNS rebinding) or from
        # another Origin; the local page's own requests carry neither.
        host = headers.get("host", "").lower()
        origin = headers.get("origin")
        return host in self._own_hosts and (origin is None or origin.lower() == f"http://{host}")

    def _file(self, path: Path, headers: Mapping[str, str]) -> Reply:
        if not path.is_file():
            return problem(
                404, "not_found", "Not installed", f"{path.name} is missing: run `make setup`"
            )
        reply = _cacheable(path.read_bytes(), TYPES.get(path.suffix, "text/plain"), headers)
        if path.suffix == ".html":
            reply.headers.append(("Content-Security-Policy", self._csp()))
        return reply

    def _csp(self) -> str:
        # The page talks to the API (same origin) and the store (presigned GETs and POSTs).
        store = _origin(self._settings.signing_endpoint)
        return (
            f"default-src 'self'; img-src 'self' data: {store}; connect-src 'self' {store}; "
            "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'"
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(body: object) -> Reply:
    headers = [("Content-Type", TYPES[".json"]), ("Cache-Control", "no-store")]
    return Reply(200, headers, json.dumps(body).encode())


def _cacheable(body: bytes, content_type: str, headers: Mapping[str, str]) -> Reply:
    """Revalidated on every use: the files change under a developer's hands."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = [
        ("ETag", tag),
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if tag in {t.strip() for t in headers.get("if-none-match", "").split(",")}:
        return Reply(304, common)
    return Reply(200, [("Content-Type", content_type), *common], body)


def local_pages(
    settings: Settings, secret: str, issuer: str, audience: str, hosts: Collection[str]
) -> Pages:
    """The pages of `profilepics up`, which alone hands out development tokens (to hosts)."""
    from infra.invoker.jwt_auth import issue

    return Pages(
        settings,
        lambda user_id: issue(secret, issuer, audience, user_id, None, TOKEN_TTL),
        own_hosts=hosts,
    )
