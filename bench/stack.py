"""A local stack of its own for the benchmarks, seeded with users who have a picture."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from profilepics.config import Settings

from bench import before
from tests.stackrun import RunningStack, bearer, start_stack


@contextmanager
def running_stack(
    tree: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[RunningStack]:
    """This checkout's stack as deployed (its display cache on), or tree's (bench/before.py);
    env adds to (or overrides) its environment."""
    if tree is None:
        cache = Settings.model_fields["read_cache_seconds"].default
        base, cwd = {"PROFILEPICS_READ_CACHE_SECONDS": str(cache)}, None
    else:
        base, cwd = {"PYTHONPATH": before.python_path(tree)}, tree
    with tempfile.TemporaryDirectory(prefix="profilepics-bench-") as tmp:
        stack = start_stack(Path(tmp), {**base, **(env or {})}, cwd)
        try:
            yield stack
        finally:
            stack.stop()


def seed_users(stack: RunningStack, count: int, picture: bytes) -> list[str]:
    """count users, each with picture uploaded through the API."""
    ids = [f"bench-{index:03d}" for index in range(count)]
    with requests.Session() as http:
        for user_id in ids:
            body = {"user_id": user_id, "display_name": "Bench User", "email": f"{user_id}@ex.com"}
            made = http.post(f"{stack.api}/users", json=body, headers=bearer(user_id), timeout=30)
            if made.status_code != 201:
                raise RuntimeError(f"creating {user_id} failed: {made.status_code}")
            headers = {**bearer(user_id), "Content-Type": "image/jpeg"}
            put = http.put(
                f"{stack.api}/users/{user_id}/picture", data=picture, headers=headers, timeout=30
            )
            if put.status_code not in (200, 201):
                raise RuntimeError(f"uploading for {user_id} failed: {put.status_code}")
    return ids


def child_config(stack: RunningStack) -> dict[str, object]:
    """What a child process needs to reach this stack as the invoker's workers do."""
    env = {k: v for k, v in stack.env.items() if k.startswith("PROFILEPICS_")}
    return {"env": env, "info": stack.info}


def ready(stack: RunningStack, user_id: str, timeout: float = 60) -> dict[str, object]:
    """The user's picture as the table holds it, once its variants are made."""
    table = stack.dynamodb()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = table.get_item(
            TableName=stack.table, Key={"user_id": {"S": user_id}}, ConsistentRead=True
        )["Item"]
        picture: dict[str, object] = item["picture"]["M"]
        if picture["status"] == {"S": "ready"}:
            return picture
        time.sleep(0.2)
    raise RuntimeError(f"{user_id}'s picture was not ready within {timeout} s")


def as_written_before_issue_12(stack: RunningStack, user_id: str) -> str:
    """user_id, whose picture item is rewritten as a core before issue 12 wrote it: variants
    by bare size, WebP only, no revision (the keys stay: reads only sign them)."""
    picture = ready(stack, user_id)
    variants: Any = picture["variants"]
    webp = {
        name.split(".")[0]: key for name, key in variants["M"].items() if name.endswith(".webp")
    }
    for field in ("revision", "on_demand", "retired"):
        picture.pop(field, None)
    picture["variants"] = {"M": webp}
    stack.dynamodb().update_item(
        TableName=stack.table,
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET picture = :p",
        ExpressionAttributeValues={":p": {"M": picture}},
    )
    return user_id
