"""Uploaded picture bytes: sniff the format, enforce limits, decode fully, normalise. No I/O."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import ExifTags, Image

from profilepics import containers, gif, heif, jpegscan, strip
from profilepics.errors import (
    EmptyFile,
    FileTooLarge,
    ImageCorrupt,
    ImageTooComplex,
    ImageTooLarge,
    ImageTooSmall,
    ProblemError,
    UnsupportedMediaType,
)
from profilepics.formats import ImageFormat, sniff
from profilepics.frames import Budget
from profilepics.reencode import Opened, reencode


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_frames: int = 100
    max_total_pixels: int = 50_000_000
    max_animation_frame_pixels: int = 10_000_000
    min_width: int = 0
    min_height: int = 0
    allowed_formats: frozenset[ImageFormat] = frozenset(ImageFormat)
    cpu_seconds: float = 2.0
    # Chunks, marker segments or GIF blocks: parsers walk each in a loop, so 5 MB of empty ones
    # cost 1.8-2.9 s; a photo has tens, a 5 MB PNG of libpng's 8 KiB IDATs 640.
    max_blocks: int = 10_000


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int
    frames: int
    reencoded: bool = False  # from its pixels; else its container, metadata stripped

    @property
    def content_type(self) -> str:
        return self.format.content_type

    @property
    def extension(self) -> str:
        return self.format.extension


# Each orientation's inverse, as ImageOps.exif_transpose applies it; kept here so every
# frame of an animation gets the same transform and a malformed EXIF block cannot fail it.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TURNS = (
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
)
# What a pixel costs to decode and re-encode against a JPEG's (docs/DESIGN.md, facts measured):
# libwebp decodes through two canvases of its own beside Pillow's, 17 bytes a pixel to a JPEG's
# 4, and an animated WebP's encoder keeps four more. PNG: see _weight.
_WEBP_WEIGHT = 2.5
# A PNG turned upright is decoded by Pillow beside the truncation inflate, transposed and
# deflated again (~0.7, 0.6 and 0.9 s at 49 MP, against the inflate alone for an upright one):
# a 182 KB 7000x7000 PNG with orientation 6 cost 2.65 s and 399 MB. 20 MP of it cost ~1 s.
_TURNED_PNG_WEIGHT = 2.5


def clean_image(data: bytes, limits: ImageLimits) -> CleanImage:
    """Validate an upload, decoding it in full, and store it without metadata: its container
    stripped when it is upright, else re-encoded upright in its own format (HEIC and AVIF:
    always re-encoded, as JPEG, or PNG with alpha)."""
    fmt = _check_bytes(data, limits)
    budget = Budget(limits.cpu_seconds)
    if fmt is ImageFormat.GIF:
        return _clean_gif(data, limits, budget)
    if fmt.converted:
        return _clean_converted(data, fmt, limits, budget)
    layout = jpegscan.layout_of(data, limits.max_blocks) if fmt is ImageFormat.JPEG else None
    if layout is not None:
        _check_blocks(layout.segments, limits)
    else:
        webp = fmt is ImageFormat.WEBP
        _check_blocks(containers.chunk_count(data, webp, limits.max_blocks), limits)
    source = jpegscan.for_decoding(data, layout) if layout else data
    with _image_problems(), Image.open(io.BytesIO(source), formats=[fmt.pillow_name]) as img:
        count = check_declared(img, fmt, data, limits)
        png = containers.PngCheck(exact=True)
        if layout is not None:
            jpegscan.check_coding(layout)
            jpegscan.check_scans(layout)
            jpegscan.check_complete(layout)
            jpegscan.check_floor(layout)
        elif fmt is ImageFormat.PNG:
            png = containers.check_png(data)
        elif fmt is ImageFormat.WEBP:
            containers.check_webp(data)
        decoding = fmt is not ImageFormat.PNG or png.late_metadata
        upright = _UPRIGHT.get(_orientation(img, decoding=decoding))
        if upright is not None and fmt is ImageFormat.PNG:
            weight = _weight(fmt, data) * _TURNED_PNG_WEIGHT
            _check_pixels(img.size, count, limits, weight, "for a PNG turned upright")
        width, height = img.size[::-1] if upright in _TURNS else img.size
        _check_minimum((width, height), limits)
        opened = Opened(img, count, upright, budget)
        keep = upright is None and png.exact
        stripped = _stripped(opened, fmt, data, layout, png.inflated) if keep else None
        if stripped is not None:
            return CleanImage(stripped, fmt, width, height, count)
        encoded = reencode(opened, fmt.pillow_name, data)
    return CleanImage(encoded, fmt, width, height, count, reencoded=True)


def _stripped(
    opened: Opened,
    fmt: ImageFormat,
    data: bytes,
    layout: jpegscan.Layout | None,
    inflated: bool = False,
) -> bytes | None:
    """The upload without its metadata, once every frame has decoded (a PNG still that
    check_png inflated in full is not decoded again: PngCheck); None if its container is not
    one the stripper takes apart with confidence (it is re-encoded then)."""
    found = opened.img.info.get("icc_profile")
    icc = found if isinstance(found, bytes) else None
    if layout is not None:
        stripped = strip.jpeg(data, icc, dict(layout.scans))
    else:
        stripped = strip.png(data, icc) if fmt is ImageFormat.PNG else strip.webp(data, icc)
    if stripped is None or inflated:
        return stripped
    img = opened.img
    if fmt is ImageFormat.JPEG:
        # libjpeg still decodes every coefficient of every scan at 1/8 scale, so the check is
        # as strict as a full decode at ~40% of its cost; the pixels are not kept.
        img.draft(img.mode, (1, 1))
    for index in range(opened.count):
        opened.budget.check()
        img.seek(index)
        img.load()
    return stripped


def _clean_converted(
    data: bytes, fmt: ImageFormat, limits: ImageLimits, budget: Budget
) -> CleanImage:
    """A HEIC or AVIF still (the primary image, or a sequence's first) stored as JPEG or PNG.

    HEIC: libheif applies the container's rotation and mirroring while decoding and reports
    EXIF orientation 1, so nothing here rotates it again. AVIF: Pillow reports them as the EXIF
    orientation, which is applied as for any other format. Never seek: frame 0 of a HEIF may
    not be its primary image, and every seek decodes.
    """
    heif.prepare(fmt)
    with _image_problems(), Image.open(io.BytesIO(data), formats=[fmt.pillow_name]) as img:
        check_frames(img.size, 1, fmt, data, limits)
        heif.check_sources(fmt, data, limits.max_pixels, limits.max_blocks)
        heif.check_floor(fmt, img.size, len(data))
        upright = _UPRIGHT.get(_orientation(img))
        width, height = img.size[::-1] if upright in _TURNS else img.size
        _check_minimum((width, height), limits)
        opened = Opened(img, 1, upright, budget)
        stored = ImageFormat.PNG if opened.has_alpha else ImageFormat.JPEG
        mode = "RGBA" if opened.has_alpha else "RGB"
        encoded = reencode(opened, stored.pillow_name, data, mode=mode)
    return CleanImage(encoded, stored, width, height, 1, reencoded=True)


def _clean_gif(data: bytes, limits: ImageLimits, budget: Budget) -> CleanImage:
    """A GIF is read as blocks and written again frame by frame (gif.py), never composited."""
    parsed = gif.parse(data, limits.max_frames + 1, limits.max_blocks)
    _check_blocks(parsed.blocks, limits)
    canvas, count = parsed.canvas, len(parsed.frames)
    check_frames(canvas, 1, ImageFormat.GIF, data, limits)
    check_frames(canvas, count, ImageFormat.GIF, data, limits)
    gif.check_floor(parsed)
    _check_minimum(canvas, limits)
    with _image_problems():
        encoded = gif.write(parsed, budget.check)
    return CleanImage(encoded, ImageFormat.GIF, *canvas, count)


def _check_minimum(size: tuple[int, int], limits: ImageLimits) -> None:
    if size[0] < limits.min_width or size[1] < limits.min_height:
        raise ImageTooSmall(
            f"The image is {size[0]}x{size[1]}; the minimum is "
            f"{limits.min_width}x{limits.min_height}."
        )


def _check_bytes(data: bytes, limits: ImageLimits) -> ImageFormat:
    """The format, from the bytes alone: size, magic and block structure, before any parsing."""
    if not data:
        raise EmptyFile("The uploaded file has no content.")
    if len(data) > limits.max_bytes:
        raise FileTooLarge(f"The file is {len(data)} bytes; the limit is {limits.max_bytes} bytes.")
    fmt = sniff(data)
    if fmt is None or fmt not in limits.allowed_formats:
        allowed = ", ".join(sorted(f.pillow_name for f in limits.allowed_formats))
        raise UnsupportedMediaType(f"The file is not an accepted image format ({allowed}).")
    if fmt is ImageFormat.GIF:
        first = gif.parse(data, 1, limits.max_blocks)
        _check_blocks(first.blocks, limits)
        if not first.frames:
            # Pillow skips bytes it does not know looking for an image, so what follows a GIF
            # header with no image block of its own is another format (a polyglot), not a GIF.
            raise UnsupportedMediaType("The file has a GIF header but no GIF image.")
    return fmt


def _check_blocks(count: int, limits: ImageLimits) -> None:
    if count > limits.max_blocks:
        raise ImageTooComplex(
            f"The file has more than {limits.max_blocks} chunks, marker segments or blocks; "
            "no encoder writes that many."
        )


@contextmanager
def _image_problems() -> Iterator[None]:
    """Turn everything Pillow raises on hostile input into our typed errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (ProblemError, MemoryError):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge("The image has more pixels than allowed.") from exc
        # Pillow's parsers raise a wide, undocumented range of exceptions on malformed data
        # (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, TypeError...).
        except Exception as exc:
            raise ImageCorrupt("The image could not be decoded; it may be truncated.") from exc


def _weight(fmt: ImageFormat, data: bytes) -> float:
    """What a pixel of this file counts for against the pixel limits."""
    if fmt is ImageFormat.WEBP:
        return _WEBP_WEIGHT
    if fmt.converted:
        return heif.WEIGHT[fmt]
    if fmt is ImageFormat.PNG:
        # Inflating and unfiltering cost what the rows hold: 16-bit RGBA weighs double.
        return max(1.0, containers.png_bytes_per_pixel(data) / 4)
    return 1.0


def _check_pixels(
    size: tuple[int, int],
    frames: int,
    limits: ImageLimits,
    weight: float,
    why: str = "for this format",
) -> None:
    pixels = size[0] * size[1]
    described = f"{size[0]}x{size[1]} ({pixels:,} pixels)"
    counted = "" if weight == 1 else f", each counting {weight:g} {why}"
    if pixels * weight > limits.max_pixels:
        raise ImageTooLarge(
            f"The image is {described}; the limit is {limits.max_pixels:,} pixels{counted}."
        )
    if frames > limits.max_frames:
        raise ImageTooLarge(f"The animation has over {limits.max_frames} frames, the limit.")
    if frames > 1 and pixels * weight > limits.max_animation_frame_pixels:
        raise ImageTooLarge(
            f"The animation's frames are {described}; the limit is "
            f"{limits.max_animation_frame_pixels:,} pixels a frame{counted}."
        )
    if frames * pixels * weight > limits.max_total_pixels:
        raise ImageTooLarge(
            f"The animation has {frames} frames of {pixels:,} pixels; the limit is "
            f"{limits.max_total_pixels:,} pixels in all{counted}."
        )


def check_declared(img: Image.Image, fmt: ImageFormat, data: bytes, limits: ImageLimits) -> int:
    """The frames the header declares, checked with its sizes against the limits before
    anything is decoded."""
    check_frames(img.size, 1, fmt, data, limits)
    count = declared_frames(img, fmt, data, limits.max_frames + 1)
    check_frames(img.size, count, fmt, data, limits)
    return count


def declared_frames(img: Image.Image, fmt: ImageFormat, data: bytes, cap: int) -> int:
    """How many frames the header declares, counting no further than cap for a GIF."""
    if fmt is ImageFormat.JPEG or fmt.converted:
        # An MPO's or a HEIF's extra images (stereo pair, depth map, burst) are not the picture.
        return 1
    if fmt is ImageFormat.GIF:
        # n_frames walks every frame in Python; a 5 MiB GIF can hold 350,000 tiny ones.
        return len(gif.parse(data, cap).frames)
    return int(getattr(img, "n_frames", 1))


def check_frames(
    size: tuple[int, int], frames: int, fmt: ImageFormat, data: bytes, limits: ImageLimits
) -> None:
    """ImageTooLarge unless frames frames of size, in this file's format, fit the limits."""
    _check_pixels(size, frames, limits, _weight(fmt, data))


def _orientation(img: Image.Image, *, decoding: bool = True) -> int:
    """The EXIF (or XMP) orientation. A PNG's getexif() decodes the whole picture first, for
    an eXIf chunk behind the pixels; decoding=False reads only what the header had (the
    caller knows no such chunk follows)."""
    try:
        exif = img.getexif() if decoding else Image.Image.getexif(img)
        return int(exif.get(ExifTags.Base.Orientation, 1))
    except Exception:
        return 1  # an unreadable EXIF block is dropped anyway; the pixels are fine
