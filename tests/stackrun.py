"""Starts `profilepics up` as a real subprocess on free ports, for tests that need the stack."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import requests
import urllib3
from minio import Minio
from profilepics.config import Settings
from pydantic import SecretStr

from infra.invoker.jwt_auth import issue
from infra.stack import free_port
from infra.stack.stack import free_stack_ports
from infra.stack.weed_config import IDENTITIES_FILE

T = TypeVar("T")
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
EVENTS_TOKEN = "test-events-token-0123456789abcdef"
ADMIN_SCOPE = "profilepics/admin"


def token(user_id: str, admin: bool = False, ttl: int = 600, secret: str = JWT_SECRET) -> str:
    return issue(
        secret, "profilepics-local", "profilepics", user_id, ADMIN_SCOPE if admin else None, ttl
    )


def bearer(user_id: str, admin: bool = False) -> dict[str, str]:
    """Authorization header for user_id (or an admin)."""
    return {"Authorization": f"Bearer {token(user_id, admin)}"}


# Names the ready file of a stack already running that the store's contract tests use instead
# of starting their own: `make mutation` starts one for all its mutants (tests/mutation.py).
SHARED_STACK = "PROFILEPICS_TEST_SHARED_STACK"


def stack_settings(info: dict[str, Any]) -> Settings:
    """The service's settings pointed at the stack that wrote this ready file's info."""
    ca = info.get("ca_bundle")
    return Settings(
        s3_endpoint=info["s3_endpoint"],
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        s3_ca_bundle=Path(ca) if ca else None,
        dynamodb_endpoint=info["dynamodb_endpoint"],
        dynamodb_access_key="local",
        dynamodb_secret_key="local",
        bucket=str(info["bucket"]),
        table=str(info["table"]),
        api_base_url=str(info["api"]),
    )


@dataclass
class RunningStack:
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return str(self.info["api"])

    @property
    def bucket(self) -> str:
        return str(self.info["bucket"])

    @property
    def table(self) -> str:
        return str(self.info["table"])

    def stills(self) -> int:
        """The variants a still picture gets on upload here: every size in every format."""
        settings = self.settings()
        return len(settings.thumbnail_sizes) * len(settings.thumbnail_formats)

    def settings(self) -> Settings:
        """The service's settings pointed at this stack, as its functions get them."""
        return stack_settings(self.info)

    def minio(self, secret_key: str = SECRET_KEY, access_key: str = ACCESS_KEY) -> Minio:
        """A client with the app's keys (the functions'), or others given."""
        endpoint = str(self.info["s3_endpoint"])
        ca = self.info.get("ca_bundle")
        return Minio(
            endpoint.split("://", 1)[1],
            access_key=access_key,
            secret_key=secret_key,
            secure=endpoint.startswith("https"),
            region="us-east-1",
            http_client=urllib3.PoolManager(ca_certs=ca, retries=False) if ca else None,
        )

    def admin_keys(self) -> tuple[str, str]:
        """The store's admin keys, made for this start: only SeaweedFS's own config holds them,
        where an operator of the machine (and a test setting the stage) can read them."""
        path = self.data_dir / "conf" / "seaweedfs" / IDENTITIES_FILE
        identities = json.loads(path.read_text())["identities"]
        (admin,) = [i["credentials"][0] for i in identities if "Admin" in i["actions"]]
        return admin["accessKey"], admin["secretKey"]

    def admin_minio(self) -> Minio:
        access, secret = self.admin_keys()
        return self.minio(secret, access)

    def admin_settings(self) -> Settings:
        """settings() with the admin's keys: for buckets of a test's own."""
        access, secret = self.admin_keys()
        return self.settings().model_copy(
            update={"s3_access_key": SecretStr(access), "s3_secret_key": SecretStr(secret)}
        )

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.info["dynamodb_endpoint"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under prefix: the admin's listing, since the app may list its prefixes
        only."""
        objects = self.admin_minio().list_objects(self.bucket, prefix=prefix, recursive=True)
        return sorted(str(o.object_name) for o in objects)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> RunningStack:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def crash(self) -> None:
        """kill -9 the whole stack at once, as a power cut would: the invoker, its function
        workers and the store and table servers, before any of them can finish anything."""
        victims = [self.process.pid, *_descendants(self.process.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in self.info.get("pids", {}).values():  # each leads its own group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                for pid in self.info.get("pids", {}).values():  # each leads its own group
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
        return int(self.process.returncode)


def _descendants(pid: int) -> list[int]:
    """Every process below pid, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(parent, []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 15) -> T:
    """Poll probe until it returns something truthy, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def _healthy(api: str) -> bool:
    try:
        return requests.get(f"{api}/health", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False  # not yet: the caller keeps polling until its deadline


def start_stack(
    data_dir: Path, extra_env: dict[str, str] | None = None, cwd: Path | None = None
) -> RunningStack:
    """`profilepics up` on free ports; from cwd's checkout when given (its `infra` is imported)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ready = data_dir / "ready.json"
    ready.unlink(missing_ok=True)
    s3_port, dynamodb_port = free_stack_ports()
    env = {
        **os.environ,
        "PROFILEPICS_DATA_DIR": str(data_dir),
        "PROFILEPICS_API_PORT": str(free_port()),
        "PROFILEPICS_S3_PORT": str(s3_port),
        "PROFILEPICS_DYNAMODB_PORT": str(dynamodb_port),
        "PROFILEPICS_S3_ACCESS_KEY": ACCESS_KEY,
        "PROFILEPICS_S3_SECRET_KEY": SECRET_KEY,
        "PROFILEPICS_JWT_SECRET": JWT_SECRET,
        "PROFILEPICS_EVENTS_TOKEN": EVENTS_TOKEN,
        # The suite reads its own writes through other functions at once: no display cache
        # (recent.py), whose staleness test_read_cache.py checks on a stack of its own.
        "PROFILEPICS_READ_CACHE_SECONDS": "0",
        # JSON function logs, as in production, so tests can read every field back.
        "PROFILEPICS_LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    log_path = data_dir / "stack.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "up", "--ready-file", str(ready)],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(data_dir, env, process, log_path)
    try:
        _wait_until_serving(stack, ready, time.monotonic() + 60)
    except BaseException:
        stack.stop()  # never leave its servers running behind a failed start
        raise
    return stack


def _wait_until_serving(stack: RunningStack, ready: Path, deadline: float) -> None:
    while not ready.exists():
        if stack.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the stack did not start:\n{stack.log()[-3000:]}")
        time.sleep(0.1)
    stack.info = json.loads(ready.read_text())
    while not _healthy(stack.api):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stack never became healthy:\n{stack.log()[-3000:]}")
        time.sleep(0.1)


class OwnStack:
    """A test's own stack (for tests that stop servers): restart() brings a new one up on the
    same data dir; whichever runs last is stopped by the fixture."""

    def __init__(self, data_dir: Path) -> None:
        self.current = start_stack(data_dir)

    def restart(self) -> RunningStack:
        self.current.stop()
        self.current = start_stack(self.current.data_dir)
        return self.current
