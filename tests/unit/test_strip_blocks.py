"""strip.py's output block by block: the JFIF and Adobe segments it writes again, the ICC
profile's numbered segments, the PNG's one iCCP after IHDR and its IEND, the WebP's VP8X and
ANMF headers with their reserved bits cleared, and the containers it will not take apart."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from profilepics import jpegscan, strip

from tests.unit import imagegen as gen

ICC = bytes(range(256)) * 600  # 153,600 bytes: three APP2 segments of at most 65,519


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, body) of each segment before the first scan."""
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        found.append((data[pos + 1], data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found


def with_segment(jpeg: bytes, marker: int, body: bytes) -> bytes:
    return jpeg[:2] + bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_jfif_is_written_again_without_its_thumbnail() -> None:
    thumbnail = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01" + bytes(6)
    plain = gen.encode(gen.marked(32, 16), "JPEG")
    source = plain[:2] + plain[2 + 2 + 16 :]  # Pillow's own JFIF segment out

    out = strip.jpeg(with_segment(source, 0xE0, thumbnail), None)
    assert out is not None
    assert segments(out)[0] == (0xE0, thumbnail[:12] + b"\x00\x00")
    assert segments(strip.jpeg(plain, None) or b"")[0] == (0xE0, segments(plain)[0][1])


def with_adobe(jpeg: bytes, body: bytes) -> bytes:
    """jpeg with its own Adobe segment's body replaced by body."""
    at = jpeg.index(b"\xff\xee")
    (length,) = struct.unpack(">H", jpeg[at + 2 : at + 4])
    return (
        jpeg[:at] + b"\xff\xee" + struct.pack(">H", len(body) + 2) + body + jpeg[at + 2 + length :]
    )


def test_adobe_keeps_its_transform_alone_and_another_app14_goes() -> None:
    cmyk = gen.encode(Image.new("CMYK", (16, 16), (0, 50, 100, 0)), "JPEG")
    adobe = b"Adobe\x00\x65\x80\x00\x00\x01\x02"  # version 101, flags set, transform 2

    out = strip.jpeg(with_adobe(cmyk, adobe), None)
    assert out is not None
    assert (0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, 2)) in segments(out)
    ducky = strip.jpeg(with_segment(cmyk, 0xEE, b"Ducky-not-adobe-0123"), None)
    assert ducky is not None and b"Ducky" not in ducky
    [own] = [body for marker, body in segments(cmyk) if marker == 0xEE]
    assert [body for marker, body in segments(ducky) if marker == 0xEE] == [own]  # Pillow's
    crafted = strip.jpeg(with_adobe(cmyk, adobe[:11] + b"\xff"), None)
    assert crafted is not None and crafted[6:18] == b"Adobe\x00d\x00\x00\x00\x00\xff"


def test_a_large_icc_profile_is_numbered_one_to_n_of_n() -> None:
    out = strip.jpeg(gen.encode(gen.marked(32, 16), "JPEG"), ICC)
    assert out is not None

    icc = [body for marker, body in segments(out) if marker == 0xE2]
    assert [(body[12], body[13]) for body in icc] == [(1, 3), (2, 3), (3, 3)]
    assert b"".join(body[14:] for body in icc) == ICC


def test_the_scans_are_found_alike_with_or_without_their_known_ends() -> None:
    data = gen.encode(gen.photo(64, 48), "JPEG", progressive=True)
    layout = jpegscan.layout_of(data, 1000)

    assert strip.jpeg(data, None) == strip.jpeg(data, None, dict(layout.scans))
    assert len(layout.scans) > 1


def test_a_png_gets_one_iccp_right_after_ihdr_and_a_plain_iend() -> None:
    data = gen.encode(gen.marked(16, 8), "PNG") + b"junk after the end"

    out = strip.png(data, ICC)

    assert out is not None and out.count(b"iCCP") == 1
    length, kind = struct.unpack(">I4s", out[33:41])
    body = out[41 : 41 + length]
    assert kind == b"iCCP" and body.startswith(b"ICC Profile\x00\x00")
    assert zlib.decompress(body[13:]) == ICC
    assert out.endswith(b"\x00\x00\x00\x00IEND\xaeB`\x82")


def riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def riff(*chunks: bytes, form: bytes = b"WEBP", tag: bytes = b"RIFF") -> bytes:
    body = form + b"".join(chunks)
    return tag + struct.pack("<I", len(body)) + body


LOSSLESS = gen.vp8l_solid(16, 16)
CANVAS = b"\x0f\x00\x00\x0f\x00\x00"  # 16x16


def test_an_extended_webp_s_header_keeps_its_canvas_and_alpha_and_clears_the_rest() -> None:
    vp8x = riff_chunk(b"VP8X", bytes([0xFF & ~0x02, 7, 7, 7]) + CANVAS)
    data = riff(vp8x, riff_chunk(b"VP8L", LOSSLESS))

    plain, with_icc = strip.webp(data, None), strip.webp(data, b"icc!")

    assert plain == riff(
        riff_chunk(b"VP8X", bytes([0x10, 0, 0, 0]) + CANVAS), riff_chunk(b"VP8L", LOSSLESS)
    )
    assert with_icc == riff(
        riff_chunk(b"VP8X", bytes([0x30, 0, 0, 0]) + CANVAS),
        riff_chunk(b"ICCP", b"icc!"),
        riff_chunk(b"VP8L", LOSSLESS),
    )


def frame(flags: int, *chunks: bytes) -> bytes:
    header = bytes(6) + b"\x0f\x00\x00\x0f\x00\x00" + b"\x64\x00\x00" + bytes([flags])
    return riff_chunk(b"ANMF", header + b"".join(chunks))


def animated(*frames: bytes, flags: int = 0x02, anim: bool = True) -> bytes:
    head = riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + CANVAS)
    return riff(head, *([riff_chunk(b"ANIM", bytes(6))] if anim else []), *frames)


def test_an_animation_frame_keeps_its_blending_and_disposal_bits_alone() -> None:
    out = strip.webp(animated(frame(0xFF, riff_chunk(b"VP8L", LOSSLESS))), None)

    assert out == animated(frame(0x03, riff_chunk(b"VP8L", LOSSLESS)))


@pytest.mark.parametrize(
    "data",
    [
        riff(riff_chunk(b"VP8L", LOSSLESS), form=b"AVI "),
        riff(riff_chunk(b"VP8L", LOSSLESS), tag=b"RIFX"),
        b"RIFF\x04\x00\x00\x00WEBP" + riff_chunk(b"VP8L", LOSSLESS),  # no chunk inside its size
        riff(riff_chunk(b"VP8X", bytes(12)), riff_chunk(b"VP8L", LOSSLESS)),
        riff(riff_chunk(b"VP8X", bytes([0x10, 0, 0, 0]) + CANVAS), riff_chunk(b"ALPH", b"a")),
        animated(frame(0, riff_chunk(b"EXIF", b"exif"))),  # a frame without an image
        animated(frame(0, riff_chunk(b"VP8L", LOSSLESS)), flags=0),  # ANIM, not flagged so
        animated(frame(0, riff_chunk(b"VP8L", LOSSLESS)), anim=False),  # flagged, no ANIM
    ],
    ids=[
        "not-webp",
        "not-riff",
        "empty",
        "long-vp8x",
        "alpha-only",
        "frame-without-image",
        "anim-unflagged",
        "flag-without-anim",
    ],
)
def test_a_webp_it_cannot_take_apart_with_confidence_is_left_to_re_encoding(data: bytes) -> None:
    assert strip.webp(data, None) is None


@pytest.mark.parametrize("lossless", [False, True])
def test_a_simple_webp_is_its_one_image_chunk_again(lossless: bool) -> None:
    out = io.BytesIO()
    gen.marked(16, 8).save(out, "WEBP", lossless=lossless)
    data = out.getvalue()
    assert data[12:16] == (b"VP8L" if lossless else b"VP8 ")

    assert strip.webp(data, None) == data
