"""Pictures that carry every kind of metadata, each holding a needle, and readers of what a
container holds: which segments or chunks, which metadata Pillow still finds, which pixels."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.unit import imagegen as gen

NEEDLE = b"51.5007N 0.1246W home-of-the-uploader"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + NEEDLE + b"</rdf:RDF></x:xmpmeta>"
# Photoshop's image resource block 0x0404 (IPTC-NAA), holding a caption (2:120).
IPTC = (
    b"Photoshop 3.0\x008BIM\x04\x04\x00\x00"
    + struct.pack(">I", 5 + len(NEEDLE))
    + b"\x1c\x02\x78"
    + struct.pack(">H", len(NEEDLE))
    + NEEDLE
)
# What the stripped containers may hold, and nothing else.
JPEG_KEPT = {"SOF", "DHT", "DAC", "DQT", "DRI", "SOS", "APP0 JFIF", "APP2 ICC", "APP14 Adobe"}
PNG_KEPT = {
    b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT",
    b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP",
}  # fmt: skip
WEBP_KEPT = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
METADATA_KEYS = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "Comment"}


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def jpeg(img: Image.Image, orientation: int = 1, **options: Any) -> bytes:
    """A JPEG with EXIF (GPS, orientation), XMP, IPTC, comments, an unknown APPn, a JFXX
    thumbnail, an ICC profile and bytes after its end, each holding the needle."""
    exif = gen.exif_bytes(orientation, gps=True)
    options = {"icc_profile": gen.srgb_icc(), **options}
    data = gen.encode(img, "JPEG", exif=exif, comment=NEEDLE, xmp=XMP, **options)
    extra = (
        _segment(0xED, IPTC)
        + _segment(0xE3, b"Vendor\x00" + NEEDLE)
        + _segment(0xE0, b"JFXX\x00\x10" + NEEDLE)
        + _segment(0xFE, NEEDLE)
    )
    return data[:2] + extra + data[2:] + NEEDLE


def png(img: Image.Image, orientation: int = 1, **options: Any) -> bytes:
    """A PNG with tEXt, zTXt, iTXt, eXIf (GPS, orientation), tIME, a private chunk, an ICC
    profile and bytes after IEND, each holding the needle."""
    info = PngInfo()
    info.add_text("Comment", NEEDLE.decode())
    info.add_text("Description", NEEDLE.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    exif = gen.exif_bytes(orientation, gps=True)
    options = {"icc_profile": gen.srgb_icc(), **options}
    data = gen.encode(img, "PNG", pnginfo=info, exif=exif, **options)
    ihdr_end = 8 + 25
    extra = png_chunk(b"tIME", b"\x07\xea\x0c\x01\x0c\x00\x00") + png_chunk(b"prVt", NEEDLE)
    return data[:ihdr_end] + extra + data[ihdr_end:] + NEEDLE


def webp(img: Image.Image, orientation: int = 1, **options: Any) -> bytes:
    """A WebP (extended format) with EXIF (GPS, orientation), XMP, an unknown chunk, an ICC
    profile and bytes after the RIFF, each holding the needle."""
    exif = gen.exif_bytes(orientation, gps=True)
    options = {"icc_profile": gen.srgb_icc(), **options}
    data = gen.encode(img, "WEBP", exif=exif, xmp=XMP, **options)
    body = data[12:] + riff_chunk(b"JUNK", NEEDLE)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body + NEEDLE


def animated_webp(orientation: int = 1) -> bytes:
    frames = [
        Image.new("RGBA", (24, 16), (index * 60, 30, 200 - index * 50, 255)) for index in range(3)
    ]
    return webp(frames[0], orientation, save_all=True, append_images=frames[1:], duration=40)


def apng(orientation: int = 1) -> bytes:
    frames = [Image.new("RGB", (24, 16), (index * 60, 30, 200 - index * 50)) for index in range(3)]
    return png(frames[0], orientation, save_all=True, append_images=frames[1:], duration=40)


# --- readers -------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> Iterator[str]:
    """The kind of each segment up to the first scan, named as JPEG_KEPT names them."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xDA:
            yield "SOS"
            return
        names = {0xC4: "DHT", 0xCC: "DAC", 0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM"}
        if marker in names:
            yield names[marker]
        elif 0xC0 <= marker <= 0xCF:
            yield "SOF"
        elif 0xE0 <= marker <= 0xEF:
            kind = {b"JFIF\x00": " JFIF", b"ICC_P": " ICC", b"Adobe": " Adobe"}.get(body[:5], "")
            yield f"APP{marker - 0xE0}{kind or ' ' + body[:8].hex()}"
        else:
            yield f"marker {marker:#x}"
        pos += 2 + length


def png_chunks(data: bytes) -> Iterator[bytes]:
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        yield data[pos + 4 : pos + 8]
        pos += 12 + length


def webp_chunks(data: bytes) -> Iterator[bytes]:
    pos = 12
    while pos + 8 <= len(data):
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        yield data[pos : pos + 4]
        pos += 8 + length + (length & 1)


def holds(data: bytes) -> set[str | bytes]:
    """Every segment or chunk kind of a JPEG, PNG or WebP."""
    if data[:2] == b"\xff\xd8":
        return set(jpeg_segments(data))
    if data[:4] == b"RIFF":
        return set(webp_chunks(data))
    return set(png_chunks(data))


def kept_only(data: bytes) -> bool:
    return holds(data) <= (JPEG_KEPT | PNG_KEPT | WEBP_KEPT)


def metadata_pillow_finds(data: bytes) -> set[str]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        found = {key for key in img.info if key in METADATA_KEYS}
        found |= {"text"} if getattr(img, "text", None) else set()
        found |= {"exif"} if img.getexif() else set()
    return found


def frames_rgba(data: bytes) -> list[bytes]:
    """Every frame's pixels, as RGBA."""
    with Image.open(io.BytesIO(data)) as img:
        out = []
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            out.append(img.convert("RGBA").tobytes())
        return out
