"""Section 9: hostile uploads. What each nasty input costs the upload function (clean_image) and
the thumbnails function (its variants), in CPU seconds and peak memory, measured in a fresh
interpreter per input and stage so each peak is that process's real resident memory.

With a baseline (a git ref), the same inputs run through that commit's core in the same run,
side by side: `python -m bench.hostile --baseline main`.

The child protocol: `python -m bench.hostile --child STAGE INPUT OUTPUT [FRAMES]`, with the core
to measure first on PYTHONPATH; it prints one JSON object.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import inputs
from bench.measure import Row, Sample, Target
from bench.memory import _reset_peak, _status
from tests.unit import imagegen as gen

SECTION = "9 Hostile uploads"
ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "layers" / "core"
CPU_GOAL_S = 2.0
MEMORY_GOAL_MB = 512
REFUSAL_GOAL_MS = 50
TIMEOUT_S = 300


def cases() -> dict[str, bytes]:
    """The nasty set: crafted files that declare far more work than they weigh, some at the
    limits and some past them, truncated files that still end well, and the heaviest honest
    pictures under the byte limit."""
    photo = inputs.jpeg(1600, 1200)
    smooth = inputs.photo(600, 600).resize((2200, 2200))
    return {
        "GIF, 100 1x1 frames on a 1000² canvas": gen.gif_sparse(100, 1000),
        "GIF, 100 frames of 1000², each a new colour": inputs.gif_flat(100, 1000),
        "GIF, 50 frames of 1000², each a new colour": inputs.gif_flat(50, 1000),
        "lossless WebP, 2 frames of 7000²": gen.webp_solid(7000, 7000, 2),
        "lossless WebP, 2 frames of 2000²": gen.webp_solid(2000, 2000, 2),
        "lossless WebP, 20 frames of 1000², each a new colour": gen.webp_solid(1000, 1000, 20),
        "lossless WebP, 100 frames of 1000²": gen.webp_solid(1000, 1000, 100),
        "lossless WebP, 1 frame of 7000²": gen.webp_solid(7000, 7000),
        "lossless WebP, 1 frame of 4472²": gen.webp_solid(4472, 4472),
        "APNG, 100 frames of 1000², 1 px changing": gen.apng_frames(100, 1000),
        "APNG, 100 frames of 1000², each a new colour": gen.apng_frames(100, 1000, whole=True),
        "APNG, 50 frames of 1000², each a new colour": gen.apng_frames(50, 1000, whole=True),
        "PNG, 7000² RGBA zeros": inputs.encode(_zeros("RGBA", 7000), "PNG", compress_level=9),
        "PNG, 5000² 16-bit RGBA zeros": gen.png_zeros(5000, 5000, depth=16),
        "PNG, 7000² 1-bit zeros": gen.png_bomb(7000, 7000),
        "JPEG at its byte floor, 7000² grey": gen.jpeg_at_floor(7000, 7000),
        "JPEG header of 7000², 1 KB of scan": gen.jpeg_at_floor(7000, 7000)[:1400] + b"\xff\xd9",
        "JPEG cut in half, EOI appended": gen.jpeg_cut(photo),
        "PNG whose data covers 10 of 600 rows": gen.png_rows_cut(400, 600, 10),
        "honest: smooth 4.8 MP PNG": inputs.encode(smooth, "PNG"),
        "honest: 50 MP JPEG": inputs.worst_jpeg(50_000_000, 5 * 1024 * 1024),
        "honest: 100-frame 320² photo GIF": inputs.gif(100, 320),
    }


def _zeros(mode: str, side: int) -> Any:
    from PIL import Image

    return Image.new(mode, (side, side))


# --- the child: one stage of one input, in a fresh interpreter ------------------------------


def _deps() -> tuple[Any, Callable[[bytes, int], object]]:
    """The upload limits and the thumbnails step as the deployed settings build them, with no
    store or table: neither is touched. A baseline's core may predate the injected clock, and
    variants.derive (issue 12)."""
    from profilepics import pictures, variants
    from profilepics.config import Settings
    from profilepics.processing import Processing

    settings = Settings()
    if hasattr(variants, "derive"):
        limits = pictures.image_limits(settings)

        def derive(data: bytes, frames: int) -> object:
            return variants.derive(
                data, settings.variants, frames=frames, encodings=settings.encodings, limits=limits
            )

        return limits, derive

    def made(cls: Any, *args: Any) -> Any:
        clock = {"clock": lambda: None} if "clock" in inspect.signature(cls).parameters else {}
        return cls(*args, **clock)

    old = made(pictures.Pictures, None, None, None, settings)
    return old.limits(), made(Processing, None, None, old, settings)._variants_of


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(stage: str, source: Path, output: Path, frames: int) -> dict[str, Any]:
    from profilepics.errors import ProblemError
    from profilepics.images import clean_image

    limits, make_variants = _deps()
    data = source.read_bytes()
    # Plugins load on first use: not part of any picture's cost.
    warm = clean_image(gen.encode(gen.marked(16, 16), "PNG"), limits)
    make_variants(warm.data, 1)
    reset = _reset_peak()
    idle = _status("VmRSS")
    cpu, wall = _cpu(), time.perf_counter()
    outcome, made_frames = "accepted", 0
    try:
        if stage == "upload":
            clean = clean_image(data, limits)
            output.write_bytes(clean.data)
            made_frames = clean.frames
        else:
            make_variants(data, frames)
    except ProblemError as exc:
        outcome = exc.code
    return {
        "outcome": outcome,
        "frames": made_frames,
        "cpu_s": _cpu() - cpu,
        "wall_ms": (time.perf_counter() - wall) * 1e3,
        "peak_mb": _status("VmHWM"),
        "peak_reset": reset,
        "idle_mb": idle,
    }


# --- the parent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    outcome: str
    frames: int
    cpu_s: tuple[float, ...]
    wall_ms: tuple[float, ...]
    peak_mb: float
    idle_mb: float

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_s)


def _measure(core: Path, stage: str, source: Path, output: Path, frames: int, repeat: int) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILEPICS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(core), str(ROOT)])
    command = [sys.executable, "-m", "bench.hostile", "--child", stage, str(source)]
    got: list[dict[str, Any]] = []
    for _ in range(repeat):
        done = subprocess.run(
            [*command, str(output), str(frames)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            env=env,
            cwd=ROOT,
        )
        if done.returncode != 0:
            # Killed (out of memory) or crashed: that is the figure, not a bench failure.
            return Run(f"died ({done.returncode})", 0, (float("nan"),), (0.0,), 0.0, 0.0)
        got.append(json.loads(done.stdout))
        if got[-1]["cpu_s"] > 5:
            break  # slow enough to read from one run
    return Run(
        outcome=got[0]["outcome"],
        frames=got[0]["frames"],
        cpu_s=tuple(g["cpu_s"] for g in got),
        wall_ms=tuple(g["wall_ms"] for g in got),
        peak_mb=max(g["peak_mb"] for g in got),
        idle_mb=min(g["idle_mb"] for g in got),
    )


@contextmanager
def _core_at(ref: str) -> Iterator[Path]:
    """The core layer as it is at a git ref, in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "layers/core"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "layers" / "core"


def _note(run: Run) -> str:
    outcome = "accepted" if run.outcome == "accepted" else f"refused: {run.outcome}"
    wall = statistics.median(run.wall_ms)
    return f"peak {run.peak_mb:,.0f} MB (idle {run.idle_mb:.0f}); {wall:,.0f} ms wall; {outcome}"


def _version(
    label: str, core: Path, named: dict[str, bytes], repeat: int, tmp: Path
) -> tuple[list[Row], list[Run]]:
    rows: list[Row] = []
    runs: list[Run] = []
    for index, (name, data) in enumerate(named.items()):
        source, cleaned = tmp / f"in-{index}", tmp / f"out-{index}"
        source.write_bytes(data)
        case = f"{name} ({len(data):,} B)"
        upload = _measure(core, "upload", source, cleaned, 0, repeat)
        rows.append(Row(SECTION, case, f"{label}: upload", _cpu_sample(upload), _note(upload)))
        runs.append(upload)
        if upload.outcome == "accepted":
            thumbs = _measure(core, "thumbnails", cleaned, cleaned, upload.frames, repeat)
            rows.append(
                Row(SECTION, case, f"{label}: thumbnails", _cpu_sample(thumbs), _note(thumbs))
            )
            runs.append(thumbs)
    return rows, runs


def _cpu_sample(run: Run) -> Sample:
    return Sample.of(list(run.cpu_s), "s CPU")


def _targets(label: str, runs: list[Run]) -> list[Target]:
    worst_cpu = max(run.cpu for run in runs)
    worst_peak = max(run.peak_mb for run in runs)
    # A refusal by a cap or a floor; one by the CPU budget costs the budget, by design.
    refusals = [
        statistics.median(r.wall_ms)
        for r in runs
        if r.outcome not in ("accepted", "image_too_complex")
    ]
    died = [r for r in runs if r.outcome.startswith("died")]
    targets = [
        Target(
            SECTION,
            f"{label}: worst CPU per function ≤ {CPU_GOAL_S:.0f} s",
            f"{worst_cpu:.2f} s",
            worst_cpu <= CPU_GOAL_S and not died,
        ),
        Target(
            SECTION,
            f"{label}: worst peak memory ≤ {MEMORY_GOAL_MB} MB",
            f"{worst_peak:,.0f} MB",
            worst_peak <= MEMORY_GOAL_MB and not died,
        ),
    ]
    if refusals:
        slowest = max(refusals)
        targets.append(
            Target(
                SECTION,
                f"{label}: every refusal by a cap or floor < {REFUSAL_GOAL_MS} ms",
                f"{slowest:,.0f} ms",
                slowest < REFUSAL_GOAL_MS,
            )
        )
    return targets


def run(baseline: str | None = None, repeat: int = 3) -> tuple[list[Row], list[Target]]:
    named = cases()
    rows: list[Row] = []
    targets: list[Target] = []
    versions: list[tuple[str, Callable[[], Any]]] = []
    if baseline:
        versions.append((baseline, lambda: _core_at(baseline)))
    versions.append(("this tree", lambda: _here()))
    with tempfile.TemporaryDirectory() as tmp:
        for label, core_of in versions:
            with core_of() as core:
                got, runs = _version(label, core, named, repeat, Path(tmp))
            rows += got
            targets += _targets(label, runs)
    return rows, targets


@contextmanager
def _here() -> Iterator[Path]:
    yield CORE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--baseline", help="a git ref whose core runs the same inputs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        stage, source, output, *frames = args.child
        result = _child(stage, Path(source), Path(output), int(frames[0]) if frames else 0)
        print(json.dumps(result))
        return 0
    from bench import report

    rows, targets = run(args.baseline, args.repeat)
    print(report.as_text(rows, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
