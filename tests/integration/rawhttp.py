"""Raw HTTP/1.1 over sockets for the edge tests: bytes out exactly as written, answers parsed."""

from __future__ import annotations

import json
import select
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit


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


def read_one(sock: socket.socket) -> Answer:
    """One whole response from a connection that stays open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
    while len(data.partition(b"\r\n\r\n")[2]) < length:
        data += sock.recv(65536)
    [answer] = parse(data)
    return answer


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashed or gave up would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])
