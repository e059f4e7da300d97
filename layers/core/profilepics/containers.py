"""What a PNG or WebP container says before any pixel is decoded: the fewest bytes its
declared pixels can be stored in (a file below that floor is truncated or crafted), and a PNG
that ends its rows early behind a valid end. No I/O, no Pillow. (JPEG: jpegscan.py; GIF: gif.py.)

Each reader is lenient: what it cannot parse it leaves to the decoder, which refuses it.
"""

from __future__ import annotations

import itertools
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
_PNG_PALETTE = 3  # the colour type whose samples index a PLTE
# APNG's dispose ops (none, background, previous) by its blend ops (source, over): Pillow takes
# others, Chromium ends the animation at the frame that has one.
_APNG_OPS = frozenset(bytes((dispose, blend)) for dispose in range(3) for blend in range(2))
_PNG_FILTERS = 4  # None, Sub, Up, Average, Paeth
_PNG_METADATA = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})
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


@dataclass(frozen=True)
class PngCheck:
    """What check_png found. exact: every stream ends exactly at its last row, with nothing
    behind it. inflated: besides, the file is a still whose one run of IDAT chunks has been
    inflated in full (zlib's checksum included) and every row's filter type checked, which is
    all Pillow's decode of it checks: decoding it again would check nothing more."""

    exact: bool
    inflated: bool = False
    # A chunk that may carry EXIF or XMP comes after the pixels, where Pillow reads it only
    # once it has decoded them (PngImageFile.getexif decodes first for that reason).
    late_metadata: bool = False


@dataclass(frozen=True)
class _PngLayout:
    ihdr: bytes
    streams: list[_PngStream]
    still: bool  # no animation, and its IDAT chunks one run: as Pillow's decoder reads them
    late_metadata: bool
    palette: bool  # a PLTE before the pixels, where PNG (and libpng) needs it
    own_frame: bytes = b""  # the fcTL before the IDAT: the IDAT is the animation's first frame
    bad_ops: bytes = b""  # the dispose and blend ops of the first fcTL whose APNG does not have
    declared: int | None = None  # the frames acTL declares (Pillow and browsers show no more)
    frames: int = 0  # fcTL chunks


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        yield kind, data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def chunk_count(data: bytes, webp: bool, cap: int) -> int:
    """The PNG's (or WebP's) chunks, counted up to cap + 1: a parser walks each in a loop."""
    chunks = _riff_chunks(data, 12, len(data)) if webp else _png_chunks(data)
    return sum(1 for _ in itertools.islice(chunks, cap + 1))


def _png_streams(data: bytes) -> _PngLayout:
    """IHDR's body and every pixel stream, each with the frame size it must fill."""
    ihdr = b""
    idat: list[bytes] = []
    frames: list[tuple[int, int, list[bytes]]] = []
    runs, previous, animated, late, palette, own, ops = 0, b"", False, False, False, b"", b""
    declared: int | None = None
    for kind, body in _png_chunks(data):
        runs += kind == b"IDAT" and previous != b"IDAT"
        previous = kind
        animated = animated or kind == b"acTL"
        late = late or bool(runs) and kind in _PNG_METADATA
        palette = palette or not runs and kind == b"PLTE"
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"acTL" and declared is None and len(body) >= 4:
            (declared,) = struct.unpack(">I", body[:4])
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"fcTL" and len(body) >= 12:
            own = own or (b"" if runs else body)
            ops = ops or (b"" if body[24:26] in _APNG_OPS else body[24:26])
            width, height = struct.unpack(">II", body[4:12])
            frames.append((width, height, []))
        elif kind == b"fdAT" and frames:
            frames[-1][2].append(body[4:])
    if len(ihdr) < 13:
        return _PngLayout(b"", [], False, late, palette)
    width, height = struct.unpack(">II", ihdr[:8])
    streams = [_PngStream("PNG image data", width, height, b"".join(idat))]
    for index, (w, h, parts) in enumerate(frames):
        if parts:  # the frame whose data is the IDAT has no fdAT of its own
            streams.append(_PngStream(f"PNG frame {index}", w, h, b"".join(parts)))
    still = runs == 1 and not animated and not frames
    return _PngLayout(ihdr, streams, still, late, palette, own, ops, declared, len(frames))


def _png_row_size(ihdr: bytes, width: int) -> int:
    """Bytes of one filtered row of a picture that is not interlaced, its filter type first."""
    return 1 + (width * ihdr[8] * _PNG_CHANNELS.get(ihdr[9], 4) + 7) // 8


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


def check_png(data: bytes) -> PngCheck:
    """Refuse a PNG whose compressed pixels are below deflate's floor (ImageTruncated), whose
    complete zlib stream ends before its last row (ImageCorrupt: the decoder fills the rest),
    whose row has a filter type or whose header a compression method PNG does not have
    (ImageCorrupt: Pillow's decoder takes either, browsers refuse both), or which is in
    palette colours with no palette before its pixels (ImageCorrupt: Pillow decodes it
    without one, libpng refuses it, Chromium paints it transparent, and the variants need a
    palette)."""
    layout = _png_streams(data)
    ihdr, streams = layout.ihdr, layout.streams
    if ihdr and ihdr[10] != 0:
        raise ImageCorrupt(f"The PNG declares compression method {ihdr[10]}; PNG has only 0.")
    if ihdr and ihdr[9] == _PNG_PALETTE and not layout.palette:
        raise ImageCorrupt("The PNG is in palette colours but has no palette before its pixels.")
    _check_own_frame(ihdr, layout.own_frame)
    if layout.declared is not None and layout.declared != layout.frames:
        # Pillow and Chromium show the declared frames and skip the rest, which then went
        # undecoded (and past the frame cap) into the stored file; APNG calls this an error.
        raise ImageCorrupt(
            f"The APNG's acTL declares {layout.declared} frames; it has {layout.frames}."
        )
    if len(layout.bad_ops) == 2:
        dispose, blend = layout.bad_ops
        raise ImageCorrupt(
            f"An APNG frame has dispose op {dispose} and blend op {blend}; APNG has 0-2 and 0-1."
        )
    for stream in streams:
        raw = _png_raw_size(ihdr, stream.width, stream.height)
        if len(stream.data) < raw // _DEFLATE_MAX_RATIO:
            refuse(Shortfall(stream.what, len(stream.data), raw // _DEFLATE_MAX_RATIO))
    exact = bool(streams)
    rows = layout.still and ihdr[12] == 0  # Adam7's passes' rows have 7 sizes: left to Pillow
    for stream in streams:
        row = _png_row_size(ihdr, stream.width) if rows else 0
        end = _stream_end(stream, _png_raw_size(ihdr, stream.width, stream.height), row)
        if end is _End.EARLY:
            raise ImageCorrupt(f"The {stream.what} ends before its last row; it is truncated.")
        exact = exact and end is _End.EXACT
    return PngCheck(exact, exact and rows, layout.late_metadata)


def _check_own_frame(ihdr: bytes, fctl: bytes) -> None:
    """The frame whose pixels are the IDAT must be the whole canvas (APNG): Pillow takes any,
    Chromium refuses the file."""
    if not ihdr or len(fctl) < 20:
        return
    width, height, x, y = struct.unpack(">IIII", fctl[4:20])
    if (width, height, x, y) != (*struct.unpack(">II", ihdr[:8]), 0, 0):
        raise ImageCorrupt(
            f"The APNG's first frame is {width}x{height} at ({x},{y}); the frame its IDAT "
            "holds must be the whole canvas."
        )


class _End(Enum):
    EARLY = "a complete stream of fewer bytes than the rows"
    EXACT = "a complete stream of the rows, and nothing behind it"
    OTHER = "more than the rows, bytes behind the stream, or a damaged or unfinished stream"


_INFLATE_IN = 1 << 16  # compressed bytes fed at a time: a short tail to carry over
_INFLATE_OUT = 1 << 20  # inflated bytes at most per call


def _check_filters(what: str, rows: bytes, row: int, at: int) -> None:
    """The filter type of each row that starts in rows, which begin at byte at of the rows."""
    types = rows[-at % row :: row]
    if types and max(types) > _PNG_FILTERS:
        raise ImageCorrupt(
            f"A row of the {what} has filter type {max(types)}; PNG has 0 to {_PNG_FILTERS}."
        )


def _stream_end(frame: _PngStream, rows_bytes: int, row: int) -> _End:
    """How a frame's zlib stream ends against the rows_bytes it should hold; each row's filter
    type checked on the way when row (the size of each) is given. Fed 64 KiB at a time and
    inflated 1 MiB at a time, never more than a byte past rows_bytes, so neither memory nor
    time exceeds the decode's own (and no megabytes of unconsumed input are copied over)."""
    data = frame.data
    stream = zlib.decompressobj()
    view, total = memoryview(data), 0
    try:
        for start in range(0, len(data), _INFLATE_IN):
            pending: bytes | memoryview = view[start : start + _INFLATE_IN]
            while pending and total <= rows_bytes:
                limit = min(_INFLATE_OUT, rows_bytes + 1 - total)
                rows = stream.decompress(pending, limit)
                if row:
                    _check_filters(frame.what, rows[: rows_bytes - total], row, total)
                total += len(rows)
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
