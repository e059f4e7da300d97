"""Section 1: four square WebP variants, the project's path against naive Pillow and pyvips."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from profilepics import variants as project
from profilepics.formats import WEBP_METHOD
from profilepics.images import ImageLimits

from bench import inputs
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


def run(repeat: int = 5) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    makers = approaches()
    for case, data in cases().items():
        ready: dict[str, Callable[[], object]] = {}
        for name, make in makers.items():
            if make is None:
                rows.append(Row(SECTION, f"{case} ({_label(data)})", name, None, "not installed"))
                continue
            made = make(data)
            if sorted(made) != sorted(SIZES) or not all(made.values()):
                raise RuntimeError(f"{name} did not make every size of {case}")
            ready[name] = partial(make, data)
        samples = interleaved(ready, repeat, fewer={"make_naive_variants": 3})
        ours = samples["make_variants (project)"]
        for name, sample in samples.items():
            note = "" if sample is ours else f"takes {ratio(sample, ours):.2f}× the project's time"
            rows.append(Row(SECTION, f"{case} ({_label(data)})", name, sample, note))
        targets.extend(_targets(case, samples))
    return rows, targets


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
