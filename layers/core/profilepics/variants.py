"""Square, centre-cropped variants (thumbnails, WebP by default) of a cleaned original. No I/O.

Inputs are originals that went through images.clean_image: upright, no EXIF, within limits.
They are held to the limits again before decoding, all the same: settings change, and the
thumbnails function must cost no more than the upload did.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from PIL import Image

from profilepics import gif
from profilepics.errors import ImageCorrupt
from profilepics.formats import ANIMATABLE, THUMBNAIL_FORMAT, ImageFormat, sniff
from profilepics.frames import Budget
from profilepics.images import ImageLimits, check_frames, declared_frames

_FORMATS = tuple(f.pillow_name for f in ImageFormat)
_ANIMATED_FORMATS = tuple(f.pillow_name for f in ANIMATABLE)
_LANCZOS = Image.Resampling.LANCZOS
# A box reduction down to 1.5x-3x the target, then LANCZOS: 51 dB PSNR against LANCZOS alone
# (the JPEG draft path is 49 dB), and 2.5x faster on a 2000px PNG (see docs/benchmarks.md).
_REDUCING_GAP = 1.5
# libwebp's default: 0-2 skip rate-distortion tuning; 6 was ~3x slower for ~1% fewer bytes.
_WEBP_METHOD = 4
# An animated variant pays the decoder, a resize and the encoder once a frame (measured on a
# 50-frame 420px GIF, docs/benchmarks.md): bilinear resizing is 2.4x faster than LANCZOS and,
# softer, saves 16% of the bytes for 0.4 dB; libwebp's method 0 encodes 1.3x faster than 2;
# and no more than 10 frames a second are kept (a dropped frame's time goes to the one before
# it), which leaves a 25 fps clip 2/5 of its resizing and encoding (12 fps kept 40% of the
# time with no margin: the decoding of the frames stays). Only the first frame is a key frame
# (see reencode.py).
_WEBP_ANIMATION: dict[str, Any] = {"kmax": 0, "method": 0}
_ANIMATION_RESAMPLE = Image.Resampling.BILINEAR
_ANIMATION_FPS = 10
# Browsers show a GIF frame of 10 ms or less for 100 ms; so does the variant.
_SHORTEST_SHOWN_MS, _SHOWN_INSTEAD_MS = 10, 100


def make_variants(
    data: bytes,
    sizes: Sequence[int],
    *,
    limits: ImageLimits,
    quality: int = 80,
    fmt: ImageFormat = THUMBNAIL_FORMAT,
) -> dict[int, bytes]:
    """{size: encoded bytes}, each square and never larger than the original's shorter side."""
    if not sizes:
        return {}
    with _opened(data, limits, frames=1) as (img, _):
        side = min(img.size)
        largest = min(max(sizes), side)
        if img.format == "JPEG":
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding: most of the speed-up.
            img.draft("RGB", (largest, largest))
        icc = _rgb_icc(img)
        previous = _square(_resizable(img), largest)
    variants: dict[int, bytes] = {}
    encoded: dict[int, bytes] = {}
    for size in sorted(set(sizes), reverse=True):
        edge = min(size, side)
        if edge not in encoded:
            if previous.width != edge:
                # Each size from the one above it: a short, cheap, still high-quality step.
                previous = previous.resize((edge, edge), _LANCZOS)
            encoded[edge] = _encode([previous], fmt, quality=quality, icc=icc)
        variants[size] = encoded[edge]
    return variants


def make_animated_variant(
    data: bytes,
    size: int,
    *,
    limits: ImageLimits,
    quality: int = 80,
    fmt: ImageFormat = THUMBNAIL_FORMAT,
) -> bytes | None:
    """An animated square of an animated original (its first max_frames), else None."""
    budget = Budget(limits.cpu_seconds)
    with _opened(data, limits, frames=limits.max_frames) as (img, count):
        if img.format not in _ANIMATED_FORMATS or count <= 1:
            return None
        edge = min(size, *img.size)
        icc = _rgb_icc(img)
        if img.format == "GIF":
            frames, durations = _gif_frames(data, count, edge, budget)
        else:
            frames, durations = _frames(img, count, edge, budget, _ANIMATION_FPS)
            if len(frames) == 1:  # a loop too short for the cap: keep every frame
                frames, durations = _frames(img, count, edge, budget, None)
        # A GIF without a loop count plays once; WebP's 0 would mean forever.
        loop = int(img.info.get("loop", 1))
    return _encode(frames, fmt, quality=quality, icc=icc, durations=durations, loop=loop)


class _Pace:
    """Which frames show when no more than fps of them a second do: a frame starting in the
    same 1/fps slot as the last one shown is dropped, its time given to that one."""

    def __init__(self, fps: int | None) -> None:
        self._fps = fps
        self._elapsed = 0
        self._slot = -1
        self.durations: list[int] = []

    def shows(self, duration: float) -> bool:
        shown = round(duration)
        if shown <= _SHORTEST_SHOWN_MS:
            shown = _SHOWN_INSTEAD_MS
        slot = self._elapsed * self._fps // 1000 if self._fps else len(self.durations)
        self._elapsed += shown
        if slot == self._slot:
            self.durations[-1] += shown
            return False
        self._slot = slot
        self.durations.append(shown)
        return True


def _frames(
    img: Image.Image, count: int, edge: int, budget: Budget, fps: int | None
) -> tuple[list[Image.Image], list[int]]:
    """The frames Pillow composites, squared, at most fps a second, and how long each shows."""
    pace = _Pace(fps)
    frames: list[Image.Image] = []
    for index in range(count):
        budget.check()
        img.seek(index)
        img.load()  # WebP sets a frame's duration as it decodes it
        if pace.shows(img.info.get("duration", 0)):
            frames.append(_square(_resizable(img), edge, _ANIMATION_RESAMPLE))
    return frames, pace.durations


def _gif_frames(
    data: bytes, count: int, edge: int, budget: Budget
) -> tuple[list[Image.Image], list[int]]:
    """A GIF's frames as browsers show them (gif.py), squared, at most _ANIMATION_FPS a second:
    the durations are known from the blocks, so frames no one sees are never decoded."""
    parsed = gif.parse(data, count)
    pace = _Pace(_ANIMATION_FPS)
    wanted = [pace.shows(frame.delay * 10) for frame in parsed.frames]
    if sum(wanted) == 1:  # a loop too short for the cap: keep every frame
        pace = _Pace(None)
        wanted = [pace.shows(frame.delay * 10) for frame in parsed.frames]
    canvases = gif.shown(parsed, wanted, budget.check)
    frames = [_square(canvas, edge, _ANIMATION_RESAMPLE) for canvas in canvases]
    return frames, pace.durations


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=_FORMATS)


@contextmanager
def _opened(data: bytes, limits: ImageLimits, frames: int) -> Iterator[tuple[Image.Image, int]]:
    """The original, open but not decoded, and how many of its frames (up to frames) to use,
    once those are within limits."""
    fmt = sniff(data)
    if fmt is None:
        raise ImageCorrupt("The original is not in an image format")
    with _open(data) as img:
        count = min(declared_frames(img, fmt, data, frames), frames)
        check_frames(img.size, count, fmt, data, limits)
        yield img, count


def _rgb_icc(img: Image.Image) -> bytes | None:
    """The ICC profile if it describes RGB, the only colour space the variants are in."""
    icc = img.info.get("icc_profile")
    return icc if isinstance(icc, bytes) and icc[16:20] == b"RGB " else None


def _resizable(img: Image.Image) -> Image.Image:
    """The current frame, decoded, in a mode that LANCZOS and WebP both handle faithfully."""
    img.load()
    if img.mode in ("RGB", "RGBA", "L", "LA"):
        return img
    if img.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits, since convert("L") would clip everything to white.
        return img.point(lambda value: value / 256).convert("L")
    # P (palette resizes by nearest neighbour), 1, CMYK, PA...
    return img.convert("RGBA" if img.has_transparency_data else "RGB")


def _square(img: Image.Image, edge: int, resample: Image.Resampling = _LANCZOS) -> Image.Image:
    """The centred square of img, resized to edge x edge in one pass."""
    width, height = img.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    box = (left, top, left + side, top + side)
    return img.resize((edge, edge), resample, box=box, reducing_gap=_REDUCING_GAP)


def _encode(
    frames: list[Image.Image],
    fmt: ImageFormat,
    *,
    quality: int,
    icc: bytes | None,
    durations: list[int] | None = None,
    loop: int = 0,
) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if fmt is ImageFormat.WEBP:
        options["method"] = _WEBP_METHOD
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
        if fmt is ImageFormat.WEBP:
            options.update(_WEBP_ANIMATION)
    frames[0].save(buffer, fmt.pillow_name, quality=quality, **options)
    return buffer.getvalue()
