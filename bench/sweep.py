"""Section 14: the orphan sweep at scale, against a local stack of its own filled by
bench/sweepdata.py: the streaming sweep (profilepics.sweep) beside the one it replaced
(bench/naive_sweep.py, the whole table read first), on the same objects and profiles.

Each sweep runs in a fresh interpreter (`python -m bench.sweep --child ...`), its clients made
and its peak (`VmHWM`) reset before it starts, so its time, CPU and memory growth are its own.
Both first run dry (alternating rounds, the data unchanged), then the streaming one deletes.

    python -m bench.sweep                      # 10,000 objects, as `make bench` runs it
    python -m bench.sweep --objects 100000     # the figure docs/benchmarks.md quotes
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import report
from bench.measure import Row, Sample, Target
from bench.memory import _reset_peak, _status

SECTION = "14 Sweep"
OBJECTS = 10_000
PER = 10_000  # times are given per this many objects
STREAMING, WHOLE_TABLE = "streaming, by owner (project)", "whole table first (before #16)"
APPROACHES = {STREAMING: "streaming", WHOLE_TABLE: "whole-table"}


def _child(settings_fields: dict[str, Any], approach: str, dry_run: bool) -> dict[str, Any]:
    from profilepics.adapters.dynamodb_table import DynamoDBTable
    from profilepics.adapters.minio_store import MinioStore
    from profilepics.clock import utcnow
    from profilepics.config import Settings
    from profilepics.sweep import Sweeper

    from bench.naive_sweep import NaiveSweeper

    settings = Settings.model_validate(settings_fields)
    store, table = MinioStore(settings), DynamoDBTable(settings)
    store.ping()
    table.ping()  # clients and their connections made before the peak is reset
    gc.collect()
    reset = _reset_peak()
    before = _status("VmHWM") if reset else _status("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    if approach == "streaming":
        done = Sweeper(store, table, utcnow).run(timedelta(0), dry_run, fresh=True)
    else:
        done = NaiveSweeper(store, table, utcnow).run(timedelta(0), dry_run)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "cpu": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
        "peak_mb": _status("VmHWM") - before,
        "checked": done.checked,
        "orphans": sum(done.deleted.values()),
        "profiles_read": done.owners_read,
    }


def _measure(settings_fields: dict[str, Any], approach: str, dry_run: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.sweep", "--child", approach]
    if dry_run:
        args.append("--dry-run")
    done = subprocess.run(
        args,
        input=json.dumps(settings_fields),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {approach} sweep failed:\n{done.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return measured


def _table_only(folder: Path) -> Path:
    """A template with the service's table and no function: the objects the benchmark writes
    trigger nothing (ingest would take its pending uploads), and no event work competes."""
    import yaml

    from infra.invoker.template import load
    from infra.local import REPO_ROOT

    table = load(REPO_ROOT / "template.yaml").table
    path = folder / "template.yaml"
    doc = {"Resources": {"ProfilesTable": {"Type": "AWS::DynamoDB::Table", "Properties": table}}}
    path.write_text(yaml.safe_dump(doc))
    return path


def run(objects: int = OBJECTS, repeat: int = 3) -> tuple[list[Row], list[Target]]:
    from bench import sweepdata
    from bench.stack import running_stack

    with (
        tempfile.TemporaryDirectory(prefix="profilepics-sweep-") as folder,
        running_stack(env={"PROFILEPICS_TEMPLATE": str(_table_only(Path(folder)))}) as stack,
    ):
        settings = stack.settings()
        minio, dynamodb = sweepdata.clients(settings)
        made = sweepdata.generate(minio, stack.bucket, dynamodb, stack.table, objects)
        print(
            f"bench: {made.objects:,} objects ({made.orphans:,} orphans) and "
            f"{made.profiles:,} profiles made in {made.seconds:.0f} s",
            file=sys.stderr,
        )
        time.sleep(1.5)  # older than the sweep's one-second grain, so orphans are due
        fields = json.loads(settings.model_dump_json())
        fields |= {
            "s3_access_key": settings.s3_access_key.get_secret_value(),
            "s3_secret_key": settings.s3_secret_key.get_secret_value(),
            "dynamodb_access_key": "local",
            "dynamodb_secret_key": "local",
        }
        dry: dict[str, list[dict[str, Any]]] = {name: [] for name in APPROACHES}
        for _ in range(repeat):
            for name, approach in APPROACHES.items():
                dry[name].append(_measure(fields, approach, dry_run=True))
        deleting = _measure(fields, "streaming", dry_run=False)
        left = len(stack.keys("originals/")) + len(stack.keys("thumbnails/"))
        left += len(stack.keys("uploads/"))
    for name, runs in dry.items():
        for measured in runs:
            _check(name, measured, made.objects, made.orphans)
    _check("deleting", deleting, made.objects, made.orphans)
    if left != made.objects - made.orphans:
        raise RuntimeError(f"the deleting sweep left {left:,} objects, not the referenced ones")
    return _rows(dry, deleting, made.objects, made.profiles), []


def _check(name: str, measured: dict[str, Any], objects: int, orphans: int) -> None:
    if (measured["checked"], measured["orphans"]) != (objects, orphans):
        raise RuntimeError(
            f"{name}: checked {measured['checked']:,} of {objects:,} objects and found "
            f"{measured['orphans']:,} of {orphans:,} orphans"
        )


def _rows(
    dry: dict[str, list[dict[str, Any]]], deleting: dict[str, Any], objects: int, profiles: int
) -> list[Row]:
    case = f"{objects:,} objects, {profiles:,} profiles"
    per = PER / objects
    rows = []
    time_of = {
        name: Sample.of([r["seconds"] * per for r in runs], "s") for name, runs in dry.items()
    }
    for name, runs in dry.items():
        rate = objects / Sample.of([r["seconds"] for r in runs], "s").median
        cpu = Sample.of([r["cpu"] * per for r in runs], "s").median
        read = runs[0]["profiles_read"]
        note = f"{rate:,.0f} objects/s; CPU {report.number(cpu)} s; {read:,} profiles read"
        if name != STREAMING:
            ratio = time_of[name].median / time_of[STREAMING].median
            note += f"; takes {ratio:.2f}× the project's time"
        rows.append(
            Row(SECTION, f"{case}: time per {PER:,} objects, dry run", name, time_of[name], note)
        )
    for name, runs in dry.items():
        peak = Sample.of([r["peak_mb"] for r in runs], "MB")
        rows.append(Row(SECTION, f"{case}: peak memory growth, dry run", name, peak))
    rate = objects / deleting["seconds"]
    rows.append(
        Row(
            SECTION,
            f"{case}: time per {PER:,} objects, deleting {deleting['orphans']:,} orphans",
            STREAMING,
            Sample.of([deleting["seconds"] * per], "s"),
            f"{rate:,.0f} objects/s; peak memory growth {deleting['peak_mb']:.1f} MB",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--objects", type=int, default=OBJECTS)
    parser.add_argument("--repeat", type=int, default=3, help="dry runs of each approach")
    parser.add_argument("--child", choices=sorted(APPROACHES.values()), help=argparse.SUPPRESS)
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(sys.stdin.read()), args.child, args.dry_run)))
        return 0
    rows, targets = run(args.objects, args.repeat)
    print(report.as_text(rows, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
