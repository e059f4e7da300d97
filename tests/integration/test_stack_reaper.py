"""The stack's servers end with the process that started them, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A starter that runs one server (ignoring SIGTERM when asked), says the server's pid, and waits.
_STARTER = """
import sys, time
from pathlib import Path
from infra.stack.process import ManagedProcess
stubborn = sys.argv[2] == "stubborn"
code = "import signal, time\\n"
if stubborn:
    code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
code += "print('up', flush=True)\\ntime.sleep(600)\\n"
server = ManagedProcess(
    "server", [sys.executable, "-c", code], log_path=Path(sys.argv[1]) / "server.log",
    env={}, cwd=Path(sys.argv[1]), stop_timeout=1,
)
server.start()
while b"up" not in (Path(sys.argv[1]) / "server.log").read_bytes():
    time.sleep(0.02)
print(server.pid, flush=True)
if sys.argv[3] == "stop":
    server.stop()
    print("stopped", flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(tmp_path), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    return starter, int(starter.stdout.readline())


@pytest.mark.parametrize("kind", ["polite", "stubborn"])
def test_a_server_ends_when_its_starter_is_killed(tmp_path: Path, kind: str) -> None:
    starter, server = _start(tmp_path, kind, "keep")
    try:
        assert _alive(server)
        starter.send_signal(signal.SIGKILL)
        starter.wait()

        # Generous: a SIGTERM is honoured at once, a stubborn server is killed after 5 s.
        assert _gone_within(server, 30), f"server {server} outlived its killed starter"
    finally:
        if _alive(server):
            os.killpg(server, signal.SIGKILL)


def test_a_stopped_server_is_forgotten_and_the_watchdog_leaves_with_its_starter(
    tmp_path: Path,
) -> None:
    starter, server = _start(tmp_path, "polite", "stop")
    assert starter.stdout is not None
    assert starter.stdout.readline().strip() == "stopped"
    assert not _alive(server)
    watchdogs = _watchdogs_of(starter.pid)
    assert len(watchdogs) == 1

    starter.send_signal(signal.SIGKILL)
    starter.wait()

    assert _gone_within(watchdogs[0], 30)


def _watchdogs_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == parent and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# A starter that runs a child in a group of its own under reaped() (the bench's baseline and
# edge servers), says its pid, and waits inside reaped() ("inside") or after leaving it.
_REAPED = """
import subprocess, sys, time
from infra.stack import reaped
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session=True)
with reaped(child.pid):
    if sys.argv[1] == "inside":
        print(child.pid, flush=True)
        time.sleep(600)
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("where", ["inside", "after"])
def test_a_reaped_child_ends_with_its_killed_starter_only_while_reaped(where: str) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", _REAPED, where], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None
    child = int(starter.stdout.readline())
    try:
        assert _alive(child)
        (watchdog,) = [pid for pid in _watchdogs_of(starter.pid) if pid != child]
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        if where == "inside":
            assert _gone_within(child, 30), f"child {child} outlived its killed starter"
        else:
            # Forgotten when reaped() was left: the watchdog ends with nothing to stop.
            assert _gone_within(watchdog, 30)
            assert _alive(child)
    finally:
        if _alive(child):
            os.killpg(child, signal.SIGKILL)
