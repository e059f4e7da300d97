"""A local stack of its own for the benchmarks, seeded with users who have a picture."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from profilepics.config import Settings

from bench import before
from tests.stackrun import RunningStack, bearer, start_stack


@contextmanager
def running_stack(tree: Path | None = None) -> Iterator[RunningStack]:
    """This checkout's stack as deployed (its display cache on), or tree's (bench/before.py)."""
    if tree is None:
        cache = Settings.model_fields["read_cache_seconds"].default
        env, cwd = {"PROFILEPICS_READ_CACHE_SECONDS": str(cache)}, None
    else:
        env, cwd = {"PYTHONPATH": before.python_path(tree)}, tree
    with tempfile.TemporaryDirectory(prefix="profilepics-bench-") as tmp:
        stack = start_stack(Path(tmp), env, cwd)
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
