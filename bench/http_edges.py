"""Section 6: the invoker's HTTP edge before issue 11 (http.server) against the project's (h11),
side by side on one local stack: each edge in a process of its own (bench/edge_server.py) with
its own worker pools, the same load (bench/http_load.py), in alternating rounds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

from bench.http_load import Endpoint, Load, endpoints_for, ensure_wrk, load_once, warm_up
from bench.measure import Row, Sample, Target
from infra.stack import free_port, reaped
from tests.stackrun import EVENTS_TOKEN

SECTION = "6 HTTP edge"
ROUNDS = 1  # issue 15 keeps make bench under 5 minutes: one round of each
SECONDS = 3
# (label, the name bench/edge_server.py knows it by), the baseline first.
EDGES = (("http.server (before)", "http.server"), ("h11 edge (project)", "h11"))
NOISE = 0.05  # what one run's figures wander by on this machine: within it is "no drop"
REPO = Path(__file__).resolve().parent.parent
# The edge's own cost, with no function behind it: a page, and a 1 MB body read whole.
EDGE_ONLY = (
    Endpoint("GET /config.json (no function)", "GET", "/config.json"),
    Endpoint(
        "POST /_events/s3 (1 MB body, no function)",
        "POST",
        "/_events/s3",
        b'{"Records": []}' + b" " * 1_000_000,
        "application/json",
    ),
)


@contextmanager
def edge_process(edge: str, env: dict[str, str], pids: list[int] | None = None) -> Iterator[str]:
    """The stack's invoker behind edge, on a free port: its base URL once healthy (its process
    id added to pids, when given)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.edge_server", edge, str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a group of its own, which the watchdog ends if we are killed
    )
    if pids is not None:
        pids.append(process.pid)
    api = f"http://127.0.0.1:{port}"
    with reaped(process.pid):
        try:
            _wait_healthy(api, process)
            yield api
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_healthy(api: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {api} edge exited with {process.returncode}")
        try:
            if requests.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the edge at {api} never became healthy")


def run(
    env: dict[str, str], users: list[str], tokens: dict[str, str], picture: bytes
) -> tuple[list[Row], list[Target]]:
    wrk = ensure_wrk()
    # The PUT's edge share is small beside its upload, and its thumbnails would run on into the
    # next sections: section 5 measures it.
    endpoints = [*EDGE_ONLY, *(e for e in endpoints_for(picture) if e.method == "GET")]
    loads: dict[tuple[str, str], list[Load]] = {}
    with ExitStack() as running:
        apis = {label: running.enter_context(edge_process(name, env)) for label, name in EDGES}
        for endpoint in endpoints:
            for api in apis.values():
                warm_up(api, endpoint, _pairs(endpoint, users, tokens))
        for _ in range(ROUNDS):
            for endpoint in endpoints:
                pairs = _pairs(endpoint, users, tokens)
                for label, api in apis.items():
                    load = load_once(wrk, api, endpoint, pairs, SECONDS)
                    loads.setdefault((endpoint.label, label), []).append(load)
    return _rows(loads, [e.label for e in endpoints])


def _pairs(endpoint: Endpoint, users: list[str], tokens: dict[str, str]) -> list[tuple[str, str]]:
    """(path, bearer token) for each user; bucket events carry the events token instead."""
    if endpoint.path.startswith("/_events/"):
        return [(endpoint.path, EVENTS_TOKEN)]
    return [(endpoint.path.replace("{user_id}", u), tokens[u]) for u in users]


def _rows(
    loads: dict[tuple[str, str], list[Load]], cases: list[str]
) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    baseline, project = EDGES[0][0], EDGES[1][0]
    for case in cases:
        rates: dict[str, float] = {}
        latencies: dict[str, float] = {}
        for label, _ in EDGES:
            runs = loads[(case, label)]
            p50 = Sample.of([load.p50_ms for load in runs], "ms")
            rates[label] = statistics.median(load.per_second for load in runs)
            latencies[label] = p50.median
            failures = sum(load.errors + load.socket_errors for load in runs)
            note = (
                f"{rates[label]:.0f} req/s (median of {len(runs)} runs of {SECONDS} s), "
                f"p99 {statistics.median(load.p99_ms for load in runs):.1f} ms, "
                f"{failures} errors ({runs[0].tool})"
            )
            if label == project:
                note += f"; {rates[project] / rates[baseline]:.2f}× the req/s of http.server"
            rows.append(Row(SECTION, case, f"{label}: p50 latency", p50, note))
        held = rates[project] >= rates[baseline] * (1 - NOISE)
        measured = f"{rates[project]:.0f} vs {rates[baseline]:.0f} req/s"
        targets.append(
            Target(SECTION, f"{case}: h11 edge no slower than http.server", measured, held)
        )
    return rows, targets
