"""The event spool on a real SQLite file: durable once acknowledged, leases, dead letters."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from infra.invoker.events import s3_record
from infra.invoker.spool import DEAD, HELD, PENDING, Spool

KEY = "originals/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(key: str = KEY) -> dict[str, object]:
    return s3_record("ObjectCreated:Put", "profilepics", key, 10)


def test_an_acknowledged_event_survives_the_process_being_killed(tmp_path: Path) -> None:
    """The child says "acked" only after add() returned, then dies by SIGKILL at once."""
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from infra.invoker.events import s3_record\n"
        "from infra.invoker.spool import Spool\n"
        "spool = Spool.in_dir(Path(sys.argv[1]))\n"
        f"spool.add([('ThumbnailsFunction', s3_record('ObjectCreated:Put', 'b', {KEY!r}, 1))])\n"
        "print('acked', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL and done.stdout == "acked\n", done.stderr

    (entry,) = Spool.in_dir(tmp_path).entries()
    assert (entry.function, entry.key, entry.state) == ("ThumbnailsFunction", KEY, PENDING)


def test_the_spool_file_is_private(tmp_path: Path) -> None:
    Spool.in_dir(tmp_path).close()
    mode = stat.S_IMODE(os.stat(tmp_path / "events.sqlite3").st_mode)
    assert mode == 0o600


def test_a_claim_counts_an_attempt_and_leases_the_event_until_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path / "s.sqlite3", clock)
    spool.add([("ThumbnailsFunction", record())])

    claimed = spool.claim(lease_seconds=60)
    assert claimed is not None and claimed.attempts == 1
    assert spool.claim(lease_seconds=60) is None  # leased: no second delivery meanwhile
    clock.now += 61
    again = spool.claim(lease_seconds=60)
    assert again is not None and again.attempts == 2  # the lease ran out: delivered again

    restarted = Spool(tmp_path / "s.sqlite3", clock)
    assert restarted.claim(lease_seconds=60) is None
    assert restarted.due_now() == 1  # a start ends every lease
    assert restarted.claim(lease_seconds=60) is not None


def test_failed_events_come_due_later_or_die_and_redrive_restarts_their_attempts() -> None:
    clock = Clock()
    spool = Spool(":memory:", clock)
    first, second = spool.add(
        [("ThumbnailsFunction", record()), ("IngestFunction", record("uploads/ada/x"))]
    )
    spool.failed(first.id, "Conflict", retry_at=clock.now + 5)
    spool.failed(second.id, "Sandbox.Timedout", retry_at=None)

    assert spool.next_due() == clock.now + 5
    assert [(e.key, e.state, e.error) for e in spool.entries([DEAD])] == [
        ("uploads/ada/x", DEAD, "Sandbox.Timedout")
    ]
    assert spool.redrive([first.id]) == 0  # not dead: nothing to redrive
    assert spool.redrive() == 1
    (redriven,) = [e for e in spool.entries() if e.id == second.id]
    assert (redriven.state, redriven.attempts, redriven.due) == (PENDING, 0, clock.now)


def test_the_same_record_sent_twice_is_one_event_and_keeps_its_count() -> None:
    spool = Spool(":memory:")
    (held,) = spool.add([("ThumbnailsFunction", record())], state=HELD)
    assert spool.held_failed(held.id, "Conflict", give_up_after=2) is False
    (again,) = spool.add([("ThumbnailsFunction", json.loads(json.dumps(held.record)))], state=HELD)
    assert (again.id, again.attempts) == (held.id, 1)
    assert spool.held_failed(held.id, "Conflict", give_up_after=2) is True
    assert [e.state for e in spool.entries()] == [DEAD]


def test_held_events_nobody_resent_for_a_day_are_forgotten() -> None:
    clock = Clock()
    spool = Spool(":memory:", clock)
    spool.add([("ThumbnailsFunction", record())], state=HELD)
    spool.add([("ThumbnailsFunction", record("originals/bob/x.jpg"))])
    clock.now += 2 * 24 * 3600
    assert spool.forget_held(24 * 3600) == 1
    assert [e.state for e in spool.entries()] == [PENDING]
