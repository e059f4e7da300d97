"""Hostile HTTP/1.1 at the invoker's edge, over raw sockets on the real stack.

Each case is one a proxy in front of the invoker could read differently (request smuggling), one
that used to store a short upload, or one that used to answer in HTML or log a traceback.
"""

from __future__ import annotations

import socket

import pytest
import requests

from tests.api_client import jpeg
from tests.integration.rawhttp import (
    connect,
    exchange,
    parse,
    read_one,
    read_until_closed,
    reset,
)
from tests.stackrun import RunningStack, bearer, wait_for

pytestmark = pytest.mark.integration
MAX_BODY = 10 * 1024 * 1024
# 41 bytes: what a front end would pass on as the body, and this server must never run.
SMUGGLED = b"GET /users/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


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
            answer = read_one(sock)
            assert answer.status == 404
            assert answer.problem()["code"] == "not_found"


@pytest.mark.parametrize(
    "target", [b"//127.0.0.1/health", b"//evil.example/users", b"//x/_dev/token/ada"]
)
def test_a_path_that_begins_with_two_slashes_is_that_path_not_a_host_and_another_path(
    api: str, target: bytes
) -> None:
    # An origin-form target is a path: a proxy in front routes `//x/health` as that path, so
    # the invoker must not read `x` as a host and serve `/health`.
    answers, _ = exchange(
        api, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )

    assert [a.status for a in answers] == [404], answers
    assert answers[0].problem()["code"] == "not_found"


def test_an_absolute_form_target_is_served_as_its_path(api: str) -> None:
    request = (
        b"GET http://127.0.0.1/health?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )

    answers, _ = exchange(api, request)

    assert [a.status for a in answers] == [200], answers


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


def test_clients_that_vanish_leave_no_traceback_in_the_log(
    stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    before = len(stack.log())
    data = jpeg(640, 480, "navy")
    for _ in range(5):
        # Gone while the function runs: the answer meets a closed socket.
        sock = connect(api)
        sock.sendall(put_head(user_id, f"Content-Length: {len(data)}") + data)
        reset(sock)
        # Gone in the middle of the head, and in the middle of the body.
        sock = connect(api)
        sock.sendall(b"GET /users/" + user_id.encode() + b" HTTP/1.1\r\nHost:")
        reset(sock)
        sock = connect(api)
        sock.sendall(put_head(user_id, f"Content-Length: {len(data)}") + data[:100])
        reset(sock)
        # Connected, and gone without a byte.
        reset(connect(api))
    # The five whole uploads reach the function and finish, meeting their closed sockets: each
    # then has its access line (written however the answer's send went).
    answered = f"PUT /users/{user_id}/picture 20"
    wait_for(
        lambda: stack.log()[before:].count(answered) >= 5,
        "the uploads of the vanished clients finish",
        timeout=60,
    )

    assert requests.get(f"{api}/health", timeout=10).status_code == 200
    log = stack.log()[before:]
    assert "Traceback" not in log
    assert "Error" not in log, log[-2000:]
