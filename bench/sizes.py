"""Section 13 (issue 12): sizes made on request, AVIF against WebP, and the read path.

- Encoding each variant size in each format from the same resized square (CPU ms, medians of
  alternating rounds; bytes; PSNR), to choose AVIF's encoder speed: WebP q80 m4 (before issue
  12) and m2, AVIF q60 at speeds 6, 8 and 10, AVIF q70 s8, JPEG q85, PNG; on a flat graphic
  and an RGBA cut-out, WebP m4 and m2 and AVIF q60 at speeds 8 and 10.
- A size made on request from the stored 512 variant, against making it from the 12 MP
  original (wall and CPU ms).
- The read path for a stored size: the get_url handler called in-process against a local
  stack (as section 3), with the baseline's core and handler and with this tree's, one after
  the other in one run.

`python -m bench.sizes` prints the first two parts; `make bench` runs all three.
"""

from __future__ import annotations

import io
import json
import math
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageStat
from profilepics.config import Settings
from profilepics.formats import Encoding, ImageFormat, Variant
from profilepics.images import ImageLimits
from profilepics.variants import _encode, derive, make_squares

from bench import inputs
from bench.measure import Row, Sample, Target
from bench.report import as_text
from tests.unit import imagegen

SECTION = "13 Sizes & formats"
ROOT = Path(__file__).resolve().parent.parent
SIZES = (512, 256, 128, 64)
WEBP = Encoding(ImageFormat.WEBP, 80, method=4)
ENCODERS = {
    "WebP q80 m4 (before)": WEBP,
    "WebP q80 m2": Encoding(ImageFormat.WEBP, 80, method=2),
    "AVIF q60 s6": Encoding(ImageFormat.AVIF, 60, speed=6),
    "AVIF q60 s8 (chosen)": Encoding(ImageFormat.AVIF, 60, speed=8),
    "AVIF q60 s10": Encoding(ImageFormat.AVIF, 60, speed=10),
    "AVIF q70 s8": Encoding(ImageFormat.AVIF, 70, speed=8),
    "JPEG q85": Encoding(ImageFormat.JPEG, 85),
    "PNG": Encoding(ImageFormat.PNG),
}
CHOSEN = "AVIF q60 s8 (chosen)"
# Flat graphics and cut-outs are where speed 10 gives up the most bytes against 8: on them,
# only the speeds are compared.
SPEEDS = ("WebP q80 m4 (before)", "WebP q80 m2", CHOSEN, "AVIF q60 s10")
LIMITS = ImageLimits()


def _cpu_rounds(calls: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, Sample]:
    """CPU ms of each call, in alternating rounds after one untimed call each: the encoders
    run on one thread, so CPU time is their work, which a busy machine barely changes."""
    values: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(repeat):
        for name, call in calls.items():
            began = time.process_time()
            call()
            values[name].append((time.process_time() - began) * 1e3)
    return {name: Sample.of(found, "ms") for name, found in values.items()}


def _encode_copy(square: Image.Image, encoding: Encoding) -> bytes:
    return _encode([square.copy()], encoding, icc=None)


def _on_white(img: Image.Image) -> Image.Image:
    """img as a page shows it on white (alpha's errors count where they show)."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    base = Image.new("RGB", img.size, "white")
    base.paste(img, mask=img.getchannel("A"))
    return base


def psnr(reference: Image.Image, data: bytes) -> float:
    """PSNR (dB, RGB, on white) of an encoded variant against the square it was encoded from."""
    mode = "RGBA" if reference.mode == "RGBA" else "RGB"
    decoded = _on_white(Image.open(io.BytesIO(data)).convert(mode))
    rms = ImageStat.Stat(ImageChops.difference(_on_white(reference), decoded)).rms
    mse = sum(r * r for r in rms) / len(rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _squares(source: Image.Image) -> dict[int, Image.Image]:
    """The project's cascade: the centre square at 512, then each size from the one above."""
    side = min(source.size)
    left, top = (source.width - side) // 2, (source.height - side) // 2
    box = (left, top, left + side, top + side)
    made = {512: source.resize((512, 512), Image.Resampling.LANCZOS, box=box, reducing_gap=1.5)}
    for size in SIZES[1:]:
        made[size] = made[size * 2].resize((size, size), Image.Resampling.LANCZOS)
    return made


def sources() -> dict[str, Image.Image]:
    return {
        "grainy photo (bench)": inputs.photo(4000, 3000).convert("RGB"),
        "smooth gradient (tests)": imagegen.photo(2000, 1500).convert("RGB"),
    }


def speed_sources() -> dict[str, Image.Image]:
    """Pictures only the encoder speeds are compared on."""
    return {
        "flat graphic (bench)": inputs.flat_graphic(1600, 1200),
        "RGBA cut-out (bench)": inputs.cut_out(1600, 1200),
    }


def encoding(repeat: int) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    totals: dict[str, float] = dict.fromkeys(ENCODERS, 0.0)
    shares: list[float] = []
    pictures = [(label, source, list(ENCODERS)) for label, source in sources().items()]
    pictures += [(label, source, list(SPEEDS)) for label, source in speed_sources().items()]
    for label, source, encoders in pictures:
        for size, square in _squares(source).items():
            calls: dict[str, Callable[[], bytes]] = {
                name: partial(_encode_copy, square, ENCODERS[name]) for name in encoders
            }
            encoded = {name: call() for name, call in calls.items()}
            lengths = {name: len(data) for name, data in encoded.items()}
            samples = _cpu_rounds(calls, repeat)
            base_bytes, base_cpu = lengths["WebP q80 m4 (before)"], samples["WebP q80 m4 (before)"]
            for name, sample in samples.items():
                if len(encoders) == len(ENCODERS):
                    totals[name] += sample.median
                quality = psnr(square, encoded[name])
                note = (
                    f"{lengths[name]:,} B = {lengths[name] / base_bytes:.0%} of WebP's; "
                    f"{sample.median / base_cpu.median:.1f}× its CPU; "
                    + ("lossless" if math.isinf(quality) else f"PSNR {quality:.1f} dB")
                )
                rows.append(Row(SECTION, f"encode {size}², {label}", name, sample, note))
            if size >= 128 and label.startswith("grainy"):
                shares.append(lengths[CHOSEN] / base_bytes)
    for name, total in totals.items():
        rows.append(
            Row(SECTION, "encode all four sizes, both pictures", name, Sample.of([total], "ms"))
        )
    ratio = totals[CHOSEN] / totals["WebP q80 m4 (before)"]
    targets = [
        Target(
            SECTION,
            "photo, AVIF q60 s8 at 128-512: ≤ 75% of WebP's bytes",
            f"{min(shares):.0%}–{max(shares):.0%}" if shares else "no photo",
            max(shares) <= 0.75 if shares else None,
        ),
        Target(SECTION, "AVIF q60 s8 encode: ≤ 5× WebP's CPU", f"{ratio:.1f}×", ratio <= 5),
    ]
    return rows, targets


def on_demand(repeat: int) -> tuple[list[Row], list[Target]]:
    """A size made on request, from the stored 512 variant and from the original."""
    encodings = Settings().encodings
    original = inputs.jpeg(4000, 3000)
    stored_512 = make_squares(original, [512], limits=LIMITS, encodings=[WEBP])[
        Variant(512, ImageFormat.WEBP)
    ]
    rows: list[Row] = []
    medians: dict[str, float] = {}
    for fmt in (ImageFormat.WEBP, ImageFormat.AVIF):
        for size in (100, 300):
            wanted = [Variant(size, fmt)]
            make = partial(derive, wanted=wanted, frames=1, encodings=encodings, limits=LIMITS)
            calls: dict[str, Callable[[], object]] = {
                "from the stored 512 WebP": partial(make, stored_512),
                "from the 12 MP original (3.4 MB JPEG)": partial(make, original),
            }
            wall = _wall_rounds(calls, repeat)
            cpu = _cpu_rounds(calls, repeat)
            for name in calls:
                note = f"CPU {cpu[name].median:.1f} ms"
                case = f"{size}² {fmt.value} made on request"
                rows.append(Row(SECTION, case, name, wall[name], note))
                medians[f"{size} {fmt.value} {name}"] = cpu[name].median
    shares = [
        medians[f"{key} from the stored 512 WebP"]
        / medians[f"{key} from the 12 MP original (3.4 MB JPEG)"]
        for key in {k.split(" from ")[0] for k in medians}
    ]
    targets = [
        Target(
            SECTION,
            "a size from the stored 512 costs less CPU than from the original",
            f"{min(shares):.0%}–{max(shares):.0%} of it",
            max(shares) < 1,
        )
    ]
    return rows, targets


def _wall_rounds(calls: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, Sample]:
    from bench.measure import interleaved

    return interleaved(calls, repeat)


# --- the read path, before and after -----------------------------------------------------------

READ_ROUTE = "/users/{user_id}/picture"
ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


@contextmanager
def _tree_at(ref: str) -> Iterator[Path]:
    """The core, the functions and the template as they are at a git ref."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "layers/core", "functions", "template.yaml"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def _handler_ms(config: dict[str, Any], tree: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "layers" / "core")
        config = {
            **config,
            "env": {**config["env"], "PROFILEPICS_TEMPLATE": str(tree / "template.yaml")},
        }
    done = subprocess.run(
        [sys.executable, "-m", "bench.inprocess"],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
        cwd=ROOT,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def read_path(
    config: dict[str, Any], users: tuple[str, str], baseline: str, rounds: int = 5
) -> tuple[list[Row], list[Target]]:
    """GET of a stored size: the baseline's core and handler against this tree's, in
    alternating rounds of 200 warm calls each; users = (one whose item a baseline wrote,
    one this tree wrote)."""
    legacy, current = users
    cases = {
        f"{baseline} (its own item)": (legacy, "size=128", [], True),
        "this tree, item written before issue 12": (legacy, "size=128", [], False),
        "this tree": (current, "size=128", [], False),
        "this tree, redirect negotiated by Accept": (
            current,
            "size=128&redirect=1",
            [("Accept", ACCEPT)],
            False,
        ),
    }
    found: dict[str, list[float]] = {name: [] for name in cases}
    wall: dict[str, list[float]] = {name: [] for name in cases}
    with _tree_at(baseline) as tree:
        for _ in range(rounds):
            for name, (user, query, headers, old) in cases.items():
                request = {
                    **config,
                    "function": "GetUrlFunction",
                    "route": READ_ROUTE,
                    "user": user,
                    "query": query,
                    "headers": headers,
                }
                got = _handler_ms(request, tree if old else None)
                found[name].append(statistics.median(got["cpu_ms"]))
                wall[name].append(statistics.median(got["warm_ms"]))
    rows = []
    medians = {name: statistics.median(values) for name, values in found.items()}
    base = medians[f"{baseline} (its own item)"]
    for name, values in found.items():
        note = (
            f"{1e3 / medians[name]:,.0f} calls/s of CPU; {medians[name] / base:.2f}× "
            f"{baseline}'s; wall {statistics.median(wall[name]):.2f} ms with the table read"
        )
        case = "GET a stored size (128), in-process: CPU per call"
        rows.append(Row(SECTION, case, name, Sample.of(values, "ms"), note))
    drop = medians["this tree"] / base
    targets = [
        Target(
            SECTION,
            f"stored-size read: ≤ 1.10× {baseline}'s CPU per call",
            f"{drop:.2f}×",
            drop <= 1.10,
        )
    ]
    return rows, targets


def run(repeat: int = 7) -> tuple[list[Row], list[Target]]:
    rows, targets = encoding(repeat)
    more_rows, more_targets = on_demand(repeat)
    return rows + more_rows, targets + more_targets


def main() -> int:
    rows, targets = run()
    print(as_text(rows, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
