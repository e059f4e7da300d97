"""`python -m bench`: run every section, print the table, write it into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    coldstart,
    hostile,
    http_edges,
    http_load,
    inputs,
    layer,
    memory,
    report,
    sizes,
    spool,
    validation,
    variants,
)
from bench.measure import Row, Target
from bench.stack import (
    as_written_before_issue_12,
    child_config,
    ready,
    running_stack,
    seed_users,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
USERS = 16

Results = tuple[list[Row], list[Target]]


def _step(name: str, run: Callable[[], Results], rows: list[Row], targets: list[Target]) -> None:
    began = time.monotonic()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    got_rows, got_targets = run()
    rows += got_rows
    targets += got_targets
    print(f"bench: {name} done in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


def _number(section: str) -> int:
    return int(section.split(" ", 1)[0])


def _with_stack(baseline: str) -> Results:
    """Sections that need the local stack, sharing one: in-process handlers, HTTP load, edges,
    and the read path before and after issue 12."""
    from tests.stackrun import token

    picture = inputs.jpeg_of_about(1_000_000)
    with running_stack() as stack:
        users = seed_users(stack, USERS, picture)
        rows = validation.in_process(child_config(stack), users[0])
        ready(stack, users[2])
        read_users = (as_written_before_issue_12(stack, users[1]), users[2])
        read_rows, read_targets = sizes.read_path(child_config(stack), read_users, baseline)
        tokens = {u: token(u) for u in users}
        load_rows, targets = http_load.run(stack.api, users, tokens, picture)
        edge_rows, edge_targets = http_edges.run(stack.env, users, tokens, picture)
    return rows + read_rows + load_rows + edge_rows, read_targets + targets + edge_targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave the docs")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement")
    parser.add_argument(
        "--baseline",
        help="a git ref whose core also runs the hostile uploads (section 8) and the read "
        "path (section 13; main when not given)",
    )
    args = parser.parse_args(argv)

    began = time.monotonic()
    load_before = os.getloadavg()[0]
    if load_before > len(os.sched_getaffinity(0)) / 2:
        print(
            f"bench: the machine is busy (load {load_before:.1f}): expect slower, noisier figures",
            file=sys.stderr,
        )
    rows: list[Row] = []
    targets: list[Target] = []
    _step("1 variants", lambda: variants.run(args.repeat), rows, targets)
    _step("2 peak memory", memory.run, rows, targets)
    _step("3 validation and presigning", validation.offline, rows, targets)
    _step("4 cold start", lambda: coldstart.run(args.repeat), rows, targets)
    baseline = args.baseline or "main"
    _step(
        "3+5+9+13 handlers, HTTP load, HTTP edges and the read path on the local stack",
        lambda: _with_stack(baseline),
        rows,
        targets,
    )
    _step("6 event spool", lambda: spool.run(args.repeat), rows, targets)
    _step("7 Lambda layer", lambda: layer.run(args.repeat), rows, targets)
    repeat = min(args.repeat, 3)  # a fresh process per run: slow, and CPU time varies little
    _step("8 hostile uploads", lambda: hostile.run(args.baseline, repeat), rows, targets)
    _step("13 sizes and formats", lambda: sizes.run(args.repeat), rows, targets)
    # by the section's number (as text "13" sorts before "2"); stable: each keeps its order
    rows.sort(key=lambda row: _number(row.section))
    targets.sort(key=lambda target: _number(target.section))
    took = time.monotonic() - began

    print()
    print(report.as_text(rows, targets))
    facts = report.machine()
    # Other work on the machine slows every figure; alternating rounds keep the ratios fair.
    facts["load average (1 min), start → end"] = f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"
    print("\n" + "\n".join(f"{k}: {v}" for k, v in facts.items()))
    print(f"\nbench: {took:.0f} s in all")
    if not args.no_docs:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        report.write_into(DOC, report.as_markdown(rows, targets, facts, took, when))
        print(f"bench: results written to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
