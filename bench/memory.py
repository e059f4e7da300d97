"""Section 2: peak memory (VmHWM) of cleaning and thumbnailing the worst accepted pictures, and
the cost of refusing a bomb, each in a fresh interpreter.

The parent writes each input to a file; `python -m bench.memory CASE FILE` measures one case
and prints JSON, so no case inherits another's heap.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import inputs
from bench.measure import Row, Sample, Target

SECTION = "2 Peak memory"
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000
SIZES = (512, 256, 128, 64)
BOMB_REPEAT = 50


def _status(field: str) -> float:
    """A /proc/self/status figure in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Lower VmHWM to the current RSS (Linux >= 4.0), so a peak belongs to what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _child(case: str, path: Path) -> dict[str, object]:
    from profilepics.errors import ImageTooLarge
    from profilepics.images import ImageLimits, clean_image
    from profilepics.variants import make_variants

    limits = ImageLimits(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, max_total_pixels=100_000_000)
    data = path.read_bytes()
    # Pillow loads its format plugins on first open: not part of the picture's own cost.
    clean_image(inputs.encode(inputs.photo(16, 16), "PNG"), limits)
    gc.collect()
    reset = _reset_peak()
    before = _status("VmHWM") if reset else _status("VmRSS")
    began = time.perf_counter()
    if case == "bomb":
        timings = []
        for _ in range(BOMB_REPEAT):
            began = time.perf_counter()
            try:
                clean_image(data, limits)
            except ImageTooLarge:
                timings.append((time.perf_counter() - began) * 1e3)
            else:
                raise RuntimeError("the bomb was accepted")
        seconds = timings
    else:
        cleaned = clean_image(data, limits)
        made = make_variants(cleaned.data, SIZES, limits=limits)
        if sorted(made) != sorted(SIZES):
            raise RuntimeError("missing variants")
        seconds = [time.perf_counter() - began]
    peak = _status("VmHWM")
    return {"peak_mb": peak, "extra_mb": peak - before, "reset": reset, "times": seconds}


def measure(case: str, data: bytes) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-m", "bench.memory", case, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def run() -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    accepted = {
        "50 MP PNG": inputs.worst_png(MAX_PIXELS, MAX_BYTES),
        "50 MP JPEG": inputs.worst_jpeg(MAX_PIXELS, MAX_BYTES),
    }
    for name, data in accepted.items():
        got = measure("accepted", data)
        peak, extra = float(got["peak_mb"]), float(got["extra_mb"])  # type: ignore[arg-type]
        took = float(got["times"][0])  # type: ignore[index]
        case = f"{name} ({len(data) / 1e6:.1f} MB)"
        note = f"+{extra:.0f} MB over the idle process; {took:.1f} s"
        rows.append(
            Row(SECTION, case, "clean_image + make_variants", Sample.of([peak], "MB"), note)
        )
        targets.append(Target(SECTION, f"{name}: peak ≤ 250 MB", f"{peak:.0f} MB", peak <= 250))
    bomb = inputs.png_bomb_header(30000, 30000)
    got = measure("bomb", bomb)
    extra = float(got["extra_mb"])  # type: ignore[arg-type]
    timing = Sample.of([float(t) for t in got["times"]], "ms")  # type: ignore[attr-defined]
    case = f"30000² PNG bomb ({len(bomb)} B)"
    rows.append(Row(SECTION, case, "clean_image refuses", timing, f"+{extra:.2f} MB peak"))
    targets.append(Target(SECTION, "bomb: < 5 MB extra", f"{extra:.2f} MB", extra < 5))
    targets.append(
        Target(SECTION, "bomb: refused in < 1 ms", f"{timing.median:.3f} ms", timing.median < 1)
    )
    return rows, targets


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], Path(sys.argv[2]))))
