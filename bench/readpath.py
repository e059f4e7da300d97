"""Section 12: the read path (issue 15) over HTTP, 8 connections, against the least a server can
do for the same answer, measured in the same run (bench/readbase.py): one doing the same table
read and presign, one presigning alone.

This tree's stack runs as deployed (each instance keeps a profile read for display for
`read_cache_seconds`); the tree before it reads the table strongly consistently every time.
Loads: 16 users in turn (the HTTP section's load), one hot user read by every client, and
2,000 users with no two reads of one (every read misses the per-instance cache).

`python -m bench.readpath --rounds 3 [--against main] [--env PROFILEPICS_INSTANCES=3]` runs this
section alone, round after round, and prints each figure's median and every round's value.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.http_load import Endpoint, Load, ensure_wrk, load_once, warm_up
from bench.measure import Row, Sample, Target
from infra.stack import free_port, reaped
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack

SECTION = "12 Read path"
SECONDS = 3
MANY = 2_000
SAME_GOAL = 0.8
HOT_GOAL = 0.5
PICTURE = Endpoint("GET picture", "GET", "/users/{user_id}/picture")
PROFILE = Endpoint("GET profile", "GET", "/users/{user_id}")

Pairs = list[tuple[str, str]]


@contextmanager
def baseline(stack: RunningStack, mode: str, pids: list[int] | None = None) -> Iterator[str]:
    """One of bench/readbase.py's servers on this stack's table and store; its base URL (its
    process id added to pids, when given)."""
    port = free_port()
    config = {
        "s3_endpoint": stack.info["s3_endpoint"],
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
        "bucket": stack.bucket,
        "table": stack.table,
        "dynamodb_endpoint": stack.info["dynamodb_endpoint"],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.readbase", mode, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, which the watchdog ends if we are killed
    )
    if pids is not None:
        pids.append(process.pid)
    with reaped(process.pid):
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(config))
            process.stdin.close()
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {mode} baseline did not start")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.kill()
            process.wait(10)


def seed_many(stack: RunningStack, model: str, count: int = MANY) -> list[str]:
    """count more profiles, copies of model's item (its picture included), written straight
    into the table: enough users that no two reads in a run are of the same one."""
    table = stack.dynamodb()
    item = table.get_item(TableName=stack.table, Key={"user_id": {"S": model}})["Item"]
    ids = [f"many-{index:05d}" for index in range(count)]
    for start in range(0, count, 25):
        batch = [
            {"PutRequest": {"Item": {**item, "user_id": {"S": user_id}}}}
            for user_id in ids[start : start + 25]
        ]
        pending: dict[str, Any] = {stack.table: batch}
        while pending:
            pending = table.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
    return ids


def _load(api: str, endpoint: Endpoint, pairs: Pairs) -> Load:
    warm_up(api, endpoint, pairs)
    return load_once(ensure_wrk(), api, endpoint, pairs, SECONDS)


def _pairs(endpoint: Endpoint, users: list[str], token: str) -> Pairs:
    return [(endpoint.path.replace("{user_id}", u), token) for u in users]


def measure(stack: RunningStack, users: list[str], many: list[str], token: str) -> dict[str, Load]:
    """This tree's stack and the baselines: every load of the section."""
    loads = {
        "picture, 16 users": _load(stack.api, PICTURE, _pairs(PICTURE, users, token)),
        "profile, 16 users": _load(stack.api, PROFILE, _pairs(PROFILE, users, token)),
        "picture, hot user": _load(stack.api, PICTURE, _pairs(PICTURE, users[:1], token)),
        f"picture, {MANY:,} users": _load(stack.api, PICTURE, _pairs(PICTURE, many, token)),
    }
    with baseline(stack, "same") as same, baseline(stack, "presign") as presign:
        loads["same work, 16 users"] = _load(same, PICTURE, _pairs(PICTURE, users, token))
        loads[f"same work, {MANY:,} users"] = _load(same, PICTURE, _pairs(PICTURE, many, token))
        loads["presign only"] = _load(presign, PICTURE, _pairs(PICTURE, users, token))
    return loads


def measure_before(stack: RunningStack, users: list[str], token: str) -> dict[str, Load]:
    return {
        "picture, 16 users": _load(stack.api, PICTURE, _pairs(PICTURE, users, token)),
        "profile, 16 users": _load(stack.api, PROFILE, _pairs(PROFILE, users, token)),
        "picture, hot user": _load(stack.api, PICTURE, _pairs(PICTURE, users[:1], token)),
    }


_CASES = {
    "picture, 16 users": "GET /users/{id}/picture, 16 users in turn",
    "profile, 16 users": "GET /users/{id}, 16 users in turn",
    "picture, hot user": "GET /users/{id}/picture, one hot user",
    f"picture, {MANY:,} users": f"GET /users/{{id}}/picture, {MANY:,} users (no cache hits)",
    "same work, 16 users": "GET /users/{id}/picture, 16 users in turn",
    f"same work, {MANY:,} users": f"GET /users/{{id}}/picture, {MANY:,} users (no cache hits)",
    "presign only": "GET /users/{id}/picture, 16 users in turn",
}
_APPROACH = {
    "same work, 16 users": "baseline: same table read + presign",
    f"same work, {MANY:,} users": "baseline: same table read + presign",
    "presign only": "baseline: presign only",
}


def _row(key: str, load: Load, approach: str, extra: str = "") -> Row:
    note = (
        f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.requests} requests, "
        f"{load.errors + load.socket_errors} errors ({load.tool}){extra}"
    )
    return Row(SECTION, _CASES[key], approach, Sample.of([load.per_second], "req/s"), note)


def rows(now: dict[str, Load], was: dict[str, Load]) -> tuple[list[Row], list[Target]]:
    found: list[Row] = []
    for key, load in now.items():
        if key in _APPROACH:
            found.append(_row(key, load, _APPROACH[key]))
            continue
        extra = ""
        if key in was:
            extra = f"; {load.per_second / was[key].per_second:.2f}× before"
            found.append(_row(key, was[key], "before (strongly consistent, no cache)"))
        found.append(_row(key, load, "this tree", extra))
    same = now["same work, 16 users"].per_second
    presign = now["presign only"].per_second
    targets = [
        _ratio(
            f"GET picture ≥ {SAME_GOAL}× the same-work baseline",
            now["picture, 16 users"],
            same,
            SAME_GOAL,
        ),
        _ratio(
            f"GET profile ≥ {SAME_GOAL}× the same-work baseline",
            now["profile, 16 users"],
            same,
            SAME_GOAL,
        ),
        _ratio(
            f"GET picture, {MANY:,} users (no cache hits) ≥ {SAME_GOAL}× the same-work baseline",
            now[f"picture, {MANY:,} users"],
            now[f"same work, {MANY:,} users"].per_second,
            SAME_GOAL,
        ),
        _ratio(
            f"hot profile ≥ {HOT_GOAL}× the presign-only baseline",
            now["picture, hot user"],
            presign,
            HOT_GOAL,
        ),
    ]
    failures = sum(load.errors + load.socket_errors for load in [*now.values(), *was.values()])
    targets.append(Target(SECTION, "reads: 0 errors", f"{failures} errors", failures == 0))
    return found, targets


def _ratio(goal: str, load: Load, against: float, wanted: float) -> Target:
    share = load.per_second / against
    measured = f"{share:.2f}× ({load.per_second:.0f} against {against:.0f} req/s)"
    return Target(SECTION, goal, measured, share >= wanted)


def alone(rounds: int, against: str | None, env: dict[str, str]) -> dict[str, list[float]]:
    """Section 12 by itself, `rounds` times over (with `against`, that ref's stack in turn):
    each load's req/s in every round, and each goal's ratio in every round."""
    from bench import before, inputs, report
    from bench.stack import running_stack, seed_users
    from tests.stackrun import token

    seed = inputs.jpeg_of_about(200_000)
    found: dict[str, list[float]] = {}
    with ExitStack() as stacks:
        stack = stacks.enter_context(running_stack(env=env))
        users = seed_users(stack, 16, seed)
        many, key = seed_many(stack, users[0]), token(users[0], ttl=3600)
        other = None
        if against:
            tree = stacks.enter_context(before.tree_at(against))
            # As deployed, like this tree's: its display cache on (bench/stack.py).
            cache = {"PROFILEPICS_READ_CACHE_SECONDS": stack.env["PROFILEPICS_READ_CACHE_SECONDS"]}
            other = stacks.enter_context(running_stack(tree, cache))
            seed_users(other, 16, seed)
        for _ in range(rounds):
            now = measure(stack, users, many, key)
            was = measure_before(other, users, key) if other else {}
            for name, load in [*now.items(), *((f"{against}: {k}", v) for k, v in was.items())]:
                found.setdefault(name, []).append(load.per_second)
            found_rows, found_targets = rows(now, was)
            # Each round's rows as docs/benchmarks.md shows them, to copy from the median round.
            print(report.as_markdown_rows(found_rows, found_targets), file=sys.stderr)
            for target in found_targets:
                figure = target.measured.split()[0].rstrip("×")  # "0.42× (…)", "3 errors"
                found.setdefault(target.goal, []).append(float(figure))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.readpath", description=alone.__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", help="a git ref whose stack is measured in turn (main, …)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for this stack")
    args = parser.parse_args()
    env = dict(pair.split("=", 1) for pair in args.env)
    for name, values in alone(args.rounds, args.against, env).items():
        shown = ", ".join(f"{value:,.2f}" if value < 10 else f"{value:,.0f}" for value in values)
        print(f"{name}: median {statistics.median(values):,.2f} ({shown})")


if __name__ == "__main__":
    main()
