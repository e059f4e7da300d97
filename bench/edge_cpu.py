"""Issue 15's hot read path: where the invoker's CPU a request goes, one edge against another.

`python -m bench.edge_cpu --rounds 3` starts one stack (as deployed: its display cache on),
then, each in a process of its own with its own worker pools (bench/edge_server.py): the
project's threaded h11 edge, the same edge with a 10x switch interval, and bench/edge_loop.py's
single-threaded prototype; beside them bench/readbase.py's baselines. In every round each load
runs against each server in turn (interleaved), and each server's CPU (its process and its
workers, from /proc) is divided by the requests it answered.
"""

from __future__ import annotations

import argparse
import os
import statistics
from contextlib import ExitStack
from pathlib import Path

from bench import inputs
from bench.http_edges import edge_process
from bench.http_load import ensure_wrk, load_once, warm_up
from bench.readpath import PICTURE, SECONDS, baseline, seed_many
from bench.stack import running_stack, seed_users
from tests.stackrun import _descendants, token

EDGES = ("h11", "h11-switch", "loop")
_TICK = os.sysconf("SC_CLK_TCK")
# Each load's goal compares it with one baseline (docs/benchmarks.md); the other is left out.
_BASELINE_FOR = {"hot": ("presign", "same"), "2,000 users": ("same", "presign")}


def cpu(pid: int) -> tuple[float, float]:
    """CPU seconds pid has used so far in user space and in the kernel; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def tree_cpu(pid: int) -> tuple[float, float, float, float]:
    """CPU seconds so far (user, kernel) of pid itself, then of every process below it."""
    own = cpu(pid)
    below = [cpu(child) for child in _descendants(pid)]
    return own[0], own[1], sum(b[0] for b in below), sum(b[1] for b in below)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_cpu", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--edges", default=",".join(EDGES))
    rounds = parser.parse_args().rounds
    edges = parser.parse_args().edges.split(",")
    wrk = ensure_wrk()
    found: dict[str, list[tuple[float, float, float]]] = {}
    with ExitStack() as running:
        stack = running.enter_context(running_stack())
        users = seed_users(stack, 16, inputs.jpeg_of_about(200_000))
        many, key = seed_many(stack, users[0]), token(users[0], ttl=3600)
        loads = {"hot": [(PICTURE.path.replace("{user_id}", users[0]), key)]}
        loads["2,000 users"] = [(PICTURE.path.replace("{user_id}", u), key) for u in many]
        servers: dict[str, tuple[str, int]] = {}
        for edge in edges:  # "loop@1": the loop edge with one instance a function
            name, _, instances = edge.partition("@")
            env = {**stack.env, **({"PROFILEPICS_INSTANCES": instances} if instances else {})}
            pids: list[int] = []
            servers[edge] = (running.enter_context(edge_process(name, env, pids)), pids[0])
        for mode in ("presign", "same"):
            pids = []
            servers[mode] = (running.enter_context(baseline(stack, mode, pids)), pids[0])
        for api, _ in servers.values():  # 8 at once: every instance started and warm
            warm_up(api, PICTURE, [(PICTURE.path.replace("{user_id}", u), key) for u in users])
        for _ in range(rounds):
            for load_name, pairs in loads.items():
                for name, (api, pid) in servers.items():
                    if name == _BASELINE_FOR[load_name][1]:
                        continue  # each load's baseline: presign-only for hot, same-work else
                    was = tree_cpu(pid)
                    load = load_once(wrk, api, PICTURE, pairs, SECONDS)
                    now = tree_cpu(pid)
                    count = max(load.requests, 1)
                    spent = [(b - a) / count * 1e6 for a, b in zip(was, now, strict=True)]
                    edge, functions = spent[0] + spent[1], spent[2] + spent[3]
                    label = f"{load_name}, {name}"
                    found.setdefault(label, []).append((load.per_second, edge, functions))
                    errors = load.errors + load.socket_errors
                    print(
                        f"{label}: {load.per_second:,.0f} req/s, µs CPU a request: "
                        f"{edge:,.0f} server ({spent[1]:,.0f} in the kernel), {functions:,.0f} "
                        f"workers ({spent[3]:,.0f} in the kernel); {errors} errors",
                        flush=True,
                    )
    print(f"medians over {rounds} rounds (load {os.getloadavg()[0]:.1f}):")
    for label, values in found.items():
        rate, edge, functions = (statistics.median(v[i] for v in values) for i in range(3))
        print(
            f"  {label}: {rate:,.0f} req/s, µs CPU a request: {edge:,.0f} server, "
            f"{functions:,.0f} workers"
        )


if __name__ == "__main__":
    main()
