"""Metadata removed at the container level from a picture that has already decoded in full:
JPEG segments, PNG chunks and RIFF (WebP) chunks. No I/O, no Pillow. (GIF: gif.py.)

Only what draws the picture is kept, from a short list per format: the coded pixels byte for
byte (JPEG scans and their tables, PNG IDAT/fdAT, WebP VP8/VP8L/ALPH), the frame and animation
headers, transparency, colour (the ICC profile, written afresh from the bytes the decoder read;
PNG's sRGB/gAMA/cHRM/cICP; JPEG's Adobe colour transform), and nothing else: no EXIF, GPS, XMP,
IPTC, comments, text, thumbnails, dates, unknown chunks, or bytes after the end. So the stored
picture decodes to exactly the pixels of the upload, with no generation loss.

Where containers.py is lenient, these writers are strict: anything they do not expect (a length
past the end, a header of the wrong size, bytes between segments, no end) makes them return
None, and the picture is re-encoded from its pixels instead. Every loop advances by a length it
has checked against the end of the data, so the work is linear in the file's size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping

from profilepics.jpegscan import SCAN_END

# --- JPEG ----------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
# Frame headers (SOF0-15 but DHT, JPG and DAC), the tables, restart interval and line count.
_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_TABLES = frozenset({0xC4, 0xCC, 0xDB, 0xDD, 0xDC})
# Markers without a length: restarts and TEM.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_ICC_SIGNATURE = b"ICC_PROFILE\x00"
_ICC_CHUNK = 65_535 - 2 - len(_ICC_SIGNATURE) - 2


def _scan_end(data: bytes, start: int) -> int:
    found = SCAN_END.search(data, start)
    return found.start() if found else len(data)


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _jfif(body: bytes) -> bytes | None:
    """JFIF's version and pixel density, without the thumbnail it may carry."""
    if body[:5] != b"JFIF\x00" or len(body) < 14:
        return None
    return _segment(0xE0, body[:12] + b"\x00\x00")


def _adobe(body: bytes) -> bytes | None:
    """Adobe's colour transform (how libjpeg and Pillow read RGB and CMYK scans), and no more."""
    if body[:5] != b"Adobe" or len(body) < 12:
        return None
    return _segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, body[11]))


def _icc_segments(icc: bytes | None) -> list[bytes]:
    if not icc:
        return []
    parts = [icc[i : i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
    if len(parts) > 255:
        return []
    count = len(parts)
    return [
        _segment(0xE2, _ICC_SIGNATURE + bytes([index, count]) + part)
        for index, part in enumerate(parts, 1)
    ]


def jpeg(
    data: bytes, icc: bytes | None, scan_ends: Mapping[int, int] | None = None
) -> bytes | None:
    """The JPEG with its frame, tables and scans alone (and the ICC profile icc), or None.

    scan_ends: where each scan's entropy-coded data ends, by where it starts, if known already
    (jpegscan.layout_of): searching 2 MB of scans for their end costs a few ms.
    """
    if data[:2] != b"\xff\xd8":
        return None
    view = memoryview(data)  # the scans are joined into the output without a copy of their own
    kept: list[bytes | memoryview] = []
    jfif = adobe = None
    frames = scans = 0
    after_last_scan = 0  # how many of kept stand before anything that follows the last scan
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF or pos + 1 >= len(data):
            return None  # bytes between segments: libjpeg skipped them, and so would we
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == _SOI or pos + 4 > len(data):
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            return None
        body = data[pos + 4 : end]
        if marker == _SOS:
            scan_end = (scan_ends or {}).get(end) or _scan_end(data, end)
            kept.append(view[pos:scan_end])
            scans += 1
            after_last_scan = len(kept)
            pos = scan_end
            continue
        if marker in _FRAMES:
            frames += 1
            kept.append(data[pos:end])
        elif marker in _TABLES:
            kept.append(data[pos:end])
        # libjpeg reads each JFIF and Adobe segment over the one before: the last decides the
        # colours (a first Adobe segment kept over a later one stored the picture inverted).
        elif marker == 0xE0:
            jfif = _jfif(body) or jfif
        elif marker == 0xEE:
            adobe = _adobe(body) or adobe
        pos = end  # every other APPn, COM and the ICC profile's own segments: dropped
    if frames != 1 or scans == 0:
        return None
    # Tables after the last scan draw nothing: they could only carry bytes of someone's choice.
    colour = [segment for segment in (jfif, adobe) if segment is not None]
    # One join, one copy of the scans: each concatenation of megabytes costs a copy more.
    return b"".join(
        [b"\xff\xd8", *colour, *_icc_segments(icc), *kept[:after_last_scan], b"\xff\xd9"]
    )


# --- PNG -----------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks kept, with the sizes their bodies must have (None: any). Critical chunks, APNG's,
# transparency and colour; every other ancillary chunk (tEXt, zTXt, iTXt, eXIf, tIME, pHYs,
# private ones...) goes.
_PNG_KEEP: dict[bytes, frozenset[int] | None] = {
    b"IHDR": frozenset({13}),
    b"PLTE": frozenset(range(3, 769, 3)),
    b"tRNS": frozenset(range(1, 257)),
    b"IDAT": None,
    b"acTL": frozenset({8}),
    b"fcTL": frozenset({26}),
    b"fdAT": None,
    b"sRGB": frozenset({1}),
    b"gAMA": frozenset({4}),
    b"cHRM": frozenset({32}),
    b"cICP": frozenset({4}),
}


def _png_chunk(kind: bytes, body: bytes | memoryview) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(body)), kind, body, struct.pack(">I", crc)))


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, memoryview] | None]:
    """Each chunk's type and body up to IEND; None where a length runs past the end."""
    view = memoryview(data)
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            yield None
            return
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            yield None
            return
        kind = data[pos + 4 : pos + 8]
        yield kind, view[pos + 8 : end - 4]
        if kind == b"IEND":
            return
        pos = end


def png(data: bytes, icc: bytes | None) -> bytes | None:
    """The PNG (or APNG) with its pixel, animation, transparency and colour chunks alone (and
    the ICC profile icc), or None. The caller has checked its zlib streams end where their rows
    do (containers.check_png), so no bytes hide behind them."""
    if data[:8] != _PNG_SIGNATURE:
        return None
    out = [_PNG_SIGNATURE]
    for chunk in _png_chunks(data):
        if chunk is None:
            return None
        kind, body = chunk
        if kind == b"IEND":
            out.append(_png_chunk(b"IEND", b""))
            return b"".join(out)
        if kind not in _PNG_KEEP:
            continue
        sizes = _PNG_KEEP[kind]
        if sizes is not None and len(body) not in sizes:
            return None
        if (kind == b"IHDR") != (len(out) == 1):
            return None  # IHDR first, and once
        out.append(_png_chunk(kind, body))
        if kind == b"IHDR" and icc:
            out.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    return None


# --- WebP ----------------------------------------------------------------------------------

_VP8X_ICC, _VP8X_ALPHA, _VP8X_ANIMATION = 0x20, 0x10, 0x02
_FRAME_CHUNKS = (b"ALPH", b"VP8 ", b"VP8L")


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def _riff_chunks(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes] | None]:
    """Each chunk's type and body; None where a length runs past end, or a pad byte is not 0:
    libwebp hands a chunk's pad to its decoder, and a bitstream that runs on into it decodes
    (measured: a mutated lossless WebP), so the pad written as 0 would not."""
    while pos < end:
        if pos + 8 > end:
            yield None
            return
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        pad = data[pos + 8 + length : pos + 9 + length] if length & 1 else b""
        if pos + 8 + length > end or pad.strip(b"\x00"):
            yield None
            return
        yield data[pos : pos + 4], data[pos + 8 : pos + 8 + length]
        pos += 8 + length + (length & 1)


def _frame(body: bytes) -> bytes | None:
    """An ANMF chunk's body: its place, size, duration and blending, and its image chunks."""
    if len(body) < 16:
        return None
    kept = [body[:15] + bytes([body[15] & 0x03])]  # the other six bits are reserved
    for chunk in _riff_chunks(body, 16, len(body)):
        if chunk is None:
            return None
        if chunk[0] in _FRAME_CHUNKS:
            kept.append(_riff_chunk(*chunk))
    return b"".join(kept) if len(kept) > 1 else None


def webp(data: bytes, icc: bytes | None) -> bytes | None:
    """The WebP with its image, alpha and animation chunks alone (and the ICC profile icc), or
    None."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 20:
        return None
    (size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + size)
    chunks = list(_riff_chunks(data, 12, end))
    if not chunks or chunks[0] is None or None in chunks:
        return None
    first, body = chunks[0]
    if first in (b"VP8 ", b"VP8L"):
        return _riff(_riff_chunk(first, body))  # the simple format: one image chunk, no more
    if first != b"VP8X" or len(body) != 10:
        return None
    flags = body[0] & (_VP8X_ALPHA | _VP8X_ANIMATION) | (_VP8X_ICC if icc else 0)
    out = [_riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + body[4:10])]
    if icc:
        out.append(_riff_chunk(b"ICCP", icc))
    images, animated = 0, False
    for chunk in chunks[1:]:
        assert chunk is not None
        kind, body = chunk
        if kind == b"ANIM":
            if len(body) != 6 or animated:
                return None  # libwebp reads the first six bytes of a longer one
            out.append(_riff_chunk(kind, body))
            animated = True
        elif kind == b"ANMF":
            frame = _frame(body)
            if frame is None:
                return None
            out.append(_riff_chunk(kind, frame))
            images += 1
        elif kind in _FRAME_CHUNKS:
            out.append(_riff_chunk(kind, body))
            images += kind != b"ALPH"
    if not images or animated != bool(flags & _VP8X_ANIMATION):
        return None  # an animation libwebp reads needs its ANIM chunk
    return _riff(b"".join(out))


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body
