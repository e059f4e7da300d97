"""The table of the local stack: dynalite (DynamoDB API on LevelDB) from the pinned npm package."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.stack.files import private_dir
from infra.stack.process import ManagedProcess, StackError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DYNALITE_DIR = Path(__file__).resolve().parent.parent / "dynalite"
_CLI = Path("node_modules") / "dynalite" / "cli.js"


def ensure_installed(repo_root: Path) -> Path:
    """Install the locked dynalite with `npm ci` unless it is there; returns its cli.js."""
    return _ensure_installed_in(repo_root / "infra" / "dynalite")


def _ensure_installed_in(package_dir: Path) -> Path:
    cli = package_dir / _CLI
    if cli.is_file():
        return cli
    npm = shutil.which("npm")
    if npm is None:
        raise StackError("npm not found: install Node.js 20+ to run the local table (dynalite)")
    # npm 11 skips install scripts not yet approved; classic-level then loads its shipped
    # prebuilt LevelDB binary, so nothing needs compiling.
    result = subprocess.run(
        [npm, "ci", "--prefix", str(package_dir), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not cli.is_file():
        raise StackError(f"npm ci in {package_dir} failed:\n{result.stdout}\n{result.stderr}")
    return cli


@dataclass(frozen=True, kw_only=True)
class TableConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4567
    package_dir: Path = DYNALITE_DIR
    stop_timeout: float = 5.0


class TableServer:
    """One dynalite on host:port, its LevelDB in data_dir/dynalite."""

    def __init__(self, config: TableConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.db_dir = self.data_dir / "dynalite"
        self.log_dir = self.data_dir / "logs"
        self._process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def command(self, node: Path) -> list[str]:
        # serve.js: dynalite's cli.js, except that a client gone mid-request doesn't end it.
        options = {
            "host": self.config.host,
            "port": self.config.port,
            "path": str(self.db_dir),
            # A put right after CreateTable fails while the table is still CREATING.
            "createTableMs": 0,
            "deleteTableMs": 0,
            "updateTableMs": 0,
        }
        return [str(node), str(self.config.package_dir / "serve.js"), json.dumps(options)]

    def start(self) -> None:
        if self._process is not None and self._process.running:
            return
        _ensure_installed_in(self.config.package_dir)
        node = shutil.which("node")
        if node is None:
            raise StackError(
                "node not found: install Node.js 20+ to run the local table (dynalite)"
            )
        for directory in (self.data_dir, self.log_dir):
            private_dir(directory)
        env = {"PATH": f"{Path(node).parent}:/usr/bin:/bin", "HOME": str(self.data_dir)}
        self._process = ManagedProcess(
            "dynalite",
            self.command(Path(node)),
            log_path=self.log_dir / "dynalite.log",
            env=env,
            cwd=self.data_dir,
            stop_timeout=self.config.stop_timeout,
        )
        self._process.start()

    def wait_ready(self, timeout: float) -> None:
        """Block until a real ListTables call answers."""
        if self._process is None:
            raise StackError("dynalite was not started")
        process = self._process
        deadline = time.monotonic() + timeout
        process.wait_for_port(self.config.host, self.config.port, timeout)
        client = self.client()
        while True:
            process.raise_if_exited()
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError) as error:
                if time.monotonic() > deadline:
                    raise StackError(
                        f"dynalite at {self.endpoint} not ready: {error}\n{process.log_tail()}"
                    ) from error
            time.sleep(0.1)

    def client(self) -> DynamoDBClient:
        # dynalite checks that requests are signed, not by whom.
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
