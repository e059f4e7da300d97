"""Animated PNG written a frame at a time. No I/O.

Pillow's APNG writer keeps every frame (4 bytes a pixel) and walks them twice. This one keeps
the previous frame only: each frame's changed rectangle is encoded by Pillow as a PNG of its
own, whose IDAT data becomes the animation's fdAT. Every rectangle replaces what was there
(blend SOURCE, dispose NONE), so no frame depends on more than the one before it.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from PIL import Image, ImageChops

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(_SIGNATURE)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        yield png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length


def _delay(duration: int) -> tuple[int, int]:
    """A frame's delay as APNG's fraction of a second (16-bit numerator and denominator)."""
    duration = max(0, min(duration, 65_535_000))
    if duration <= 65_535:
        return duration, 1000
    return round(duration / 1000), 1


def write_apng(
    frames: Iterable[Image.Image],
    count: int,
    *,
    loop: int = 0,
    options: dict[str, Any] | None = None,
) -> bytes:
    """The frames (all of one mode and size) as an animated PNG that plays loop times (0: ever).

    options go to Pillow's PNG encoder for every rectangle (compress_level, icc_profile...).
    """
    out = io.BytesIO()
    sequence = 0
    previous: Image.Image | None = None
    for frame in frames:
        box = (0, 0, *frame.size)
        if previous is not None:
            # An unchanged frame still needs a rectangle: one pixel, rewritten as it was.
            box = ImageChops.difference(frame, previous).getbbox(alpha_only=False) or (0, 0, 1, 1)
        png = io.BytesIO()
        frame.crop(box).save(png, "PNG", **(options or {}))
        pixels = [body for kind, body in _chunks(png.getvalue()) if kind == b"IDAT"]
        if previous is None:
            out.write(_SIGNATURE)
            for kind, body in _chunks(png.getvalue()):
                if kind not in (b"IDAT", b"IEND"):
                    out.write(_chunk(kind, body))
                if kind == b"IHDR":
                    out.write(_chunk(b"acTL", struct.pack(">II", count, loop)))
        numerator, denominator = _delay(int(frame.info.get("duration", 0)))
        width, height = box[2] - box[0], box[3] - box[1]
        control = (sequence, width, height, box[0], box[1], numerator, denominator, 0, 0)
        out.write(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", *control)))
        sequence += 1
        for body in pixels:
            if previous is None:
                out.write(_chunk(b"IDAT", body))
            else:
                out.write(_chunk(b"fdAT", struct.pack(">I", sequence) + body))
                sequence += 1
        previous = frame
    out.write(_chunk(b"IEND", b""))
    return out.getvalue()
