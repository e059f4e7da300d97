"""HEIC and AVIF (ISO-BMFF stills): their decoders' setup, cost weights and byte floors.

Both are converted on upload (formats.ImageFormat.converted), so only the upload and ingest
paths ever decode them, and pi-heif (31 ms of CPU to import) is loaded there only.
"""

from __future__ import annotations

from profilepics import heifgrid
from profilepics.errors import ImageTooLarge, ImageTruncated
from profilepics.formats import ImageFormat

# What a pixel costs to decode against a JPEG's (~4 bytes a pixel at its peak): libheif peaks
# near 8 bytes a pixel, libavif near 9.5 (12 MP, docs/DESIGN.md's facts measured).
WEIGHT = {ImageFormat.HEIC: 2.0, ImageFormat.AVIF: 2.5}
# The most pixels a byte of the coded stream can describe, measured on flat colour (nothing
# codes smaller) at 1-49 MP, doubled: HEVC ~4,000 pixels a byte, AV1 ~37,000. libavif scales
# a small coded picture up to the size the container declares, so the floor is what stops a
# few hundred bytes from claiming the 50 MP cap's worth of decoding work.
_PIXELS_PER_BYTE = {ImageFormat.HEIC: 8_000, ImageFormat.AVIF: 75_000}

_prepared: set[ImageFormat] = set()


def prepare(fmt: ImageFormat) -> None:
    """Register the decoder for fmt, once: a single thread, so the CPU budget (thread time)
    counts all of the decode, and no embedded thumbnail ever stands in for the picture."""
    if fmt in _prepared:
        return
    if fmt is ImageFormat.HEIC:
        import pi_heif

        pi_heif.register_heif_opener(
            thumbnails=False, depth_images=False, aux_images=False, decode_threads=1
        )
    else:
        from PIL import AvifImagePlugin

        AvifImagePlugin.DEFAULT_MAX_THREADS = 1
    _prepared.add(fmt)


def check_floor(fmt: ImageFormat, size: tuple[int, int], length: int) -> None:
    """ImageTruncated unless length bytes could code a picture of size in fmt."""
    needed = size[0] * size[1] // _PIXELS_PER_BYTE[fmt]
    if length < needed:
        raise ImageTruncated(
            f"The file is {length} bytes; a {size[0]}x{size[1]} {fmt.name} needs at least {needed}."
        )


def check_sources(fmt: ImageFormat, data: bytes, max_pixels: int, max_items: int) -> None:
    """ImageTooLarge if what decoding the primary image decodes (a grid's tiles, an overlay's
    canvas, an alpha image) holds more pixels than the cap allows, whatever size it declares."""
    pixels = heifgrid.source_pixels(data, max_items)
    if pixels * WEIGHT[fmt] > max_pixels:
        raise ImageTooLarge(
            f"Decoding the image decodes {pixels:,} pixels (tiles, canvas, alpha); the limit is "
            f"{max_pixels:,} pixels, each counting {WEIGHT[fmt]:g} for this format."
        )
