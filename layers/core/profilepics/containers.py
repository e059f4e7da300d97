"""What a PNG or WebP container says before any pixel is decoded: the fewest bytes its
declared pixels can be stored in (a file below that floor is truncated or crafted), and a PNG
that ends its rows early behind a valid end. No I/O, no Pillow. (JPEG: jpegscan.py; GIF: gif.py.)

Each reader is lenient: what it cannot parse it leaves to the decoder, which refuses it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from profilepics.errors import ImageCorrupt, ImageTruncated

# Deflate's best case is a 258-byte match coded in 2 bits: 1032:1, whatever the encoder.
_DEFLATE_MAX_RATIO = 1032
# A VP8 key frame codes each 16x16 macroblock's luma and chroma modes with fixed
# probabilities: at least 3.4 bits, whatever the content. 2 leaves a margin.
_VP8_MIN_BITS_PER_MACROBLOCK = 2


@dataclass(frozen=True)
class Shortfall:
    """Bytes a stream has against the bytes its declared pixels need at the least."""

    what: str
    has: int
    needs: int


def refuse(short: Shortfall) -> None:
    raise ImageTruncated(
        f"The {short.what} holds {short.has} bytes; the pixels it declares need at least "
        f"{short.needs}. The file is truncated or crafted."
    )


# --- PNG -----------------------------------------------------------------------------------

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7: (x offset, y offset, x step, y step) of each pass.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


@dataclass(frozen=True)
class _PngStream:
    """One zlib stream of pixel rows: the IDAT image or one APNG frame's fdAT chunks."""

    what: str
    width: int
    height: int
    data: bytes


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        yield kind, data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def _png_streams(data: bytes) -> tuple[bytes, list[_PngStream]]:
    """IHDR's body and every pixel stream, each with the frame size it must fill."""
    ihdr = b""
    idat: list[bytes] = []
    frames: list[tuple[int, int, list[bytes]]] = []
    for kind, body in _png_chunks(data):
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"fcTL" and len(body) >= 12:
            width, height = struct.unpack(">II", body[4:12])
            frames.append((width, height, []))
        elif kind == b"fdAT" and frames:
            frames[-1][2].append(body[4:])
    if len(ihdr) < 13:
        return b"", []
    width, height = struct.unpack(">II", ihdr[:8])
    streams = [_PngStream("PNG image data", width, height, b"".join(idat))]
    for index, (w, h, parts) in enumerate(frames):
        if parts:  # the frame whose data is the IDAT has no fdAT of its own
            streams.append(_PngStream(f"PNG frame {index}", w, h, b"".join(parts)))
    return ihdr, streams


def _png_raw_size(ihdr: bytes, width: int, height: int) -> int:
    """Bytes of filtered rows a width x height frame inflates to."""
    depth, colour, interlace = ihdr[8], ihdr[9], ihdr[12]
    bits = depth * _PNG_CHANNELS.get(colour, 4)
    passes = _ADAM7 if interlace == 1 else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx
        rows = (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


def png_bytes_per_pixel(data: bytes) -> float:
    """Bytes a pixel takes in a PNG's raw rows (0.125 for 1-bit grey, 8 for 16-bit RGBA)."""
    ihdr = data[16:29]
    if len(ihdr) < 13:
        return 0.0
    return ihdr[8] * _PNG_CHANNELS.get(ihdr[9], 4) / 8


def check_png(data: bytes) -> bool:
    """Refuse a PNG whose compressed pixels are below deflate's floor (ImageTruncated), or whose
    complete zlib stream ends before its last row (ImageCorrupt: the decoder fills the rest).
    True when every stream ends exactly at its last row, with nothing behind it."""
    ihdr, streams = _png_streams(data)
    for stream in streams:
        raw = _png_raw_size(ihdr, stream.width, stream.height)
        if len(stream.data) < raw // _DEFLATE_MAX_RATIO:
            refuse(Shortfall(stream.what, len(stream.data), raw // _DEFLATE_MAX_RATIO))
    exact = bool(streams)
    for stream in streams:
        end = _stream_end(stream.data, _png_raw_size(ihdr, stream.width, stream.height))
        if end is _End.EARLY:
            raise ImageCorrupt(f"The {stream.what} ends before its last row; it is truncated.")
        exact = exact and end is _End.EXACT
    return exact


class _End(Enum):
    EARLY = "a complete stream of fewer bytes than the rows"
    EXACT = "a complete stream of the rows, and nothing behind it"
    OTHER = "more than the rows, bytes behind the stream, or a damaged or unfinished stream"


_INFLATE_IN = 1 << 16  # compressed bytes fed at a time: a short tail to carry over
_INFLATE_OUT = 1 << 20  # inflated bytes at most per call


def _stream_end(data: bytes, rows_bytes: int) -> _End:
    """How a zlib stream ends against the rows_bytes it should hold. Fed 64 KiB at a time and
    inflated 1 MiB at a time, never more than a byte past rows_bytes, so neither memory nor
    time exceeds the decode's own (and no megabytes of unconsumed input are copied over)."""
    stream = zlib.decompressobj()
    view, total = memoryview(data), 0
    try:
        for start in range(0, len(data), _INFLATE_IN):
            pending: bytes | memoryview = view[start : start + _INFLATE_IN]
            while pending and total <= rows_bytes:
                limit = min(_INFLATE_OUT, rows_bytes + 1 - total)
                total += len(stream.decompress(pending, limit))
                pending = stream.unconsumed_tail
            if stream.eof or total > rows_bytes:
                break
    except zlib.error:
        return _End.OTHER  # damaged: the decoder says so in its own words
    if stream.eof and total < rows_bytes:
        return _End.EARLY
    exact = stream.eof and total == rows_bytes and not stream.unused_data
    return _End.EXACT if exact else _End.OTHER


# --- WebP ----------------------------------------------------------------------------------


def _riff_chunks(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    while pos + 8 <= end:
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        yield data[pos : pos + 4], data[pos + 8 : min(pos + 8 + length, end)]
        pos += 8 + length + (length & 1)


def _vp8_frames(data: bytes) -> Iterator[bytes]:
    """Every lossy (VP8) bitstream: the still image's, or each animation frame's."""
    for kind, body in _riff_chunks(data, 12, len(data)):
        if kind == b"VP8 ":
            yield body
        elif kind == b"ANMF":
            for inner, frame in _riff_chunks(body, 16, len(body)):
                if inner == b"VP8 ":
                    yield frame


def webp_durations(data: bytes, count: int) -> list[int]:
    """Each animation frame's duration in ms, as its ANMF header gives it (count of them)."""
    durations = [
        int.from_bytes(body[12:15], "little")
        for kind, body in _riff_chunks(data, 12, len(data))
        if kind == b"ANMF" and len(body) >= 16
    ]
    return (durations + [0] * count)[:count]


def check_webp(data: bytes) -> None:
    """Lossy frames have a floor; lossless (VP8L) has none: one colour costs no bits a pixel,
    which is why the pixel and animation caps, not a floor, bound a lossless WebP."""
    for index, frame in enumerate(_vp8_frames(data)):
        if len(frame) < 10 or frame[3:6] != b"\x9d\x01\x2a":
            continue
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", frame[6:10]))
        macroblocks = ((width + 15) // 16) * ((height + 15) // 16)
        needs = macroblocks * _VP8_MIN_BITS_PER_MACROBLOCK // 8
        if len(frame) < needs:
            refuse(Shortfall(f"WebP frame {index}", len(frame), needs))
