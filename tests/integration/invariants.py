"""Helpers for fault tests: the real stack's store and table, the sweep, and the two invariants.

1. Every profile reference points at an existing object (no dangling reference).
2. After the sweep, no stored object is unreferenced (no orphan).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator

from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.adapters.minio_store import MinioStore
from profilepics.models import PictureStatus, Profile

from infra.local import REPO_ROOT
from tests.stackrun import RunningStack

PREFIXES = ("originals/", "thumbnails/", "uploads/")


def all_profiles(table: DynamoDBTable) -> Iterator[Profile]:
    cursor: str | None = None
    while True:
        page, cursor = table.scan(100, cursor)
        yield from page
        if cursor is None:
            return


def stored_keys(store: MinioStore) -> set[str]:
    return {key for prefix in PREFIXES for key in store.list_keys(prefix)}


def dangling_references(stack: RunningStack) -> list[str]:
    """Keys some profile refers to that the store does not have.

    Profiles, then the store, then the profiles again: an object is written before a profile
    names it and deleted only after no profile does, so neither a thumbnails run nor a
    replacement finishing meanwhile can pass for a dangling reference.
    """
    settings = stack.settings()
    table = DynamoDBTable(settings)
    wanted = _referenced(table)
    stored = stored_keys(MinioStore(settings))
    missing = wanted - stored
    return sorted(missing & _referenced(table)) if missing else []


def _referenced(table: DynamoDBTable) -> set[str]:
    return {
        key
        for profile in all_profiles(table)
        if profile.picture is not None
        for key in (profile.picture.key, *profile.picture.variants.values())
    }


def unreferenced_objects(stack: RunningStack) -> list[str]:
    """Stored keys that no profile's current picture refers to (its key, variants, folder)."""
    settings = stack.settings()
    keys: set[str] = set()
    folders: set[str] = set()
    for profile in all_profiles(DynamoDBTable(settings)):
        if profile.picture is not None:
            keys.update((profile.picture.key, *profile.picture.variants.values()))
            folders.add(f"thumbnails/{profile.user_id}/{profile.picture.id}/")
    stored = stored_keys(MinioStore(settings))
    return sorted(k for k in stored if k not in keys and k.rsplit("/", 1)[0] + "/" not in folders)


def sweep(stack: RunningStack, *args: str) -> str:
    """`profilepics sweep --local` against this stack, as an operator runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "sweep", "--local", *args],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def doomed(stack: RunningStack, wanted: set[str], within: float = 10) -> tuple[set[str], str]:
    """The keys a dry-run sweep with no grace would delete, and its output: asked again until
    they include wanted or within seconds have passed, as S3 reports last-modified in whole
    seconds and an object written this second can look younger than the sweep's cutoff."""
    deadline = time.monotonic() + within
    while True:
        report = sweep(stack, "--grace-seconds", "0", "--dry-run")
        found = {line.split()[-1] for line in report.splitlines() if "would delete" in line}
        if wanted <= found or time.monotonic() > deadline:
            return found, report
        time.sleep(0.5)


def assert_invariants(stack: RunningStack) -> str:
    """Both invariants, the second after a sweep with no grace; returns the sweep's output."""
    assert dangling_references(stack) == []
    report = sweep(stack, "--grace-seconds", "0")
    assert unreferenced_objects(stack) == []
    assert dangling_references(stack) == []
    return report


def settle(stack: RunningStack, user_ids: Iterable[str], timeout: float = 30) -> None:
    """Wait until event-driven work is done: no picture processing, the bucket unchanged 1 s."""
    settings = stack.settings()
    store, table = MinioStore(settings), DynamoDBTable(settings)
    users = list(user_ids)
    deadline = time.monotonic() + timeout
    seen: set[str] | None = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        keys = stored_keys(store)
        if keys != seen:
            seen, stable_since = keys, time.monotonic()
        busy = [
            u
            for u in users
            if (p := table.get(u)) and p.picture and p.picture.status is PictureStatus.PROCESSING
        ]
        if not busy and time.monotonic() - stable_since >= 1.0:
            return
        time.sleep(0.2)
    raise AssertionError(f"event-driven work did not settle in {timeout} s")


def signal_server(stack: RunningStack, server: str, sig: signal.Signals) -> None:
    """Signal one of the stack's servers (seaweedfs, dynalite), a process group of its own.

    SIGSTOP makes a hung server (connections accepted, never answered); SIGKILL a crashed one
    (connections refused).
    """
    os.killpg(int(stack.info["pids"][server]), sig)
