"""More app instances beside a running stack: `profilepics serve` processes on its store and table.

Each is started as an operator would start a replica (its own process group, so killing it
takes its function workers too). The only file an instance writes is its event spool, where
events that kept failing wait as dead letters: an instance that leaves none there kept nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from infra.invoker.spool import DEAD, HELD, PENDING, SPOOL_FILE, Spool
from infra.local import REPO_ROOT
from infra.stack import free_port
from tests.stackrun import ACCESS_KEY, EVENTS_TOKEN, JWT_SECRET, SECRET_KEY, RunningStack


@dataclass
class Instance:
    name: str
    api: str
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    def kill(self) -> None:
        """A crash: the whole process group, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_instance(
    stack: RunningStack, name: str, directory: Path, extra_env: dict[str, str] | None = None
) -> Instance:
    """`profilepics serve` on a free port, configured only through its environment."""
    port = free_port()
    data_dir = directory / f"{name}-data"  # its event spool, and nothing else
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PROFILEPICS_")}
    env = {
        **inherited,
        "PROFILEPICS_S3_ENDPOINT": str(stack.info["s3_endpoint"]),
        "PROFILEPICS_S3_ACCESS_KEY": ACCESS_KEY,
        "PROFILEPICS_S3_SECRET_KEY": SECRET_KEY,
        "PROFILEPICS_DYNAMODB_ENDPOINT": str(stack.info["dynamodb_endpoint"]),
        "PROFILEPICS_DYNAMODB_ACCESS_KEY": "local",
        "PROFILEPICS_DYNAMODB_SECRET_KEY": "local",
        "PROFILEPICS_BUCKET": stack.bucket,
        "PROFILEPICS_TABLE": stack.table,
        "PROFILEPICS_API_BASE_URL": f"http://127.0.0.1:{port}",
        "PROFILEPICS_JWT_SECRET": JWT_SECRET,
        "PROFILEPICS_EVENTS_TOKEN": EVENTS_TOKEN,
        "PROFILEPICS_DATA_DIR": str(data_dir),
        **(extra_env or {}),
    }
    log_path = directory / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance = Instance(name, f"http://127.0.0.1:{port}", process, log_path, data_dir)
    deadline = time.monotonic() + 60
    while not _healthy(instance.api):
        if process.poll() is not None or time.monotonic() > deadline:
            instance.stop()
            raise RuntimeError(f"{name} did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return instance


def _healthy(api: str) -> bool:
    try:
        return requests.get(f"{api}/health", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) a process and its live descendants have used so far, from /proc;
    reaped children count through their parent's cutime/cstime."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # After the command: state, ppid, ..., utime (11), stime, cutime, cstime (14).
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = sum(int(f) for f in fields[11:15])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(used.get(pid, 0) for pid in tree) / tick


def kept_events(instance: Instance) -> set[tuple[str, str]]:
    """Every event the instance's spool still holds (pending, held or dead): what it would
    take with it if it were thrown away."""
    if not (instance.data_dir / SPOOL_FILE).exists():
        return set()
    spool = Spool.in_dir(instance.data_dir)
    return {entry for state in (PENDING, HELD, DEAD) for entry in spool.keys(state)}
