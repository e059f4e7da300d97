"""A watchdog that ends the stack's servers when the process that started them dies.

Servers run in sessions of their own (so Ctrl-C reaches the caller first), which also means
nothing ends them when their starter is SIGKILLed: atexit hooks don't run then. A tiny
interpreter holds the read end of a pipe whose write end only the starter holds; the starter
tells it each group it starts and stops, and when the pipe reads EOF (the starter is gone, however
it went) it stops the groups still listed. Linux's PR_SET_PDEATHSIG would fire when the starting
*thread* ends, not the process, and can't be set on servers that aren't Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

# Run as `python -c`: no imports beyond the standard library's, no project code on the path.
_WATCHDOG = """
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    sign, pid = line[0], int(line[1:])
    (groups.add if sign == "+" else groups.discard)(pid)
def signal_all(sig):
    for pid in groups:
        try:
            os.killpg(pid, sig)
        except OSError:
            pass
signal_all(signal.SIGTERM)
deadline = time.monotonic() + float(sys.argv[1])
while groups and time.monotonic() < deadline:
    time.sleep(0.1)
    for pid in list(groups):
        try:
            os.killpg(pid, 0)
        except OSError:
            groups.discard(pid)
signal_all(signal.SIGKILL)
"""


class Reaper:
    """One watchdog per starting process, started with the first server it is told about."""

    def __init__(self, grace_seconds: float = 5.0) -> None:
        self._grace = grace_seconds
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._owner = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def watch(self, pid: int) -> None:
        self._send(f"+{pid}\n")

    def forget(self, pid: int) -> None:
        self._send(f"-{pid}\n")

    def _send(self, line: str) -> None:
        with self._lock:
            process = self._running()
            try:
                assert process.stdin is not None
                process.stdin.write(line)
                process.stdin.flush()
            except (BrokenPipeError, ValueError):
                # The watchdog itself was killed: servers still run, so start a new one next time.
                self._process = None

    def _running(self) -> subprocess.Popen[str]:
        # A fork (multiprocessing's "fork" context) inherits the pipe, not the watchdog's job.
        if self._process is None or self._process.poll() is not None or self._owner != os.getpid():
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(self._grace)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                # Its own session: the terminal's Ctrl-C must not end it before the servers stop.
                start_new_session=True,
            )
            self._owner = os.getpid()
        return self._process
