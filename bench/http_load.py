"""Section 5: HTTP load on the local stack with wrk (installed from apt when missing), or a
bounded Python client when wrk cannot be had. Fixed concurrency, bounded in count and time,
loopback only."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.measure import Row, Sample, Target

SECTION = "5 HTTP load"
CONCURRENCY = 8
THREADS = 2
SECONDS = 3
MAX_REQUESTS = {"GET": 60_000, "PUT": 2_000, "POST": 2_000}
SCRIPT = Path(__file__).with_name("load.lua")


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    errors: int  # non-2xx answers
    socket_errors: int
    p50_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    tool: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: str  # with {user_id}
    body: bytes | None = None
    content_type: str = "image/jpeg"
    concurrency: int = CONCURRENCY


def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package first if this process may; else None."""
    found = shutil.which("wrk")
    apt = shutil.which("apt-get")
    if found or apt is None or os.geteuid() != 0:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    # An install first: a fresh package list is only needed when the cached one is stale.
    for command in (install, [apt, "update", "-qq"], install):
        subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)
        if found := shutil.which("wrk"):
            return found
    return None


def _loopback(api: str) -> tuple[str, int]:
    parts = urlsplit(api)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
        raise ValueError(f"load goes to loopback only, not {api}")
    return parts.hostname, parts.port


def run_wrk(
    wrk: str,
    api: str,
    endpoint: Endpoint,
    targets: list[tuple[str, str]],
    seconds: int = SECONDS,
) -> Load:
    _loopback(api)
    cap = MAX_REQUESTS[endpoint.method] // THREADS
    with tempfile.NamedTemporaryFile(suffix=".body") as body:
        if endpoint.body is not None:
            body.write(endpoint.body)
            body.flush()
        pairs = [item for pair in targets for item in pair]
        command = [
            wrk, f"-t{THREADS}", f"-c{endpoint.concurrency}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(SCRIPT), api, "--", endpoint.method, str(cap),
            body.name if endpoint.body is not None else "-", endpoint.content_type, *pairs,
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=True
        )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return Load(
        requests=got["requests"],
        seconds=got["duration_us"] / 1e6,
        errors=got["status_errors"],
        socket_errors=got["socket_errors"],
        p50_ms=got["p50_us"] / 1e3,
        p99_ms=got["p99_us"] / 1e3,
        min_ms=got["min_us"] / 1e3,
        max_ms=got["max_us"] / 1e3,
        tool="wrk",
    )


def run_python(
    api: str, endpoint: Endpoint, targets: list[tuple[str, str]], seconds: int = SECONDS
) -> Load:
    """The fallback: endpoint.concurrency threads, each with a keep-alive connection."""
    host, port = _loopback(api)
    deadline = time.monotonic() + seconds
    budget = iter(range(MAX_REQUESTS[endpoint.method]))
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"errors": 0, "socket": 0}

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        index = offset
        while time.monotonic() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            path, token = targets[index % len(targets)]
            index += 1
            headers = {"Authorization": f"Bearer {token}"}
            if endpoint.body is not None:
                headers["Content-Type"] = endpoint.content_type
            began = time.perf_counter()
            try:
                connection.request(endpoint.method, path, body=endpoint.body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=10)
                with lock:
                    counts["socket"] += 1
                continue
            took = (time.perf_counter() - began) * 1e3
            with lock:
                latencies.append(took)
                counts["errors"] += not 200 <= response.status < 300
        connection.close()

    began = time.monotonic()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(endpoint.concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"no request to {endpoint.label} was answered")
    return Load(
        requests=len(latencies),
        seconds=time.monotonic() - began,
        errors=counts["errors"],
        socket_errors=counts["socket"],
        p50_ms=latencies[len(latencies) // 2],
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        min_ms=latencies[0],
        max_ms=latencies[-1],
        tool="python client",
    )


def warm_up(api: str, endpoint: Endpoint, targets: list[tuple[str, str]]) -> None:
    """Start every function instance the load will use, outside the measured window."""
    host, port = _loopback(api)

    def one(path: str, token: str) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        if endpoint.body is not None:
            headers["Content-Type"] = endpoint.content_type
        connection.request(endpoint.method, path, body=endpoint.body, headers=headers)
        connection.getresponse().read()
        connection.close()

    threads = [threading.Thread(target=one, args=pair) for pair in targets[: endpoint.concurrency]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def endpoints_for(picture: bytes) -> list[Endpoint]:
    return [
        Endpoint("GET /users/{id}", "GET", "/users/{user_id}"),
        Endpoint("GET /users/{id}/picture", "GET", "/users/{user_id}/picture"),
        Endpoint(
            f"PUT /users/{{id}}/picture ({len(picture) / 1e6:.1f} MB JPEG)",
            "PUT",
            "/users/{user_id}/picture",
            picture,
        ),
    ]


def load_once(
    wrk: str | None,
    api: str,
    endpoint: Endpoint,
    pairs: list[tuple[str, str]],
    seconds: int = SECONDS,
) -> Load:
    if wrk:
        return run_wrk(wrk, api, endpoint, pairs, seconds)
    return run_python(api, endpoint, pairs, seconds)


def run(
    api: str, users: list[str], tokens: dict[str, str], picture: bytes
) -> tuple[list[Row], list[Target]]:
    wrk = ensure_wrk()
    endpoints = endpoints_for(picture)
    rows: list[Row] = []
    targets: list[Target] = []
    for endpoint in endpoints:
        pairs = [(endpoint.path.replace("{user_id}", u), tokens[u]) for u in users]
        warm_up(api, endpoint, pairs)
        load = load_once(wrk, api, endpoint, pairs)
        latency = Sample.summary(load.p50_ms, load.min_ms, load.max_ms, "ms")
        note = (
            f"{load.per_second:.0f} req/s, p99 {load.p99_ms:.1f} ms, {load.requests} requests, "
            f"{load.errors} non-2xx, {load.socket_errors} socket errors ({load.tool}, "
            f"{CONCURRENCY} connections)"
        )
        rows.append(Row(SECTION, endpoint.label, "p50 latency (min–max)", latency, note))
        failures = load.errors + load.socket_errors
        targets.append(
            Target(SECTION, f"{endpoint.label}: 0 errors", f"{failures} errors", failures == 0)
        )
    return rows, targets
