"""`python -m bench`: run every section, print the table, write it into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    animated,
    before,
    coldstart,
    hostile,
    http_edges,
    http_load,
    inputs,
    layer,
    memory,
    phone,
    readpath,
    recrop,
    report,
    sizes,
    spool,
    sweep,
    upload,
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


@contextmanager
def _timed(name: str) -> Iterator[None]:
    """How long a part of a section took, on stderr: where `make bench`'s minutes go."""
    began = time.monotonic()
    yield
    print(f"bench:   {name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


def _step(name: str, run: Callable[[], Results], rows: list[Row], targets: list[Target]) -> None:
    began = time.monotonic()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    got_rows, got_targets = run()
    rows += got_rows
    targets += got_targets
    print(f"bench: {name} done in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


def _number(section: str) -> int:
    return int(section.split(" ", 1)[0])


def _with_stack(tree: Path) -> Results:
    """Sections that need a local stack: in-process handlers, the read path and the upload path
    on this tree's stack; the uploads with WebP variants only on a stack of their own; then the
    read and upload loads on tree's."""
    from tests.stackrun import token

    seed = inputs.jpeg_of_about(200_000)
    uploaded = upload.cases()
    with running_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        with _timed("seeding this tree's stack"):
            users = seed_users(stack, USERS, seed)
        with _timed("3 in-process handlers"):
            rows = validation.in_process(child_config(stack), users[0])
        tokens = {u: token(u) for u in users}
        with _timed("12 read path, this tree"):
            many = readpath.seed_many(stack, users[0])
            reads = readpath.measure(stack, users, many, tokens[users[0]])
        with _timed("10 upload function CPU"):
            config = {**child_config(stack), "user": users[0]}
            fn_rows, fn_targets = upload.function_cpu(config, tree, uploaded, Path(tmp))
        with _timed("10 uploads/s, this tree"):
            puts = {
                "this tree": [
                    upload.uploads_per_second(stack, users, tokens, uploaded["2 MB JPEG"])
                ]
            }
    # Before issue 12 an upload made four WebP variants; today's default adds four AVIF ones.
    with _timed("10 uploads/s, WebP only (a stack of its own)"):
        with running_stack(env={"PROFILEPICS_THUMBNAIL_FORMATS": "webp"}) as stack:
            users = seed_users(stack, USERS, seed)
            puts[upload.WEBP_ONLY] = [
                upload.uploads_per_second(stack, users, tokens, uploaded["2 MB JPEG"])
            ]
    with _timed("12 and 10 before (a stack of its own)"):
        with running_stack(tree) as stack:
            users = seed_users(stack, USERS, seed)
            reads_before = readpath.measure_before(stack, users, tokens[users[0]])
            puts["before"] = [
                upload.uploads_per_second(stack, users, tokens, uploaded["2 MB JPEG"])
            ]
    read_rows, read_targets = readpath.rows(reads, reads_before)
    put_rows, put_targets = upload.http_rows(puts, uploaded["2 MB JPEG"])
    rows += read_rows + fn_rows + put_rows
    targets = read_targets + fn_targets + put_targets
    return rows, targets


def _more_stack(baseline: str) -> Results:
    """The stack sections with no before/after of issue 15's, on a stack of their own: HTTP
    load (5) and edges (6), and the read path of a stored size before and after issue 12 (13)."""
    from tests.stackrun import token

    picture = inputs.jpeg_of_about(1_000_000)
    with running_stack() as stack:
        users = seed_users(stack, USERS, inputs.jpeg_of_about(200_000))
        with _timed("13 stored-size reads"):
            ready(stack, users[2])
            read_users = (as_written_before_issue_12(stack, users[1]), users[2])
            rows, targets = sizes.read_path(child_config(stack), read_users, baseline, rounds=3)
        tokens = {u: token(u) for u in users}
        with _timed("5 HTTP load"):
            load_rows, load_targets = http_load.run(stack.api, users, tokens, picture)
        with _timed("6 HTTP edge"):
            edge_rows, edge_targets = http_edges.run(stack.env, users, tokens, picture)
    return rows + load_rows + edge_rows, targets + load_targets + edge_targets


def _main_sections(
    args: argparse.Namespace, tree: Path, rows: list[Row], targets: list[Target]
) -> None:
    """What `make bench` runs: issue 15's before/after figures and the quick sections."""
    _step("1 variants", lambda: variants.run(args.repeat), rows, targets)
    _step("2 peak memory", memory.run, rows, targets)
    _step("3 validation and presigning", validation.offline, rows, targets)
    _step("4 cold start", lambda: coldstart.run(args.repeat, tree), rows, targets)
    _step(
        "stack sections: 3, 10, 12",
        lambda: _with_stack(tree),
        rows,
        targets,
    )
    _step("10 upload path, offline", lambda: (upload.offline(tree), []), rows, targets)
    _step("11 animated variant", lambda: animated.run(tree), rows, targets)
    _step("7 event spool", lambda: spool.run(args.repeat), rows, targets)


def _more(args: argparse.Namespace, rows: list[Row], targets: list[Target]) -> None:
    """What `make bench-more` runs: the sections that take minutes (a `sam build`, a fresh
    interpreter per hostile input, seven rounds of every encoder, filling a bucket, HEIC, 12 MP
    re-crops), and the stack sections with no before/after of issue 15's (HTTP load and edges,
    13's stored-size reads) on a stack of their own."""
    baseline = args.baseline or "main"
    _step(
        "stack sections: 5, 6, 13's stored-size reads", lambda: _more_stack(baseline), rows, targets
    )
    _step("8 Lambda layer", lambda: layer.run(7), rows, targets)
    repeat = 1  # a fresh process per run: slow, and CPU time varies little
    _step("9 hostile uploads", lambda: hostile.run(args.baseline, repeat), rows, targets)
    _step("13 sizes and formats", lambda: sizes.run(7), rows, targets)
    _step(
        f"14 sweep ({args.sweep_objects:,} objects)",
        lambda: sweep.run(args.sweep_objects, 3),
        rows,
        targets,
    )
    _step("15 phone photos", lambda: phone.run(3), rows, targets)
    _step("16 re-crop", lambda: recrop.run(5), rows, targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave the docs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    parser.add_argument(
        "--more",
        action="store_true",
        help="the long sections instead (5, 6, 8, 9, 13, 14, 15, 16): `make bench-more`",
    )
    parser.add_argument(
        "--sweep-objects",
        type=int,
        default=sweep.OBJECTS,
        help="objects the sweep runs over (section 14, with --more; the docs quote 100,000)",
    )
    parser.add_argument(
        "--baseline",
        help="a git ref whose core also runs the hostile uploads (section 9) and the read path "
        "of a stored size (section 13; main when not given)",
    )
    parser.add_argument(
        "--before", default=before.BEFORE, help="the git ref issue 15's goals compare with"
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
    if args.more:
        _more(args, rows, targets)
    else:
        with before.tree_at(args.before) as tree:
            _main_sections(args, tree, rows, targets)
    # By section number; stable, so each section keeps its own order.
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
        command, part = ("make bench-more", "more") if args.more else ("make bench", "results")
        block = report.as_markdown(rows, targets, facts, took, when, command)
        report.write_into(DOC, block, part)
        print(f"bench: results written to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
