"""The edge's own framing rule on top of h11: one plain Content-Length, never with chunked."""

from __future__ import annotations

import pytest

from infra.invoker.edge import framing_error
from infra.invoker.target import path_and_query

HEAD = b"POST /users HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    "lines",
    [b"", b"Content-Length: 41\r\n", b"content-length:41\r\n", b"Transfer-Encoding: chunked\r\n"],
)
def test_plain_framing_passes(lines: bytes) -> None:
    assert framing_error(HEAD + lines + b"\r\n") is None


@pytest.mark.parametrize(
    "lines",
    [
        b"Content-Length: 41,41\r\n",
        b"Content-Length: 41\r\nContent-Length: 41\r\n",
        b"Content-Length: +41\r\n",
        b"Content-Length: 4\xd9\xa1\r\n",  # a non-ASCII digit
        b"Content-Length: 41\r\nTransfer-Encoding: chunked\r\n",
        b"X-A: 1\r\n Content-Length: 41\r\n",
        b"X-A: 1\r\n\tContent-Length: 41\r\n",
    ],
)
def test_ambiguous_framing_is_named(lines: bytes) -> None:
    assert framing_error(HEAD + lines + b"\r\n")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/users/ada?size=64", ("/users/ada", "size=64")),
        ("//evil.example/health", ("//evil.example/health", "")),
        ("//x/users?a=//b", ("//x/users", "a=//b")),
        ("http://127.0.0.1:3000/health?x=1", ("/health", "x=1")),
        ("HTTPS://h", ("/", "")),
        ("*", ("*", "")),
    ],
)
def test_a_target_s_path_is_what_a_proxy_routes(target: str, expected: tuple[str, str]) -> None:
    assert path_and_query(target) == expected
