"""Test pictures made in code: photos, marked images, animations, EXIF, bombs. No files."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageDraw

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
GREEN = (0, 255, 0)

# The transform that turns the upright picture into what a camera stores with each
# orientation tag: the inverse of what a viewer applies.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def photo(width: int, height: int) -> Image.Image:
    """A smooth RGB picture, quick to make at any size, that compresses like a photo."""
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    return Image.merge("RGB", (horizontal, vertical, radial))


def marked(width: int = 80, height: int = 40) -> Image.Image:
    """Blue, with a red square in the top-left corner: asymmetric under every flip and turn."""
    img = Image.new("RGB", (width, height), BLUE)
    ImageDraw.Draw(img).rectangle((0, 0, height // 2 - 1, height // 2 - 1), fill=RED)
    return img


def centred_target(width: int = 300, height: int = 100) -> Image.Image:
    """Blue left third, green right third, white middle with a red square at the very centre."""
    img = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width // 3 - 1, height), fill=BLUE)
    draw.rectangle((2 * width // 3, 0, width, height), fill=GREEN)
    cx, cy, r = width // 2, height // 2, height // 5
    draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=RED)
    return img


def exif_bytes(orientation: int | None = None, *, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.5)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 2.5)
    return exif.tobytes()


def oriented(upright: Image.Image, orientation: int, fmt: str = "JPEG", **options: Any) -> bytes:
    """upright as a camera would store it, tagged so that a viewer shows it upright."""
    method = STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    return encode(stored, fmt, exif=exif_bytes(orientation), **options)


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def animation(
    fmt: str,
    frames: int,
    size: tuple[int, int] = (16, 16),
    *,
    durations: Sequence[int] | None = None,
    **options: Any,
) -> bytes:
    """frames distinct flat-colour frames (identical ones would be merged by the encoder)."""
    images = [
        Image.new("RGB", size, ((index * 37) % 256, (index * 91) % 256, (255 - index * 13) % 256))
        for index in range(frames)
    ]
    return encode(
        images[0],
        fmt,
        save_all=True,
        append_images=images[1:],
        duration=list(durations) if durations else 50,
        loop=0,
        **options,
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming width x height, with a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit PNG of width x height zeros: tiny file, huge decode."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    raw = bytes((1 + (width + 7) // 8) * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def samples() -> dict[str, bytes]:
    """One small valid file per accepted format, static and animated, to mutate."""
    small = marked(24, 12)
    return {
        "jpeg": oriented(small, 6, quality=80),
        "png": encode(small.convert("RGBA"), "PNG"),
        "gif": animation("GIF", 3, (12, 8)),
        "webp": encode(small, "WEBP", quality=50),
        "webp_animated": animation("WEBP", 3, (12, 8)),
    }


def pixel(img: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = img.getpixel(xy)
    assert isinstance(value, tuple), f"{img.mode} pixels are not tuples"
    return value


def frame_count(img: Image.Image) -> int:
    return int(getattr(img, "n_frames", 1))
