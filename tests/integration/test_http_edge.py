"""Hostile HTTP/1.1 at the invoker's edge, over raw sockets on the real stack.

Each case is one a proxy in front of the invoker could read differently (request smuggling), one
that used to store a short upload, or one that used to answer in HTML or log a traceback.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from infra.invoker.edge import EdgeServer, Timing
from infra.invoker.replies import Reply
from tests.integration.invariants import jpeg
from tests.stackrun import RunningStack, bearer

pytestmark = pytest.mark.integration
MAX_BODY = 10 * 1024 * 1024
# 41 bytes: what a front end would pass on as the body, and this server must never run.
SMUGGLED = b"GET /users/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    raw_head: bytes = field(default=b"", repr=False)

    def problem(self) -> dict[str, object]:
        assert self.headers.get("content-type") == "application/problem+json", self
        document = json.loads(self.body)
        assert isinstance(document, dict)
        assert document["status"] == self.status
        return document


def address(api: str) -> tuple[str, int]:
    parts = urlsplit(api)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def connect(api: str, timeout: float = 10) -> socket.socket:
    return socket.create_connection(address(api), timeout=timeout)


def read_until_closed(sock: socket.socket, timeout: float = 10) -> tuple[bytes, bool]:
    """Everything the server sends, and whether it closed the connection within timeout."""
    sock.settimeout(timeout)
    data = bytearray()
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return bytes(data), False
    except ConnectionResetError:
        pass
    return bytes(data), True


def parse(data: bytes, head_only: tuple[int, ...] = ()) -> list[Answer]:
    """The HTTP responses in data, in order (bodies framed by Content-Length)."""
    answers = []
    while data:
        head, separator, rest = data.partition(b"\r\n\r\n")
        assert separator, f"an incomplete response: {data[:200]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if status in head_only else int(headers.get("content-length", "0"))
        answers.append(Answer(status, headers, rest[:length], head))
        data = rest[length:]
    return answers


def exchange(api: str, request: bytes, timeout: float = 10) -> tuple[list[Answer], bool]:
    """Send request bytes on a fresh connection; the answers and whether the server closed."""
    with connect(api, timeout) as sock:
        sock.sendall(request)
        data, closed = read_until_closed(sock, timeout)
    return parse(data), closed


def put_head(user_id: str, *headers: str) -> bytes:
    lines = [
        f"PUT /users/{user_id}/picture HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: {bearer(user_id)['Authorization']}",
        "Content-Type: image/jpeg",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_users_head(framing: str) -> bytes:
    return (
        "POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


def picture_of(api: str, user_id: str) -> object:
    return requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"]


def test_a_body_shorter_than_its_content_length_is_refused_and_nothing_is_stored(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    data = jpeg()
    with connect(api) as sock:
        sock.sendall(put_head(user_id, f"Content-Length: {len(data) + 100}") + data)
        sock.shutdown(socket.SHUT_WR)  # the client half-closes: no more bytes will come
        raw, closed = read_until_closed(sock)

    [answer] = parse(raw)
    assert answer.status == 400
    assert answer.problem()["code"] == "bad_request"
    assert closed
    assert picture_of(api, user_id) is None
    assert stack.keys(f"originals/{user_id}/") == []


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: +41",
        "Content-Length: 0x29",
        "Content-Length: -1",
        "Content-Length: 41,41",
        "Content-Length: 41, 42",
        "Content-Length: 4 1",
        "Content-Length: 41x",
        "Content-Length: ",
        "Content-Length: 41\r\nContent-Length: 41",
        "Content-Length: 41\r\nContent-Length: 0",
        "Content-Length: 41\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 41",
        "Content-Length : 41",
        " Content-Length: 41",  # folded into the header above it, by h11 as by RFC 9112
        "X-Pad: 1\r\n\tContent-Length: 41",
    ],
)
def test_ambiguous_framing_is_a_400_problem_and_the_connection_closes(
    api: str, framing: str
) -> None:
    answers, closed = exchange(api, post_users_head(framing) + SMUGGLED)

    assert [a.status for a in answers] == [400], answers  # one answer: the body never ran
    assert answers[0].problem()["code"] == "bad_request"
    assert answers[0].headers.get("connection") == "close"
    assert closed


@pytest.mark.parametrize(
    "framing",
    [
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: xchunked",
        "Transfer-Encoding: identity",
    ],
)
def test_transfer_codings_other_than_chunked_are_501_and_close(api: str, framing: str) -> None:
    answers, closed = exchange(api, post_users_head(framing) + SMUGGLED)

    assert [a.status for a in answers] == [501], answers
    assert answers[0].problem()["code"] == "not_implemented"
    assert closed


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\n0\n\n",  # bare LF line ends, read differently by other parsers
        b"5\r\nhelloXX0\r\n\r\n",  # data longer than its size
        b"fffffffffffffffffffffff\r\n",
    ],
)
def test_malformed_chunked_bodies_are_400_and_close(api: str, chunks: bytes) -> None:
    head = post_users_head("Transfer-Encoding: chunked")

    answers, closed = exchange(api, head + chunks + SMUGGLED)

    assert [a.status for a in answers] == [400], answers
    assert answers[0].problem()["code"] == "bad_request"
    assert closed


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    with connect(api) as sock:
        sock.sendall(put_head(user_id, f"Content-Length: {MAX_BODY + 1}"))  # and no body at all
        raw, closed = read_until_closed(sock)

    [answer] = parse(raw)
    assert answer.status == 413
    assert answer.problem()["code"] == "file_too_large"
    assert closed


def test_a_chunked_body_over_the_limit_is_413_before_the_rest_is_read(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    piece = b"\xff" * 65536
    with connect(api) as sock:
        # One chunk of twice the limit, of which a little over the limit is ever sent.
        sock.sendall(put_head(user_id, "Transfer-Encoding: chunked") + b"%x\r\n" % (2 * MAX_BODY))
        try:
            for _ in range(MAX_BODY // len(piece) + 16):
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading once it had answered
        raw, closed = read_until_closed(sock)

    [answer] = parse(raw)
    assert answer.status == 413
    assert answer.problem()["code"] == "file_too_large"
    assert closed


def test_expect_100_continue_is_honoured_and_refused_early_when_too_large(
    api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    data = jpeg()
    with connect(api) as sock:
        sock.sendall(put_head(user_id, f"Content-Length: {len(data)}", "Expect: 100-continue"))
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        raw, _ = read_until_closed(sock)
    assert parse(interim.partition(b"\r\n\r\n")[2] + raw)[0].status == 201

    big = put_head(user_id, f"Content-Length: {MAX_BODY + 1}", "Expect: 100-continue")
    answers, closed = exchange(api, big)
    assert [a.status for a in answers] == [413]
    assert closed


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET /" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, None),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 5_000 + b"\r\n", 431, None),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "bad_request"),  # HTTP/1.1 needs a Host
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400, "bad_request"),
        (b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "http_version_not_supported"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, 400, "bad_request"),
    ],
    ids=[
        "uri-70k",
        "uri-9k",
        "header-70k",
        "5000-headers",
        "no-host",
        "space-in-name",
        "nul-in-method",
        "http2-version",
        "http2-preface",
        "tls-hello",
    ],
)
def test_requests_the_edge_cannot_take_get_a_problem_and_close(
    api: str, request_bytes: bytes, status: int, code: str | None
) -> None:
    answers, closed = exchange(api, request_bytes)

    assert [a.status for a in answers] == [status], answers
    assert answers[0].problem()["code"] == (code or "headers_too_large")
    assert closed


def test_answers_name_no_server_software_and_keep_alive_pipelines_in_order(api: str) -> None:
    one = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    missing = b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    last = b"GET /config.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    answers, closed = exchange(api, one + missing + last)  # pipelined, in one write

    assert [a.status for a in answers] == [200, 404, 200]
    assert answers[1].problem()["code"] == "not_found"
    assert closed
    for answer in answers:
        assert "server" not in answer.headers
        assert b"Python" not in answer.raw_head and b"BaseHTTP" not in answer.raw_head


def test_unknown_methods_are_a_404_problem_and_the_connection_lives(api: str) -> None:
    with connect(api) as sock:
        for method in (b"TRACE", b"QUERY", b"BREW"):
            sock.sendall(method + b" /users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = sock.recv(65536)
            [answer] = parse(head)
            assert answer.status == 404
            assert answer.problem()["code"] == "not_found"


def test_a_head_request_gets_headers_only(api: str) -> None:
    with connect(api) as sock:
        # As on API Gateway, HEAD matches no GET route: a 404, its body left out.
        sock.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw, closed = read_until_closed(sock)

    [answer] = parse(raw, head_only=(404,))
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["content-length"]) > 0
    assert raw.endswith(b"\r\n\r\n")  # and nothing after the head
    assert closed


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashed or gave up would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_vanish_leave_no_traceback_in_the_log(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    before = len(stack.log())
    data = jpeg("navy", (640, 480))
    for _ in range(5):
        # Gone while the function runs: the answer meets a closed socket.
        sock = connect(api)
        sock.sendall(put_head(user_id, f"Content-Length: {len(data)}") + data)
        _reset(sock)
        # Gone in the middle of the head, and in the middle of the body.
        sock = connect(api)
        sock.sendall(b"GET /users/" + user_id.encode() + b" HTTP/1.1\r\nHost:")
        _reset(sock)
        sock = connect(api)
        sock.sendall(put_head(user_id, f"Content-Length: {len(data)}") + data[:100])
        _reset(sock)
        # Connected, and gone without a byte.
        _reset(connect(api))
    time.sleep(2)  # the function calls above finish and meet their closed sockets

    assert requests.get(f"{api}/health", timeout=10).status_code == 200
    log = stack.log()[before:]
    assert "Traceback" not in log
    assert "Error" not in log, log[-2000:]


@pytest.fixture
def quick_edge() -> Iterator[str]:
    """The edge alone, in this process, with short time limits and a handler that echoes."""

    def handler(
        method: str, target: str, headers: list[tuple[str, str]], body: bytes, ip: str
    ) -> Reply:
        if target == "/boom":
            raise RuntimeError("a bug in the invoker")
        return Reply(200, [("Content-Type", "text/plain")], b"%d bytes" % len(body))

    server = EdgeServer(handler, "127.0.0.1", 0, timing=Timing(idle=1.0, request=2.0, linger=0.5))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_seconds": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    "partial",
    [b"GET / HTTP/1.1\r\nHost:", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"],
    ids=["head", "body"],
)
def test_a_client_that_stalls_mid_request_gets_408_and_is_closed(
    quick_edge: str, partial: bytes
) -> None:
    answers, closed = exchange(quick_edge, partial, timeout=5)

    assert [a.status for a in answers] == [408]
    assert answers[0].problem()["code"] == "request_timeout"
    assert closed


def test_a_request_trickling_in_is_cut_off_at_the_request_deadline(quick_edge: str) -> None:
    with connect(quick_edge, timeout=5) as sock:
        began = time.monotonic()
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if _readable(sock):
                break  # answered
            time.sleep(0.5)  # under the idle limit each time, never finishing
        raw, closed = read_until_closed(sock, timeout=5)

    assert parse(raw)[0].status == 408
    assert closed
    assert time.monotonic() - began < 5


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def test_an_idle_keep_alive_connection_is_closed_quietly(quick_edge: str) -> None:
    with connect(quick_edge, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        raw, closed = read_until_closed(sock, timeout=5)  # then say nothing more

    assert parse(first)[0].status == 200
    assert raw == b""
    assert closed


def test_an_invoker_bug_is_a_500_problem_without_a_trace(
    quick_edge: str, caplog: pytest.LogCaptureFixture
) -> None:
    answers, _ = exchange(quick_edge, b"GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    assert [a.status for a in answers] == [500]
    assert answers[0].problem()["code"] == "internal_error"
    assert "a bug in the invoker" not in answers[0].body.decode()
    assert all(record.exc_info is None for record in caplog.records)
