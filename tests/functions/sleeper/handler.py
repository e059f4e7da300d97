"""A function for the invoker's own tests: on request it sleeps, allocates, exits or writes.

Each answer names the worker process that served it and how many requests that process has
served, so a test can tell a warm instance from a fresh one.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from profilepics import deps

_served = 0
# The store's client is made here, in the instance's init (as a function's clients are), so a
# request's Timeout times its own work, not minio's import on a busy machine (seen: 2.6 s). Made,
# not pinged: the unit tests' instances have no store to answer.
deps.container()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _served
    _served += 1
    order = json.loads(event.get("body") or "{}")
    time.sleep(float(order.get("sleep", 0)))
    if order.get("allocate_mb"):
        # Filled, not just reserved: only touched pages count as resident memory.
        held = b"\x01" * (int(order["allocate_mb"]) * 1024 * 1024)
        time.sleep(float(order.get("hold", 0)))
        del held
    if order.get("exit"):
        os._exit(3)
    if order.get("write"):
        deps.container().store.put(
            order["write"], b"written after the sleep", "text/plain", "no-store"
        )
    body = {"pid": os.getpid(), "served": _served}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
