"""Square variants (thumbnails in WebP, AVIF, JPEG or PNG) of a cleaned original (of its crop,
or its centred square), or of a larger variant. No I/O.

Inputs are originals that went through images.clean_image: upright, no EXIF, within limits.
They are held to the limits again before decoding, all the same: settings change, and the
thumbnails function must cost no more than the upload did.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from PIL import Image

from profilepics import gif
from profilepics.crop import box, centre
from profilepics.errors import ImageCorrupt, ProblemError
from profilepics.formats import (
    ANIMATABLE,
    WEBP_METHOD,
    Encoding,
    ImageFormat,
    Variant,
    sniff,
)
from profilepics.frames import Budget
from profilepics.images import ImageLimits, check_frames, declared_frames
from profilepics.models import Crop

# Whatever is stored: cleaned originals (never HEIC: it is stored converted) and variants.
_FORMATS = tuple(f.pillow_name for f in ImageFormat if f is not ImageFormat.HEIC)
_ANIMATED_FORMATS = tuple(f.pillow_name for f in ANIMATABLE)
_LANCZOS = Image.Resampling.LANCZOS
# A box reduction down to 1.5x-3x the target, then LANCZOS: 51 dB PSNR against LANCZOS alone
# (the JPEG draft path is 49 dB), and 2.5x faster on a 2000px PNG (see docs/benchmarks.md).
_REDUCING_GAP = 1.5
WEBP = Encoding(ImageFormat.WEBP, 80, method=WEBP_METHOD)
# AVIF pictures this small are one AV1 tile: a second thread did nothing (spike 13), and on
# Lambda below 1,769 MB there is less than one core to give it.
_AVIF_THREADS = 1
# A variant carries its original's RGB profile, but not one past this: lookup tables make some
# large, and a 4 MB one went into each of eight variants (a 64 px avatar of 4 MB). Past it the
# pixels are converted to sRGB, what a picture without a profile is shown in (review7a).
_MAX_VARIANT_ICC = 64 * 1024
_NO_ALPHA = (ImageFormat.JPEG,)
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


def derive(
    data: bytes,
    wanted: Sequence[Variant],
    *,
    frames: int,
    encodings: Mapping[ImageFormat, Encoding],
    limits: ImageLimits,
    crop: Crop | None = None,
) -> dict[Variant, bytes]:
    """Every variant of wanted the source can have (an animated one only of an animation),
    the still ones from one decode, each of crop (None: the source's centred square). The
    source is a stored original or variant, so whatever Pillow raises on bytes it can't
    decode is damage in the bucket: ImageCorrupt."""
    still = [v for v in wanted if not v.animated]
    try:
        made = make_squares(
            data,
            sorted({v.size for v in still}),
            limits=limits,
            encodings=_of(still, encodings),
            crop=crop,
        )
        made = {v: made[v] for v in still}
        for v in wanted:
            if v.animated and frames > 1:
                blob = make_animated_variant(
                    data, v.size, limits=limits, encoding=encodings[v.format], crop=crop
                )
                if blob is not None:
                    made[v] = blob
    except (ProblemError, MemoryError):
        raise
    except Exception as exc:
        raise ImageCorrupt("The stored original could not be decoded") from exc
    return made


def _of(variants: Sequence[Variant], encodings: Mapping[ImageFormat, Encoding]) -> list[Encoding]:
    return [encodings[fmt] for fmt in dict.fromkeys(v.format for v in variants)]


def make_variants(
    data: bytes,
    sizes: Sequence[int],
    *,
    limits: ImageLimits,
    encoding: Encoding = WEBP,
    crop: Crop | None = None,
) -> dict[int, bytes]:
    """{size: encoded bytes} in one format, each exactly size x size."""
    made = make_squares(data, sizes, limits=limits, encodings=[encoding], crop=crop)
    return {variant.size: blob for variant, blob in made.items()}


def make_squares(
    data: bytes,
    sizes: Sequence[int],
    *,
    limits: ImageLimits,
    encodings: Sequence[Encoding],
    crop: Crop | None = None,
) -> dict[Variant, bytes]:
    """Each size in each encoding's format of crop (None: the centred square), exactly
    size x size (enlarged when the crop is smaller: a layout asks for a size and gets it),
    from one decode."""
    if not sizes or not encodings:
        return {}
    with _opened(data, limits, frames=1) as (img, _):
        square = crop or centre(*img.size)
        full = img.size
        largest = max(sizes)
        if img.format == "JPEG":
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding: most of the speed-up. Ask for
            # the picture at the scale where the crop is still at least `largest`.
            scale = largest / square.w
            img.draft("RGB", (math.ceil(full[0] * scale), math.ceil(full[1] * scale)))
        icc = _rgb_icc(img)
        previous = _square(_resizable(img), largest, square, img.size[0] / full[0])
    [previous], icc = _bounded_icc([previous], icc)
    made: dict[Variant, bytes] = {}
    for size in sorted(set(sizes), reverse=True):
        if previous.width != size:
            # Each size from the one above it: a short, cheap, still high-quality step.
            previous = previous.resize((size, size), _LANCZOS)
        for encoding in encodings:
            made[Variant(size, encoding.format)] = _encode([previous], encoding, icc=icc)
    return made


def make_animated_variant(
    data: bytes,
    size: int,
    *,
    limits: ImageLimits,
    encoding: Encoding = WEBP,
    crop: Crop | None = None,
) -> bytes | None:
    """An animated square of an animated original (its first max_frames), else None."""
    budget = Budget(limits.cpu_seconds)
    with _opened(data, limits, frames=limits.max_frames) as (img, count):
        if img.format not in _ANIMATED_FORMATS or count <= 1:
            return None
        square = crop or centre(*img.size)
        edge = min(size, square.w)
        icc = _rgb_icc(img)
        if img.format == "GIF":
            frames, durations = _gif_frames(data, count, edge, square, budget)
        else:
            frames, durations = _frames(img, count, edge, square, budget, _ANIMATION_FPS)
            if len(frames) == 1:  # a loop too short for the cap: keep every frame
                frames, durations = _frames(img, count, edge, square, budget, None)
        # A GIF without a loop count plays once; WebP's 0 would mean forever.
        loop = int(img.info.get("loop", 1))
    frames, icc = _bounded_icc(frames, icc)
    return _encode(frames, encoding, icc=icc, durations=durations, loop=loop)


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
    img: Image.Image, count: int, edge: int, square: Crop, budget: Budget, fps: int | None
) -> tuple[list[Image.Image], list[int]]:
    """The frames Pillow composites, squared, at most fps a second, and how long each shows."""
    pace = _Pace(fps)
    frames: list[Image.Image] = []
    for index in range(count):
        budget.check()
        img.seek(index)
        img.load()  # WebP sets a frame's duration as it decodes it
        if pace.shows(img.info.get("duration", 0)):
            frames.append(_square(_resizable(img), edge, square, resample=_ANIMATION_RESAMPLE))
    return frames, pace.durations


def _gif_frames(
    data: bytes, count: int, edge: int, square: Crop, budget: Budget
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
    frames = [_square(canvas, edge, square, resample=_ANIMATION_RESAMPLE) for canvas in canvases]
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


def _bounded_icc(
    frames: list[Image.Image], icc: bytes | None
) -> tuple[list[Image.Image], bytes | None]:
    """The frames and the profile to embed: a profile past _MAX_VARIANT_ICC is applied instead
    (to sRGB; RGB and RGBA frames), or dropped when littlecms cannot read it."""
    if icc is None or len(icc) <= _MAX_VARIANT_ICC:
        return frames, icc
    from PIL import ImageCms  # littlecms: only for the rare picture that needs it

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        return [
            ImageCms.profileToProfile(frame, source, srgb, outputMode=frame.mode) or frame
            if frame.mode in ("RGB", "RGBA")
            else frame
            for frame in frames
        ], None
    except (ImageCms.PyCMSError, OSError, ValueError):
        return frames, None


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


def _square(
    img: Image.Image,
    edge: int,
    crop: Crop,
    scale: float = 1.0,
    resample: Image.Resampling = _LANCZOS,
) -> Image.Image:
    """crop of img (img at scale of the picture the crop is in), resized to edge x edge in one
    pass."""
    width, height = img.size
    left, top, right, bottom = box(crop)
    scaled = (left * scale, top * scale, min(right * scale, width), min(bottom * scale, height))
    return img.resize((edge, edge), resample, box=scaled, reducing_gap=_REDUCING_GAP)


def _encode(
    frames: list[Image.Image],
    encoding: Encoding,
    *,
    icc: bytes | None,
    durations: list[int] | None = None,
    loop: int = 0,
) -> bytes:
    fmt = encoding.format
    if fmt in _NO_ALPHA:
        frames = [_flattened(frame) for frame in frames]
    for frame in frames:
        # Savers fall back on info for what they are not given (AVIF and PNG on its ICC
        # profile, PNG on a transparency): only what is passed explicitly goes in.
        frame.info.clear()
    # An empty profile, not a missing one: the AVIF saver would otherwise look in info.
    options: dict[str, Any] = {"icc_profile": icc or b""}
    if encoding.quality is not None:
        options["quality"] = encoding.quality
    if encoding.method is not None:
        options["method"] = encoding.method
    if encoding.speed is not None:
        options.update(speed=encoding.speed, max_threads=_AVIF_THREADS)
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
        if fmt is ImageFormat.WEBP:
            options.update(_WEBP_ANIMATION)
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt.pillow_name, **options)
    return buffer.getvalue()


def _flattened(img: Image.Image) -> Image.Image:
    """img on white, for a format without alpha (a transparent corner stays light)."""
    if img.mode not in ("RGBA", "LA"):
        return img
    base = Image.new(img.mode[:-1], img.size, "white")
    base.paste(img, mask=img.getchannel("A"))
    return base
