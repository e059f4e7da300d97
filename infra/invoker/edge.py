"""The invoker's HTTP/1.1 edge: h11 reads and writes every byte, a thread serves each connection.

h11 does the protocol (request line, headers, Content-Length and chunked framing, keep-alive,
pipelining, 100-continue); this module adds what an edge in front of Lambda needs on top: API
Gateway's body ceiling, checked while the body streams in; refusing any framing a proxy could
read differently; time limits; and answering every failure as problem+json, then closing.
"""

from __future__ import annotations

import functools
import logging
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import h11

from infra.invoker.access_log import AccessLog
from infra.invoker.replies import Reply, problem
from infra.invoker.target import path_and_query

log = logging.getLogger("profilepics.invoker.edge")

MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API's own payload ceiling
MAX_HEAD = 16 * 1024  # request line and headers together
MAX_TARGET = 8 * 1024
# Each read is copied twice inside h11; at 64 KiB the copies stay in malloc's heap, while 256 KiB
# or 1 MiB reads each took fresh pages from the kernel and made a 1 MB body 5x slower to take in.
READ_SIZE = 64 * 1024
IDLE_SECONDS = 60.0  # between requests on a keep-alive connection, and between reads
REQUEST_SECONDS = 120.0  # for a whole request to arrive, however slowly it trickles in
LINGER_SECONDS = 2.0  # reading what a refused client still sends, so it sees the answer
BACKLOG = 128  # bursts of clients on a busy machine (the kernel resets beyond it)
HTTP_VERSIONS = (b"1.0", b"1.1")
NO_BODY = (204, 304)

# (code, title) of each error the edge itself answers; the rest come from the invoker.
EDGE_ERRORS = {
    400: ("bad_request", "Bad request"),
    408: ("request_timeout", "The request did not arrive in time"),
    413: ("file_too_large", "The request body is too large"),
    414: ("uri_too_long", "The request target is too long"),
    431: ("headers_too_large", "The request headers are too large"),
    500: ("internal_error", "Internal error"),
    501: ("not_implemented", "Transfer coding not supported"),
    505: ("http_version_not_supported", "Only HTTP/1.1 and HTTP/1.0 are served"),
}

_FOLDED_LINE = re.compile(rb"\n[ \t]")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")

Handler = Callable[[str, str, list[tuple[str, str]], bytes, str], Reply]
AccessLogger = Callable[[str, str, int, float, str | None], None]


class EdgeError(Exception):
    """A request refused at the edge; the connection closes after the answer."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ClientGone(Exception):
    """The client closed or reset the connection, or went quiet between requests."""


def edge_problem(status: int, detail: str = "") -> Reply:
    code, title = EDGE_ERRORS[status]
    return problem(status, code, title, detail)


def framing_error(head: bytes) -> str | None:
    """Why a request head's framing is ambiguous (a proxy could read it otherwise), or None.

    h11 accepts a list of equal lengths ("41,41"), takes Transfer-Encoding over Content-Length,
    and unfolds continuation lines, all as RFC 9112 allows; an edge refuses all three instead.
    """
    if _FOLDED_LINE.search(head):
        return "Header lines may not be folded"
    lengths = _CONTENT_LENGTH.findall(head)
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        return "Send one Content-Length of decimal digits"
    if lengths and _TRANSFER_ENCODING.search(head):
        return "Send Content-Length or Transfer-Encoding, not both"
    return None


@dataclass
class Timing:
    idle: float = IDLE_SECONDS
    request: float = REQUEST_SECONDS
    linger: float = LINGER_SECONDS


class Connection:
    """One client connection: requests in, replies out, until either side closes."""

    def __init__(
        self,
        sock: socket.socket,
        client: str,
        handler: Handler,
        access: AccessLogger,
        timing: Timing,
    ) -> None:
        self._sock = sock
        self._client = client
        self._handler = handler
        self._access = access
        self._timing = timing
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._head = bytearray()  # the current request's raw head, for checks h11 can't make
        # One buffer per connection, read into, rather than a new bytes object per read.
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self._deadline = 0.0
        self._began = 0.0

    def serve(self) -> None:
        try:
            while self._serve_one():
                self._h11.start_next_cycle()
        except ClientGone as gone:
            log.debug("client %s went away: %s", self._client, gone)
        except OSError as exc:
            log.debug("client %s: connection error %s", self._client, type(exc).__name__)
        except Exception as exc:  # a bug here must not print a thread's traceback either
            log.error("edge error with client %s: %s", self._client, type(exc).__name__)
        finally:
            self._sock.close()

    def _serve_one(self) -> bool:
        """Serve one request; whether the connection may carry another."""
        self._head = bytearray(self._h11.trailing_data[0])
        self._began = time.monotonic()
        self._deadline = self._began + self._timing.request if self._head else 0.0
        method, target = "-", "-"
        try:
            request = self._read_head()
            method, target = request.method.decode("ascii"), request.target.decode("ascii")
            self._check(request)
            body = self._read_body(request)
        except h11.RemoteProtocolError as exc:
            reply = edge_problem(self._status_for(exc), "The request is not valid HTTP/1.1")
        except EdgeError as exc:
            reply = edge_problem(exc.status, exc.detail)
        else:
            reply = self._call(method, target, request, body)
        unread = self._h11.their_state is not h11.DONE
        try:
            self._send(reply, method, close=unread)
        finally:
            path = path_and_query(target)[0]
            self._access(method, path, reply.status, self._millis(), reply.function)
        if unread:
            self._linger()
        return self._h11.our_state is h11.DONE and not unread

    def _call(self, method: str, target: str, request: h11.Request, body: bytes) -> Reply:
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw_items()
        ]
        try:
            return self._handler(method, target, headers, body, self._client)
        except Exception as exc:  # a bug in the invoker: answered and logged by type, no trace
            log.error("invoker error on %s: %s", method, type(exc).__name__)
            return edge_problem(500)

    def _status_for(self, exc: h11.RemoteProtocolError) -> int:
        status = exc.error_status_hint
        if status == 431 and b"\n" not in self._head:
            return 414  # the request line alone filled the head's room
        return status if status in EDGE_ERRORS else 400

    def _read_head(self) -> h11.Request:
        while True:
            event = self._h11.next_event()
            if isinstance(event, h11.Request):
                return event
            if event is h11.NEED_DATA:
                self._receive(head=True)
            else:  # ConnectionClosed: the client finished with this connection
                raise ClientGone("closed between requests")

    def _check(self, request: h11.Request) -> None:
        if request.http_version not in HTTP_VERSIONS:
            raise EdgeError(505)
        if len(request.target) > MAX_TARGET:
            raise EdgeError(414)
        end = _END_OF_HEAD.search(self._head)
        if end is None or end.end() > MAX_HEAD:
            raise EdgeError(431)  # h11 checks the size only of a head still arriving
        reason = framing_error(bytes(self._head[: end.end()]))
        if reason:
            raise EdgeError(400, reason)
        declared = self._declared_length(request)
        if declared is not None and declared > MAX_BODY:
            raise EdgeError(413, f"The limit is {MAX_BODY} bytes")

    @staticmethod
    def _declared_length(request: h11.Request) -> int | None:
        for name, value in request.headers:
            if name == b"content-length":
                return int(value)
        return None

    def _read_body(self, request: h11.Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self._h11.next_event()
            if isinstance(event, h11.Data):
                chunks.append(event.data)
                size += len(event.data)
                if size > MAX_BODY:
                    raise EdgeError(413, f"The limit is {MAX_BODY} bytes")
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            elif event is h11.NEED_DATA:
                if self._h11.they_are_waiting_for_100_continue:
                    self._sock.sendall(
                        self._h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                self._receive(head=False)
            else:
                raise ClientGone(f"unexpected {type(event).__name__} in {request.method!r}")

    def _receive(self, head: bool) -> None:
        now = time.monotonic()
        waiting_for_a_request = head and not self._head
        timeout = self._timing.idle
        if self._deadline:
            timeout = min(timeout, self._deadline - now)
        if timeout <= 0:
            raise EdgeError(408)
        self._sock.settimeout(timeout)
        try:
            received = self._sock.recv_into(self._buffer)
        except TimeoutError:
            if waiting_for_a_request:
                raise ClientGone("idle") from None
            raise EdgeError(408) from None
        if not received and waiting_for_a_request:
            raise ClientGone("closed between requests")
        # h11 copies what it is given (any bytes-like object), so the buffer is free again.
        data = cast(bytes, self._view[:received])
        if not self._deadline:
            self._began = now
            self._deadline = now + self._timing.request
        if head and len(self._head) <= MAX_HEAD:
            self._head += data
        self._h11.receive_data(data)  # b"" tells h11 the client half-closed

    def _send(self, reply: Reply, method: str, close: bool) -> None:
        out = self._h11.send(self._response(reply, close)) or b""
        if reply.body and method != "HEAD" and reply.status not in NO_BODY:
            out += self._h11.send(h11.Data(data=reply.body)) or b""
        out += self._h11.send(h11.EndOfMessage()) or b""
        self._sock.sendall(out)

    def _response(self, reply: Reply, close: bool) -> h11.Response:
        """The h11 response for reply; a function's invalid header makes it a 502 instead."""
        try:
            return h11.Response(
                status_code=reply.status,
                headers=self._headers(reply, close),
                reason=_reason(reply.status),
            )
        except h11.LocalProtocolError:
            log.error("a function answered an invalid HTTP header")
            bad = problem(502, "function_error", "The function failed")
            reply.status, reply.headers, reply.body = bad.status, bad.headers, bad.body
            return h11.Response(
                status_code=502, headers=self._headers(reply, close), reason=_reason(502)
            )

    @staticmethod
    def _headers(reply: Reply, close: bool) -> list[tuple[str, str]]:
        own = ("content-length", "connection", "transfer-encoding", "date", "server")
        headers = [(n, v) for n, v in reply.headers if n.lower() not in own]
        headers.append(("Date", _http_date(int(time.time()))))
        if reply.status not in NO_BODY:
            headers.append(("Content-Length", str(len(reply.body))))
        if close:
            headers.append(("Connection", "close"))
        return headers

    def _linger(self) -> None:
        """Half-close, then drain briefly: closing with unread input would reset the
        connection and could destroy the answer before the client reads it."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + self._timing.linger
            drained = 0
            while (left := deadline - time.monotonic()) > 0 and drained <= 2 * MAX_BODY:
                self._sock.settimeout(left)
                chunk = self._sock.recv(READ_SIZE)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass  # timed out, or the client is already gone: either way, done

    def _millis(self) -> float:
        return (time.monotonic() - self._began) * 1000


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class EdgeServer:
    """A listening socket and a thread per connection (call serve_forever, then shutdown)."""

    def __init__(
        self,
        handler: Handler,
        host: str,
        port: int,
        access: AccessLogger | None = None,
        timing: Timing | None = None,
    ) -> None:
        self._handler = handler
        self._access = access or AccessLog()
        self._timing = timing or Timing()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
            self._socket.listen(BACKLOG)
        except OSError:
            self._socket.close()
            raise
        self.server_address: tuple[str, int] = self._socket.getsockname()[:2]
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_seconds: float = 0.5) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._socket], [], [], poll_seconds)
                if ready:
                    self._accept()
        finally:
            self._stopped.set()

    def _accept(self) -> None:
        try:
            sock, peer = self._socket.accept()
        except OSError:
            return  # the client gave up while queued, or the socket is closing
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(sock, str(peer[0]), self._handler, self._access, self._timing)
        threading.Thread(target=connection.serve, name=f"http-{peer[1]}", daemon=True).start()

    def shutdown(self) -> None:
        """Stop accepting; serve_forever returns. Requests in progress finish on their own."""
        self._stop.set()
        self._stopped.wait()

    def server_close(self) -> None:
        self._socket.close()
        if isinstance(self._access, AccessLog):
            self._access.close()
