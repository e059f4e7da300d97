"""Section 10: the upload path (issue 15), this tree against the tree before it, in one run.

- `clean_image` of each input: CPU per call, each version in fresh interpreters, alternating;
- the upload function's CPU per upload: its handler called in-process, as a worker calls it,
  against the local stack's store and table (bench/inprocess.py), each version's own code;
- PNG's zlib level, for a picture that has to be re-encoded;
- uploads a second with 4 uploaders over HTTP, on a stack of each version's own: the PUT rate
  while wrk runs, the rate once every upload's thumbnails are recorded as well, and the CPU all
  the stack's processes spent per upload (invoker, workers, store, table).

`python -m bench.upload --child RUNS FILE...` is one interpreter's share: the core on PYTHONPATH
cleans each FILE RUNS times (after one untimed call) and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import before, inputs
from bench.http_load import Endpoint, Load, ensure_wrk, load_once, warm_up
from bench.measure import Row, Sample, Target

if TYPE_CHECKING:
    # Not at import: a child (`--child`) runs with another tree's infra on its path, which
    # tests/stackrun.py need not match.
    from tests.stackrun import RunningStack

SECTION = "10 Upload path"
ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 2
RUNS = 2
UPLOADERS = 4
SECONDS = 6
FUNCTION_CALLS = 4
# Goals: the upload function's CPU against before's, by input; uploads a second.
CPU_GOALS = {"2 MB JPEG": 0.5, "4 MB RGBA PNG": 0.3, "50-frame GIF": 0.25}
UPLOADS_GOAL = 2.0
# This tree with the variants an upload made before issue 12 (WebP only): like for like.
WEBP_ONLY = "this tree, WebP variants only"
# Settings measured beside the defaults with --levers (not in `make bench`: a stack each).
LEVERS = {"this tree, AVIF speed 10": {"PROFILEPICS_AVIF_SPEED": "10"}}


def _turned(jpeg: bytes) -> bytes:
    """The JPEG with an EXIF block saying it must be turned (orientation 6)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    body = exif.tobytes()
    return jpeg[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


def cases() -> dict[str, bytes]:
    jpeg = inputs.jpeg_of_about(2_000_000)
    return {
        "2 MB JPEG": jpeg,
        "2 MB JPEG, EXIF-turned": _turned(jpeg),
        "4 MB RGBA PNG": inputs.encode(inputs.photo(1400, 1400).convert("RGBA"), "PNG"),
        "1080p WebP": inputs.encode(inputs.photo(1920, 1080), "WEBP", quality=90),
        "50-frame GIF": inputs.gif(50, 420),
    }


def _label(name: str, data: bytes) -> str:
    return f"{name} ({len(data) / 1e6:.1f} MB)"


def _env(tree: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILEPICS_")}
    code = before.python_path(tree) if tree else f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'core'}"
    env["PYTHONPATH"] = code
    return env


def run_child(tree: Path | None, args: list[str], stdin: str | None = None) -> Any:
    """`python args` with tree's code (this tree's when None): its last line of output, JSON."""
    done = subprocess.run(
        [sys.executable, *args],
        input=stdin,
        env=_env(tree),
        cwd=tree or ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{done.args[:3]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- clean_image, a fresh interpreter per version and round --------------------------------


def _child(runs: int, sources: list[Path]) -> list[dict[str, Any]]:
    from profilepics.images import ImageLimits, clean_image

    limits = ImageLimits()
    found = []
    for source in sources:
        data = source.read_bytes()
        clean = clean_image(data, limits)  # plugins load, caches fill: not the picture's cost
        cpu = []
        for _ in range(runs):
            began = time.process_time()
            clean_image(data, limits)
            cpu.append((time.process_time() - began) * 1e3)
        found.append({"cpu_ms": cpu, "bytes": len(clean.data)})
    return found


def _clean_all(tree: Path | None, sources: list[Path]) -> list[dict[str, Any]]:
    args = ["-m", "bench.upload", "--child", str(RUNS), *map(str, sources)]
    result: list[dict[str, Any]] = run_child(tree, args)
    return result


def cleaning(tree: Path, named: dict[str, bytes], tmp: Path) -> list[Row]:
    sources = []
    for index, data in enumerate(named.values()):
        sources.append(tmp / f"clean-{index}")
        sources[-1].write_bytes(data)
    cpu: dict[str, list[list[float]]] = {
        "before": [[] for _ in named],
        "this tree": [[] for _ in named],
    }
    stored: dict[str, list[int]] = {}
    for _ in range(ROUNDS):
        for label, code in (("before", tree), ("this tree", None)):
            got = _clean_all(code, sources)
            for index, one in enumerate(got):
                cpu[label][index] += one["cpu_ms"]
            stored[label] = [one["bytes"] for one in got]
    rows: list[Row] = []
    for index, (name, data) in enumerate(named.items()):
        was = Sample.of(cpu["before"][index], "ms CPU")
        ours = Sample.of(cpu["this tree"][index], "ms CPU")
        case = _label(name, data)
        note = f"stores {stored['before'][index]:,} B"
        rows.append(Row(SECTION, case, "clean_image, before", was, note))
        share = ours.median / was.median
        note = f"{share:.0%} of before; stores {stored['this tree'][index]:,} B"
        rows.append(Row(SECTION, case, "clean_image, this tree", ours, note))
    return rows


# --- the upload function, in-process against the stack -----------------------------------


def _function_cpu(config: dict[str, Any], tree: Path | None, source: Path) -> list[float]:
    request = {
        **config,
        "function": "UploadFunction",
        "route": "/users/{user_id}/picture",
        "method": "PUT",
        "body_file": str(source),
        "calls": FUNCTION_CALLS,
    }
    cpu: list[float] = run_child(tree, ["-m", "bench.inprocess"], json.dumps(request))["cpu_ms"]
    return cpu


def function_cpu(
    config: dict[str, Any], tree: Path, named: dict[str, bytes], tmp: Path
) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    for index, (name, goal) in enumerate(CPU_GOALS.items()):
        source = tmp / f"function-{index}"
        source.write_bytes(named[name])
        found: dict[str, list[float]] = {"before": [], "this tree": []}
        for _ in range(2):
            for label, code in (("before", tree), ("this tree", None)):
                found[label] += _function_cpu(config, code, source)
        was, ours = Sample.of(found["before"], "ms CPU"), Sample.of(found["this tree"], "ms CPU")
        share = ours.median / was.median
        case = f"upload function, {_label(name, named[name])}"
        rows.append(Row(SECTION, case, "handler in-process, before", was))
        rows.append(Row(SECTION, case, "handler in-process, this tree", ours, f"{share:.0%}"))
        targets.append(
            Target(
                SECTION,
                f"{name}: upload-function CPU ≤ {goal:.0%} of before",
                f"{share:.0%} ({ours.median:.0f} against {was.median:.0f} ms)",
                share <= goal,
            )
        )
    return rows, targets


# --- PNG's zlib level, when a picture must be re-encoded ----------------------------------


def png_levels() -> list[Row]:
    img = inputs.photo(1400, 1400).convert("RGBA")
    rows = []
    for level in (1, 2, 6):
        began = time.process_time()
        data = inputs.encode(img, "PNG", compress_level=level)
        cpu = [(time.process_time() - began) * 1e3]
        chosen = " (chosen)" if level == 2 else ""
        note = f"{len(data):,} B{chosen}"
        rows.append(
            Row(
                SECTION,
                "re-encoding a 1400² RGBA PNG",
                f"zlib level {level}",
                Sample.of(cpu, "ms CPU"),
                note,
            )
        )
    return rows


# --- uploads a second over HTTP ------------------------------------------------------------


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _settled(stack: RunningStack, users: list[str], deadline: float) -> bool:
    """Every user's picture has its variants recorded (or failed): no thumbnails still due."""
    table = stack.dynamodb()
    while time.monotonic() < deadline:
        statuses = [
            table.get_item(TableName=stack.table, Key={"user_id": {"S": u}}, ConsistentRead=True)
            .get("Item", {})
            .get("picture", {})
            .get("M", {})
            .get("status", {})
            .get("S")
            for u in users
        ]
        if "processing" not in statuses:
            return True
        time.sleep(0.2)
    return False


def uploads_per_second(
    stack: RunningStack, users: list[str], tokens: dict[str, str], picture: bytes
) -> tuple[Load, float, float]:
    """The PUT load, the rate with every upload's thumbnails done, and CPU per upload (ms)."""
    endpoint = Endpoint("PUT", "PUT", "/users/{user_id}/picture", picture, concurrency=UPLOADERS)
    pairs = [(endpoint.path.replace("{user_id}", u), tokens[u]) for u in users]
    warm_up(stack.api, endpoint, pairs)
    _settled(stack, users, time.monotonic() + 60)
    from tests.stackrun import _descendants

    pids = [stack.process.pid, *_descendants(stack.process.pid)]
    cpu, began = _cpu_seconds(pids), time.monotonic()
    load = load_once(ensure_wrk(), stack.api, endpoint, pairs, SECONDS)
    _settled(stack, users, time.monotonic() + 60)
    took, spent = time.monotonic() - began, _cpu_seconds(pids) - cpu
    return load, load.requests / took, spent / max(load.requests, 1) * 1e3


Uploads = tuple[Load, float, float]


def http_rows(results: dict[str, list[Uploads]], picture: bytes) -> tuple[list[Row], list[Target]]:
    """Each version's rows from its rounds (uploads_per_second's): the medians of its rates."""
    rows: list[Row] = []
    case = f"PUT {len(picture) / 1e6:.1f} MB JPEG, {UPLOADERS} uploaders"
    rates: dict[str, Sample] = {}
    for label, rounds in results.items():
        rates[label] = Sample.of([sustained for _, sustained, _ in rounds], "/s")
        uploads = sum(load.requests for load, _, _ in rounds)
        errors = sum(load.errors for load, _, _ in rounds)
        socket_errors = sum(load.socket_errors for load, _, _ in rounds)
        put = statistics.median(load.per_second for load, _, _ in rounds)
        cpu = statistics.median(spent for _, _, spent in rounds)
        told = f"median of {len(rounds)} rounds; " if len(rounds) > 1 else ""
        note = (
            f"{told}{put:.1f}/s while wrk ran ({uploads} uploads, {errors} non-2xx, "
            f"{socket_errors} socket errors); the stack's CPU {cpu:.0f} ms an upload"
        )
        rows.append(
            Row(SECTION, case, f"uploads/s with thumbnails done, {label}", rates[label], note)
        )
    targets: list[Target] = []
    for label, told in (("this tree", ""), (WEBP_ONLY, ", the same four WebP variants")):
        if label not in rates or "before" not in rates:
            continue
        ours, was = rates[label].median, rates["before"].median
        targets.append(
            Target(
                SECTION,
                f"uploads/s with {UPLOADERS} uploaders ≥ {UPLOADS_GOAL:.0f}× before{told}",
                f"{ours / was:.2f}× ({ours:.1f} against {was:.1f}/s)",
                ours / was >= UPLOADS_GOAL,
            )
        )
    failures = sum(
        load.errors + load.socket_errors for rounds in results.values() for load, _, _ in rounds
    )
    targets.append(Target(SECTION, "uploads: 0 errors", f"{failures} errors", failures == 0))
    return rows, targets


def offline(tree: Path) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        return cleaning(tree, cases(), Path(tmp)) + png_levels()


def on_stacks(
    tree: Path, users: int = 16, levers: bool = False, rounds: int = 1
) -> tuple[list[Row], list[Target]]:
    """This section's stack rows alone: the upload function's CPU on this tree's stack, then
    uploads a second on each version's stack (and on this tree's with each of LEVERS' settings,
    if levers), every stack up at once and measured in turn, rounds times: a load that changes
    meanwhile falls on every version alike."""
    from bench.stack import child_config, running_stack, seed_users
    from tests.stackrun import token

    named, seed = cases(), inputs.jpeg_of_about(200_000)
    picture = named["2 MB JPEG"]
    versions: list[tuple[str, Path | None, dict[str, str] | None]] = [
        ("this tree", None, None),
        (WEBP_ONLY, None, {"PROFILEPICS_THUMBNAIL_FORMATS": "webp"}),
        *((label, None, env) for label, env in LEVERS.items() if levers),
        ("before", tree, None),
    ]
    with ExitStack() as up, tempfile.TemporaryDirectory() as tmp:
        stacks = {
            label: up.enter_context(running_stack(code, env)) for label, code, env in versions
        }
        seeded = {label: seed_users(stack, users, seed) for label, stack in stacks.items()}
        ours = seeded["this tree"]
        tokens = {u: token(u) for u in ours}
        config = {**child_config(stacks["this tree"]), "user": ours[0]}
        rows, targets = function_cpu(config, tree, named, Path(tmp))
        puts: dict[str, list[Uploads]] = {label: [] for label in stacks}
        for _ in range(rounds):
            for label, stack in stacks.items():
                puts[label].append(uploads_per_second(stack, seeded[label], tokens, picture))
    put_rows, put_targets = http_rows(puts, picture)
    return rows + put_rows, targets + put_targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument(
        "--stack",
        action="store_true",
        help="the stack rows instead (upload-function CPU, uploads/s): a local stack a version",
    )
    parser.add_argument(
        "--levers", action="store_true", help="with --stack: also this tree with LEVERS' settings"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --stack: the uploads/s rounds, interleaved"
    )
    parser.add_argument("--before", default=before.BEFORE, help="the ref to compare with")
    args = parser.parse_args(argv)
    if args.child:
        runs, *files = args.child
        print(json.dumps(_child(int(runs), [Path(f) for f in files])))
        return 0
    from bench import report

    load = os.getloadavg()[0]
    with before.tree_at(args.before) as tree:
        if args.stack:
            rows, targets = on_stacks(tree, levers=args.levers, rounds=args.rounds)
        else:
            rows, targets = offline(tree), []
    print(report.as_text(rows, targets))
    print(f"load average (1 min), start → end: {load:.1f} → {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
