"""The local stack as one unit: object store and table started, checked and stopped together."""

from __future__ import annotations

import ipaddress
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from minio import Minio

from infra.stack.files import private_dir
from infra.stack.objectstore import StoreConfig, StoreServer, WeedPorts
from infra.stack.process import ManagedProcess, free_port_block
from infra.stack.table import DYNALITE_DIR, TableConfig, TableServer
from infra.stack.tls import DEFAULT_HOSTS, TlsFiles, ensure_tls
from infra.stack.weed_config import WebhookConfig, admin_identity, app_identity


def free_stack_ports(host: str = "127.0.0.1") -> tuple[int, int]:
    """(s3_port, dynamodb_port) such that every port the stack will take is free right now."""
    base = free_port_block(10, host, extra_offsets=(WeedPorts.ADMIN_GRPC_OFFSET,))
    return base, base + 9


def _made_key(prefix: str, length: int) -> str:
    return prefix + secrets.token_urlsafe(length)


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything the stack needs, passed in: it reads no environment variables itself.

    The store has two identities: the app's (access_key, secret_key), which the functions
    sign with, allowed only what they do in `bucket`; and an admin one for the bootstrap,
    made afresh for each start unless given, and kept nowhere but SeaweedFS's own config.
    """

    data_dir: Path
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str = "profilepics"
    admin_access_key: str = field(default_factory=lambda: _made_key("admin-", 9))
    admin_secret_key: str = field(default_factory=lambda: _made_key("", 30), repr=False)
    host: str = "127.0.0.1"
    s3_port: int = 8333
    dynamodb_port: int = 4567
    tls: bool = False
    webhook_url: str | None = None
    webhook_bearer_token: str | None = field(default=None, repr=False)
    webhook_path_prefixes: tuple[str, ...] = ("/buckets/",)
    dynalite_dir: Path = DYNALITE_DIR
    start_timeout: float = 30.0

    def __post_init__(self) -> None:
        # The servers run in their own working directories: only absolute paths mean the same.
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().resolve())
        if not ipaddress.ip_address(self.host).is_loopback:
            raise ValueError(f"the local stack binds loopback addresses only, not {self.host}")
        if not self.access_key or not self.secret_key:
            raise ValueError("access_key and secret_key must not be empty")
        if self.access_key == self.admin_access_key:
            raise ValueError("the app's access key must not be the admin's")
        weed_ports = WeedPorts.from_s3_port(self.s3_port).all()
        if not (0 < self.s3_port and max(weed_ports) <= 65535):
            raise ValueError(
                f"s3_port {self.s3_port}: SeaweedFS needs it, the 8 ports above it and "
                f"s3_port + {WeedPorts.ADMIN_GRPC_OFFSET}"
            )
        if not 0 < self.dynamodb_port <= 65535:
            raise ValueError(f"dynamodb_port {self.dynamodb_port} is not a TCP port")
        if self.dynamodb_port in weed_ports:
            raise ValueError(f"dynamodb_port {self.dynamodb_port} clashes with SeaweedFS's ports")


class LocalStack:
    """SeaweedFS (S3) and dynalite (DynamoDB) on loopback, as one context manager."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.tls_files: TlsFiles | None = None
        self.started_in: float | None = None
        webhook = None
        if config.webhook_url:
            webhook = WebhookConfig(
                config.webhook_url, config.webhook_bearer_token, config.webhook_path_prefixes
            )
        self._webhook = webhook
        self.object_store = self._object_store()
        self.table = TableServer(
            TableConfig(
                data_dir=config.data_dir,
                host=config.host,
                port=config.dynamodb_port,
                package_dir=config.dynalite_dir,
            )
        )

    def _object_store(self) -> StoreServer:
        config = self.config
        return StoreServer(
            StoreConfig(
                data_dir=config.data_dir,
                admin=admin_identity(config.admin_access_key, config.admin_secret_key),
                app=app_identity(config.access_key, config.secret_key, config.bucket),
                host=config.host,
                s3_port=config.s3_port,
                tls=self.tls_files,
                webhook=self._webhook,
            )
        )

    def admin_client(self) -> Minio:
        """A client with the admin keys: for the bootstrap, and tests that set the stage."""
        return self.object_store.admin_client()

    @property
    def s3_endpoint(self) -> str:
        return self.object_store.endpoint

    @property
    def dynamodb_endpoint(self) -> str:
        return self.table.endpoint

    @property
    def ca_bundle(self) -> Path | None:
        return self.tls_files.ca_cert if self.tls_files else None

    @property
    def processes(self) -> dict[str, ManagedProcess]:
        found = {"seaweedfs": self.object_store.process, "dynalite": self.table.process}
        return {name: process for name, process in found.items() if process is not None}

    def start(self) -> None:
        """Start both servers and return once both answer real API calls."""
        began = time.monotonic()
        private_dir(self.config.data_dir)
        if self.config.tls and self.tls_files is None:
            hosts = (self.config.host, *(h for h in DEFAULT_HOSTS if h != self.config.host))
            self.tls_files = ensure_tls(self.config.data_dir / "tls", hosts)
            self.object_store = self._object_store()
        try:
            self.table.start()
            self.object_store.start()
            timeout = self.config.start_timeout
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-ready") as pool:
                waits = [
                    pool.submit(self.object_store.wait_ready, timeout),
                    pool.submit(self.table.wait_ready, timeout),
                ]
                for wait in waits:
                    wait.result()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def stop(self) -> None:
        """Stop both servers (in parallel: weed alone can take seconds). Idempotent."""
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-stop") as pool:
            stops = [pool.submit(self.object_store.stop), pool.submit(self.table.stop)]
            for stop in stops:
                stop.result()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def describe(self) -> list[str]:
        """Human-readable lines on what runs where, for the CLI's startup output."""
        ports = self.object_store.ports
        lines = [
            f"S3 (SeaweedFS weed mini)  {self.s3_endpoint}  SigV4 auth on, the functions' "
            f"access key {self.config.access_key} (bucket {self.config.bucket} only)",
            f"  internal ports {ports.master}-{ports.filer_grpc} and {ports.admin_grpc} on "
            f"{self.config.host} (master, volume, filer, admin, gRPC); WebDAV, Admin UI, "
            "Iceberg, Lance off",
            f"DynamoDB (dynalite)       {self.dynamodb_endpoint}",
            f"data                      {self.config.data_dir}",
            f"logs                      {self.config.data_dir / 'logs'}",
        ]
        if self.ca_bundle is not None:
            lines.append(f"TLS CA bundle             {self.ca_bundle}")
        if self._webhook is not None:
            lines.append(f"bucket events             POST {self._webhook.url}")
        if self.started_in is not None:
            lines.append(f"ready in {self.started_in:.1f} s")
        return lines
