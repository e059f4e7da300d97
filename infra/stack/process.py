"""Child server processes of the local stack: start, wait for a port, stop without leftovers."""

from __future__ import annotations

import atexit
import logging
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from infra.ports import port_accepts as port_accepts  # re-exported for existing callers
from infra.stack.reaper import Reaper

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
# Children run in their own session, so nothing ends them when this interpreter exits on an
# unhandled error; this set lets an exit hook do it.
_live: set[ManagedProcess] = set()
# ...and this one ends them when it is killed, so no hook runs.
_reaper = Reaper()


@contextmanager
def reaped(pid: int) -> Iterator[None]:
    """While inside, the process group pid leads (a child started with start_new_session=True)
    is ended by the watchdog if this interpreter dies first, however it dies."""
    _reaper.watch(pid)
    try:
        yield
    finally:
        _reaper.forget(pid)


class StackError(RuntimeError):
    """A local-stack server could not be started, reached or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on host right now (for tests; racy by nature)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


EPHEMERAL_START = 32768  # Linux's default ip_local_port_range: outgoing connections' ports


def free_port_block(
    count: int, host: str = "127.0.0.1", *, extra_offsets: Sequence[int] = ()
) -> int:
    """A base port with base..base+count-1, and base+offset for each extra offset, all free now.

    Every one of them lies below the kernel's ephemeral range (32768+): a port inside it can be
    taken by any process's outgoing connection between this check and the server's bind (seen:
    SeaweedFS's admin gRPC port, base + 10004, at load 7).
    """
    highest = max((count - 1, *extra_offsets))
    for _ in range(200):
        base = random.randrange(20_000, EPHEMERAL_START - highest)
        wanted = [*range(base, base + count), *(base + offset for offset in extra_offsets)]
        if all(_can_bind(host, port) for port in wanted):
            return base
    raise StackError(f"no block of {count} free ports found on {host}")


def _can_bind(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class ManagedProcess:
    """One child server in its own process group, its output appended to a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str],
        cwd: Path,
        stop_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            # A new session keeps terminal signals (Ctrl+C) away from the child, so the
            # caller decides the shutdown order, and lets stop() signal the whole group.
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        _live.add(self)
        _reaper.watch(self._popen.pid)
        log.debug("%s started, pid %s", self.name, self._popen.pid)

    def raise_if_exited(self) -> None:
        """Raise StackError, with the end of the log, when the child is no longer running."""
        if self._popen is None:
            raise StackError(f"{self.name} was never started")
        code = self._popen.poll()
        if code is not None:
            raise StackError(
                f"{self.name} exited with code {code}; end of {self.log_path}:\n{self.log_tail()}"
            )

    def wait_for_port(self, host: str, port: int, timeout: float) -> None:
        """Block until host:port accepts connections; raise StackError on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.raise_if_exited()
            if port_accepts(host, port):
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.name} did not accept connections on {host}:{port} within "
                    f"{timeout:.0f} s; end of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(_POLL_SECONDS)

    def stop(self) -> None:
        """SIGTERM the group, wait up to stop_timeout, then SIGKILL it. Safe to call twice."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "%s ignored SIGTERM for %.0f s, killing it", self.name, self.stop_timeout
                )
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait()
        self._popen = None
        _live.discard(self)
        _reaper.forget(popen.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(0, os.SEEK_END)
                log_file.seek(max(0, log_file.tell() - 16_384))
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@atexit.register
def _stop_leftovers() -> None:
    for process in list(_live):
        process.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
