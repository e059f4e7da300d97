"""When a `weed mini` really serves: a signed S3 call works and the master knows every volume."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.error import MinioException

from infra.stack.process import ManagedProcess, StackError

_POLL_SECONDS = 0.1


def volumes_on_disk(s3_dir: Path) -> int:
    return sum(1 for _ in s3_dir.glob("*.dat"))


def master_volume_count(host: str, master_port: int) -> int | None:
    """Volumes the master has heard of from volume servers; None while it knows no server."""
    response = urllib3.request(
        "GET", f"http://{host}:{master_port}/dir/status", timeout=1.0, retries=False
    )
    topology: dict[str, Any] = json.loads(response.data).get("Topology") or {}
    nodes = [
        node
        for center in topology.get("DataCenters") or []
        for rack in center.get("Racks") or []
        for node in rack.get("DataNodes") or []
    ]
    return sum(int(node.get("Volumes", 0)) for node in nodes) if nodes else None


def wait_until_serving(
    process: ManagedProcess,
    client: Minio,
    *,
    host: str,
    master_port: int,
    expected_volumes: int,
    timeout: float,
) -> None:
    """Block until S3 answers a signed ListBuckets and the master has every volume on disk.

    S3 answers before the volume server's first heartbeat reaches the master; until then a
    GET of an existing object fails with InternalError and a PUT finds no writable volume.
    """
    deadline = time.monotonic() + timeout

    def s3_answers() -> bool:
        client.list_buckets()
        return True

    def volumes_known() -> bool:
        known = master_volume_count(host, master_port)
        return known is not None and known >= expected_volumes

    for check in (s3_answers, volumes_known):
        _poll(process, check, deadline, timeout)


def _poll(
    process: ManagedProcess, check: Callable[[], bool], deadline: float, timeout: float
) -> None:
    last: Exception | str = "not yet"
    while True:
        process.raise_if_exited()
        try:
            if check():
                return
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            last = error
        if time.monotonic() > deadline:
            raise StackError(
                f"SeaweedFS not ready within {timeout:.0f} s ({check.__name__}: {last});"
                f" end of {process.log_path}:\n{process.log_tail()}"
            )
        time.sleep(_POLL_SECONDS)
