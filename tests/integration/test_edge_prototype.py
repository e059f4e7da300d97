"""bench/edge_loop.py's single-threaded prototype answers the read path as the project's edge
does, on the real stack: bench/edge_cpu.py compares their CPU, so they must do the same work."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.http_edges import edge_process
from tests.integration.rawhttp import connect, parse, read_until_closed
from tests.stackrun import RunningStack, bearer

pytestmark = pytest.mark.integration


def _reads(api: str, path: str, headers: dict[str, str]) -> list[tuple[int, list[str]]]:
    """Eight keep-alive clients at once, five reads each: each answer's status and JSON keys."""

    def client(_: int) -> list[tuple[int, list[str]]]:
        with requests.Session() as http:
            found = []
            for _ in range(5):
                answer = http.get(f"{api}{path}", headers=headers, timeout=30)
                assert answer.headers["Apigw-Requestid"]
                found.append((answer.status_code, sorted(answer.json())))
            return found

    with ThreadPoolExecutor(8) as pool:
        return [one for found in pool.map(client, range(8)) for one in found]


def test_the_loop_prototype_answers_reads_as_the_threaded_edge(
    stack: RunningStack, user: dict[str, str]
) -> None:
    path = f"/users/{user['user_id']}/picture"
    with edge_process("loop", stack.env) as loop, edge_process("h11", stack.env) as threaded:
        for headers in (bearer(user["user_id"]), {}):
            expected = _reads(threaded, path, headers)
            assert _reads(loop, path, headers) == expected
            assert len({status for status, _ in expected}) == 1
        # Two requests in one write, answered in order; an unknown route from the invoker.
        with connect(loop) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                + b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            first, second = parse(read_until_closed(sock)[0])
        assert (first.status, second.status) == (200, 404)
        assert "url" in json.loads(first.body) and second.problem()["code"] == "not_found"
