"""The edge's time limits and its own failures, on real sockets: the edge alone, in-process,
with limits short enough to test (the stack's are a minute and more)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from infra.invoker.edge import EdgeServer, Timing
from infra.invoker.replies import Reply
from tests.integration.rawhttp import connect, exchange, parse, read_until_closed, readable


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
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    sent = 0
    with connect(quick_edge, timeout=5) as sock:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            if readable(sock):
                break  # answered
            time.sleep(0.5)  # under the idle limit each time, never finishing
        raw, closed = read_until_closed(sock, timeout=5)

    assert parse(raw)[0].status == 408
    assert closed
    # Cut off by the 2 s request deadline, counted in bytes, not read off the clock: each byte
    # waits at least 0.5 s, so about 5 get through (a slower machine lets fewer through, never
    # more). The idle limit is never reached: alone, it would have waited for all 125.
    assert sent < 12


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
