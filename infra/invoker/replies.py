"""What the invoker answers: a status, headers and a body; errors as problem+json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    function: str | None = None  # the function that answered, for the access log


def problem(status: int, code: str, title: str, detail: str = "") -> Reply:
    body = {
        "type": f"https://profilepics.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    return Reply(status, [("Content-Type", "application/problem+json")], json.dumps(body).encode())
