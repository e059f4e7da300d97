"""Section 7: what durability costs an event's acknowledgement, per way of keeping it on disk.

The invoker's spool (SQLite, WAL, synchronous=FULL) beside one file per event (write, fsync,
rename, fsync the directory, what a hand-written spool needs to survive a power cut), and
SQLite with synchronous=NORMAL (durable across a crash of the process only), timed in
alternating rounds in the same directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.measure import Row, Target, interleaved
from infra.invoker.events import s3_record
from infra.invoker.spool import Spool

SECTION = "7 Event spool"
RECORD = s3_record("ObjectCreated:Put", "profilepics", f"originals/ada/{uuid.uuid4().hex}.jpg", 1)


def _file_per_event(directory: Path) -> Callable[[], None]:
    directory.mkdir()
    fd = os.open(directory, os.O_RDONLY)
    body = json.dumps({"function": "ThumbnailsFunction", "record": RECORD}).encode()

    def add() -> None:
        name = uuid.uuid4().hex
        temp = directory / f".{name}"
        with open(temp, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temp, directory / name)
        os.fsync(fd)

    return add


def _sqlite(path: Path, synchronous: str) -> Callable[[], None]:
    spool = Spool(path)
    if synchronous != "FULL":
        spool._db.execute(f"PRAGMA synchronous={synchronous}")

    def add() -> None:
        spool.add([("ThumbnailsFunction", RECORD)])

    return add


def run(repeat: int = 7, per_round: int = 50) -> tuple[list[Row], list[Target]]:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # the disk the data dir is on
        root = Path(tmp)
        ways = {
            "SQLite WAL, synchronous=FULL (the spool)": _sqlite(root / "full.sqlite3", "FULL"),
            "a file per event: write, fsync, rename, fsync dir": _file_per_event(root / "files"),
            "SQLite WAL, synchronous=NORMAL (not power-cut safe)": _sqlite(
                root / "normal.sqlite3", "NORMAL"
            ),
        }
        batches = {
            name: (lambda add=add: [add() for _ in range(per_round)]) for name, add in ways.items()
        }
        samples = interleaved(batches, repeat=repeat, unit="ms")
    rows = [
        Row(
            SECTION,
            "one event recorded before its 204",
            name,
            type(sample).of([v / per_round for v in sample.values], "ms"),
        )
        for name, sample in samples.items()
    ]
    return rows, []


if __name__ == "__main__":
    for row in run()[0]:
        assert row.sample is not None
        print(
            f"{row.approach}: median {row.sample.median:.3f} ms "
            f"({row.sample.low:.3f}–{row.sample.high:.3f})"
        )
    print(sqlite3.sqlite_version)
