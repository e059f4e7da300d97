"""What the invoker answers: a status, headers and a body; errors as problem+json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from profilepics.errors import PROBLEM_JSON, problem_body


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    function: str | None = None  # the function that answered, for the access log


def problem(status: int, code: str, title: str, detail: str = "") -> Reply:
    body = json.dumps(problem_body(status, code, title, detail)).encode()
    return Reply(status, [("Content-Type", PROBLEM_JSON)], body)
