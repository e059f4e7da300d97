"""Section 1: four square WebP variants, the project's path against naive Pillow, pyvips and
sharp (bench/peers.py), timed in alternating rounds; then the peak resident memory of each
approach, each in a fresh process of its own.

`python -m bench.variants --peak APPROACH FILE` makes FILE's variants once by APPROACH and
prints its process's peak resident memory (MB) as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from profilepics import variants as project
from profilepics.formats import WEBP_METHOD
from profilepics.images import ImageLimits

from bench import inputs, peers
from bench.measure import Row, Sample, Target, interleaved, ratio
from bench.naive import make_naive_variants

SECTION = "1 Variants"
SIZES = (512, 256, 128, 64)
QUALITY = 80
LIMITS = ImageLimits()

Make = Callable[[bytes], dict[int, bytes]]


def pyvips_module() -> Any | None:
    """pyvips with its operation cache off (it would serve repeats from memory), or None."""
    try:
        import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except (ImportError, OSError):
        return None
    pyvips.cache_set_max(0)
    return pyvips


def pyvips_variants(vips: Any, data: bytes, sizes: Sequence[int] = SIZES) -> dict[int, bytes]:
    """libvips' best path: shrink-on-load to the largest square, then each size from it."""
    largest = vips.Image.thumbnail_buffer(
        data, max(sizes), height=max(sizes), crop="centre", size="down"
    ).copy_memory()
    out: dict[int, bytes] = {}
    for size in sorted(sizes, reverse=True):
        img = largest
        if size < largest.width:
            img = largest.thumbnail_image(size, height=size, crop="centre")
        # Same encoder settings as the project: libwebp's quality and method (effort).
        out[size] = img.write_to_buffer(".webp", Q=QUALITY, effort=WEBP_METHOD)
    return out


def single_threaded(vips: Any, data: bytes) -> dict[int, bytes]:
    """pyvips on one thread, as the project's Pillow path runs (and as a 1 GB Lambda has
    ~0.6 vCPU): on a shared machine its default thread pool also wins it a bigger CPU share."""
    threads = vips.concurrency_get()
    vips.concurrency_set(1)
    try:
        return pyvips_variants(vips, data)
    finally:
        vips.concurrency_set(threads)


def cases() -> dict[str, bytes]:
    return {
        "12 MP JPEG": inputs.jpeg(4000, 3000),
        "24 MP JPEG": inputs.jpeg(6000, 4000),
        "2000² PNG": inputs.encode(inputs.photo(2000, 2000), "PNG"),
        "100-frame GIF": inputs.gif(100, 320),
    }


def approaches() -> dict[str, Make | None]:
    vips = pyvips_module()
    return {
        "make_variants (project)": lambda data: project.make_variants(data, SIZES, limits=LIMITS),
        "make_naive_variants": lambda data: make_naive_variants(data, SIZES),
        "pyvips thumbnail": None if vips is None else lambda data: pyvips_variants(vips, data),
        "pyvips thumbnail, 1 thread": (
            None if vips is None else lambda data: single_threaded(vips, data)
        ),
    }


def _label(data: bytes) -> str:
    return f"{len(data) / 1e6:.1f} MB"


SHARP = "sharp (node)"


def run(repeat: int = 5) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    makers = approaches()
    sharp = peers.Sharp() if peers.available() else None
    try:
        made = cases()
        with tempfile.TemporaryDirectory() as tmp:
            for index, (case, data) in enumerate(made.items()):
                path = Path(tmp) / f"case-{index}"
                path.write_bytes(data)
                got_rows, got_targets = _case(case, data, path, makers, sharp, repeat)
                rows += got_rows
                targets += got_targets
            if sharp is not None:
                sharp.close()
                sharp = None
            rows += peaks(Path(tmp) / "case-0", next(iter(made)))
    finally:
        if sharp is not None:
            sharp.close()
    return rows, targets


def _case(
    case: str,
    data: bytes,
    path: Path,
    makers: dict[str, Make | None],
    sharp: peers.Sharp | None,
    repeat: int,
) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    label = f"{case} ({_label(data)})"
    ready: dict[str, Callable[[], object]] = {}
    for name, make in makers.items():
        if make is None:
            rows.append(Row(SECTION, label, name, None, "not installed"))
            continue
        made = make(data)
        if sorted(made) != sorted(SIZES) or not all(made.values()):
            raise RuntimeError(f"{name} did not make every size of {case}")
        ready[name] = partial(make, data)
    if sharp is None:
        rows.append(Row(SECTION, label, SHARP, None, "not installed (make bench installs it)"))
    else:
        ready[SHARP] = partial(_sharp, sharp, path)
        sharp.timings.clear()
    samples = interleaved(ready, repeat, fewer={"make_naive_variants": 2})
    if sharp is not None:
        # Timed inside node, around the whole set; the first call was the untimed one.
        samples[SHARP] = Sample.of(sharp.timings[1:], "ms")
    ours = samples["make_variants (project)"]
    for name, sample in samples.items():
        note = "" if sample is ours else f"takes {ratio(sample, ours):.2f}× the project's time"
        rows.append(Row(SECTION, label, name, sample, note))
    return rows, _targets(case, samples)


def _sharp(sharp: peers.Sharp, path: Path) -> dict[int, int]:
    return sharp.variants(path, list(SIZES), QUALITY, WEBP_METHOD)


def peaks(path: Path, case: str) -> list[Row]:
    """Each approach's peak resident memory making one set, in a process of its own."""
    rows = []
    label = f"{case}: peak resident memory, one set in a fresh process"
    for name, make in approaches().items():
        if make is None:
            continue
        done = subprocess.run(
            [sys.executable, "-m", "bench.variants", "--peak", name, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        got = json.loads(done.stdout.strip().splitlines()[-1])
        note = f"{got['idle_mb']:.0f} MB before it began (interpreter and libraries)"
        rows.append(Row(SECTION, label, name, Sample.of([got["peak_mb"]], "MB"), note))
    if peers.available():
        sharp = peers.Sharp()
        try:
            sharp.ready()
            idle = sharp.peak_mb()
            _sharp(sharp, path)
            peak = sharp.peak_mb()
        finally:
            sharp.close()
        note = f"{idle:.0f} MB before it began (node and sharp)"
        rows.append(Row(SECTION, label, SHARP, Sample.of([peak], "MB"), note))
    return rows


def _peak(name: str, path: Path) -> dict[str, float]:
    from bench.memory import _status

    make = approaches()[name]
    assert make is not None
    data = path.read_bytes()
    idle = _status("VmRSS")
    make(data)
    return {"peak_mb": _status("VmHWM"), "idle_mb": idle}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.variants", description=__doc__)
    parser.add_argument("--peak", nargs=2, metavar=("APPROACH", "FILE"))
    args = parser.parse_args(argv)
    if args.peak:
        print(json.dumps(_peak(args.peak[0], Path(args.peak[1]))))
        return 0
    from bench import report

    rows, targets = run(3)
    print(report.as_text(rows, targets))
    return 0


def _targets(case: str, samples: dict[str, Sample]) -> list[Target]:
    ours = samples["make_variants (project)"]
    naive = samples["make_naive_variants"]
    vips = samples.get("pyvips thumbnail")
    alone = samples.get("pyvips thumbnail, 1 thread")
    found: list[Target] = []
    if "JPEG" in case:
        speedup = ratio(naive, ours)
        found.append(
            Target(SECTION, f"{case}: ≥ 6× faster than naive", f"{speedup:.1f}×", speedup >= 6)
        )
    limit = {"JPEG": 1.0, "PNG": 1.3}.get(case.split()[-1])
    if limit is not None:
        if vips is None:
            found.append(Target(SECTION, f"{case}: ≤ {limit}× pyvips", "pyvips missing", None))
        else:
            share = ratio(ours, vips)
            shown = f"{share:.2f}× ({ratio(ours, alone):.2f}× of 1 thread)" if alone else ""
            found.append(Target(SECTION, f"{case}: ≤ {limit}× pyvips", shown, share <= limit))
    return found


if __name__ == "__main__":
    sys.exit(main())
