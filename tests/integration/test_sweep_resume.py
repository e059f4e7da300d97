"""The sweep on the real stack at more than a page of objects: it stops when its time is up and
the next one resumes where it stopped; together they delete exactly the orphans."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from profilepics import keys

from bench import sweepdata
from bench.sweep import _table_only
from tests.integration.invariants import sweep
from tests.stackrun import RunningStack, start_stack

pytestmark = pytest.mark.integration

OBJECTS = 2_500  # two and a half pages


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[RunningStack, sweepdata.Made]]:
    """A stack of its own with no function (so nothing consumes what is written), filled with
    the benchmark's objects and profiles."""
    env = {"PROFILEPICS_TEMPLATE": str(_table_only(tmp_path))}
    stack = start_stack(tmp_path / "stack", env)
    try:
        minio, dynamodb = sweepdata.clients(stack.settings())
        made = sweepdata.generate(minio, stack.bucket, dynamodb, stack.table, OBJECTS)
        time.sleep(1.5)  # older than the sweep's one-second grain
        yield stack, made
    finally:
        stack.stop()


def stored(stack: RunningStack) -> set[str]:
    return {key for prefix in keys.PREFIXES for key in stack.keys(prefix)}


def deleted(output: str) -> int:
    found = re.search(r"^orphans deleted: (\d+) ", output, re.M)
    assert found is not None, output
    return int(found[1])


def test_a_sweep_out_of_time_resumes_where_it_stopped_and_all_orphans_go_once(
    filled: tuple[RunningStack, sweepdata.Made],
) -> None:
    stack, made = filled
    orphans = made.orphans

    first = sweep(stack, "--grace-seconds", "0", "--max-seconds", "0")

    stopped = re.search(r"^stopped after (\S+): the next sweep resumes there$", first, re.M)
    assert stopped is not None, first
    assert "objects checked: 1000 in " in first
    assert stack.keys(keys.SWEEP_CHECKPOINT) == [keys.SWEEP_CHECKPOINT]

    second = sweep(stack, "--grace-seconds", "0")

    assert f"(resumed after {stopped[1]})" in second
    assert f"objects checked: {made.objects - 1000} in " in second
    assert deleted(first) + deleted(second) == orphans
    assert len(stored(stack)) == made.objects - orphans  # the checkpoint is gone too
    assert "orphans deleted: 0 " in sweep(stack, "--grace-seconds", "0", "--restart")
