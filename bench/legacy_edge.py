"""The invoker's HTTP edge before issue 11: http.server, kept only as the bench's baseline.

Its flaws are why it was replaced (see docs/DESIGN.md); it is never served outside `make bench`.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.invoker.replies import problem
from infra.invoker.server import Invoker

log = logging.getLogger("profilepics.invoker")
MAX_BODY = 10 * 1024 * 1024


class _RequestHandler(BaseHTTPRequestHandler):
    invoker: Invoker
    protocol_version = "HTTP/1.1"
    timeout = 60  # a client that stops sending mid-request frees its thread
    # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed ACK
    # held every body back ~40 ms (wrk measured p50 48 ms for a 1 ms handler).
    disable_nagle_algorithm = True

    def _read_body(self) -> bytes | None:
        """The request body (plain or chunked), or None when it passes API Gateway's limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            return b""
        if int(length) > MAX_BODY:
            return None
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes | None:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            size = int(size_line or b"0", 16)
            if size < 0:
                raise ValueError("negative chunk size")
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > MAX_BODY:
                return None
            body += self.rfile.read(size)
            self.rfile.readline(8)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = b""
            reply = problem(400, "bad_request", "The chunked body is malformed")
            self.close_connection = True
        if body is None:
            reply = problem(413, "file_too_large", "The request body is too large")
            self.close_connection = True
        elif not self.close_connection:
            headers = list(self.headers.items())
            reply = self.invoker.handle(
                self.command, self.path, headers, body, self.client_address[0]
            )
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) gets the invoker's answer for a route that doesn't
        # exist, as from API Gateway, rather than http.server's HTML 501.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's signature
        log.info("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of clients (50 uploads at once) on a
    # busy machine overflows it, and the kernel resets connections API Gateway would take.
    request_queue_size = 128
    daemon_threads = True


def serve(invoker: Invoker, host: str, port: int) -> ThreadingHTTPServer:
    """A threading HTTP server for the invoker (call serve_forever on it)."""
    handler = type("Handler", (_RequestHandler,), {"invoker": invoker})
    return _Server((host, port), handler)
