"""Section 15: phone photos. A 12 MP photo as an iPhone's HEIC (x265 quality 50, 512 px grid
tiles, as iPhones write it), as AVIF and as JPEG q90: decoding it, and cleaning it as an upload
does (decode, then JPEG q90), side by side; the crop's and the placeholder's cost on top."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

from PIL import Image
from profilepics import heif, placeholder
from profilepics.crop import default as default_crop
from profilepics.formats import ImageFormat
from profilepics.images import ImageLimits, clean_image
from profilepics.variants import make_variants

from bench import inputs
from bench.measure import Row, Target, interleaved, process_cpu, ratio

SECTION = "15 Phone photos"
SIZE = (4032, 3024)  # an iPhone's 12 MP
# The bench's 12 MP photo defeats HEVC's prediction more than a real one: quality 50 gives the
# 1.8-2.5 MB an iPhone writes (spike 13); 75 would be over the 5 MiB limit.
HEIC_QUALITY = 50
LIMITS = ImageLimits(cpu_seconds=60)  # measured, not refused


def heic(img: Image.Image) -> bytes:
    import pillow_heif  # dev only: the layer decodes with pi-heif and never encodes HEIC

    made = pillow_heif.from_bytes("RGB", img.size, img.tobytes())
    buffer = io.BytesIO()
    made.save(buffer, quality=HEIC_QUALITY, tile_size=512)
    return buffer.getvalue()


def inputs_12mp() -> dict[str, bytes]:
    img = inputs.photo(*SIZE)
    return {
        "HEIC": heic(img),
        "AVIF": inputs.encode(img, "AVIF", quality=60, speed=8),
        "JPEG": inputs.encode(img, "JPEG", quality=90),
    }


def _decode(data: bytes, fmt: str, draft: bool = False) -> Callable[[], object]:
    def run() -> object:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            if draft:
                img.draft("RGB", (512, 512))
            img.load()
            return img.size

    return run


def run(repeat: int = 5) -> tuple[list[Row], list[Target]]:
    heif.prepare(ImageFormat.HEIC)
    heif.prepare(ImageFormat.AVIF)
    files = inputs_12mp()
    label = {name: f"{name} {len(data) / 1e6:.1f} MB" for name, data in files.items()}
    decodes: dict[str, Callable[[], object]] = {
        f"decode {label['HEIC']} (pi-heif, 1 thread)": _decode(files["HEIC"], "HEIF"),
        f"decode {label['AVIF']} (Pillow, 1 thread)": _decode(files["AVIF"], "AVIF"),
        f"decode {label['JPEG']}": _decode(files["JPEG"], "JPEG"),
        f"decode {label['JPEG']}, draft to 512": _decode(files["JPEG"], "JPEG", draft=True),
    }
    cleans: dict[str, Callable[[], object]] = {
        f"clean {label[name]} → JPEG q90": partial(clean_image, data, LIMITS)
        for name, data in files.items()
    }
    jpeg = clean_image(files["JPEG"], LIMITS).data
    crop = default_crop(*SIZE)
    variants: dict[str, Callable[[], object]] = {
        "4 variants of the cleaned JPEG, centred": lambda: make_variants(
            jpeg, (512, 256, 128, 64), limits=LIMITS
        ),
        "4 variants of the cleaned JPEG, of a crop": lambda: make_variants(
            jpeg, (512, 256, 128, 64), limits=LIMITS, crop=crop
        ),
    }
    smallest = make_variants(jpeg, (64,), limits=LIMITS)[64]
    variants["placeholder (ThumbHash) of the 64 px variant"] = lambda: placeholder.encode(smallest)

    rows: list[Row] = []
    targets: list[Target] = []
    for case, calls in (
        ("12 MP photo: decode", decodes),
        ("12 MP photo: upload clean", cleans),
        ("12 MP photo: variants", variants),
    ):
        samples = interleaved(calls, repeat)
        first = next(iter(samples.values()))
        jpeg_name = next(
            (n for n in samples if n.split()[:2] in (["decode", "JPEG"], ["clean", "JPEG"])), None
        )
        jpeg_name = None if jpeg_name is not None and "draft" in jpeg_name else jpeg_name
        for name, sample in samples.items():
            spent = process_cpu(calls[name], min(repeat, 3))
            note = f"CPU {spent.median:.0f} ms"
            if jpeg_name and name != jpeg_name and case != "12 MP photo: variants":
                note += f"; {ratio(sample, samples[jpeg_name]):.1f}× the JPEG's wall time"
            elif case == "12 MP photo: variants" and sample is not first:
                note += f"; {ratio(sample, first):.2f}× the centred set"
            rows.append(Row(SECTION, case, name, sample, note))
    heic_clean = next(n for n in cleans if n.startswith("clean HEIC"))
    cpu = process_cpu(cleans[heic_clean], 3).median
    targets.append(
        Target(
            SECTION,
            "12 MP HEIC cleaned within the 2 s CPU budget",
            f"{cpu:.0f} ms CPU",
            cpu < 2000,
        )
    )
    return rows, targets
