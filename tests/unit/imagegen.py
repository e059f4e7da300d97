"""Test pictures made in code: photos, marked images, animations, EXIF, bombs. No files."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Sequence
from functools import cache
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


@cache  # the profile carries its creation time: made twice, a second apart, they differ
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


def png_zeros(width: int, height: int, *, depth: int = 8, orientation: int | None = None) -> bytes:
    """A complete, valid RGBA PNG of transparent black at depth bits a channel, with an eXIf
    chunk of orientation before its pixels if given."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 6, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(1 + depth // 2 * width)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    exif = b"" if orientation is None else _png_chunk(b"eXIf", exif_bytes(orientation)[6:])
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + exif
        + _png_chunk(b"IDAT", body)
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


# --- hostile inputs: few bytes that declare a lot of work -------------------------------


def gif_lzw(code_size: int, size: int = 8) -> bytes:
    """A size x size GIF whose LZW data starts at code_size (GIF has 2 to 8), every pixel a
    clear code and a literal, so the codes stay code_size + 1 bits wide: well-formed LZW at
    any size 1 to 12 that Pillow decodes."""
    clear, width = 1 << code_size, code_size + 1
    codes = [(clear, width)]
    for index in range(size * size):
        codes += [(index % clear, width), (clear, width)]
    codes.append((clear + 1, width))
    acc = bits = 0
    packed = bytearray()
    for code, length in codes:
        acc |= code << bits
        bits += length
        while bits >= 8:
            packed.append(acc & 0xFF)
            acc, bits = acc >> 8, bits - 8
    packed += bytes([acc]) if bits else b""
    blocks = b"".join(
        bytes([len(packed[i : i + 255])]) + packed[i : i + 255] for i in range(0, len(packed), 255)
    )
    screen = struct.pack("<HHBBB", size, size, 0xF7, 0, 0) + bytes(range(256)) * 3
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, size, size, 0) + bytes([code_size])
    return b"GIF89a" + screen + image + blocks + b"\0\x3b"


def gif_sparse(frames: int = 100, canvas: int = 1000) -> bytes:
    """frames 1x1 frames on a canvas x canvas screen: 2,339 bytes for 100 on 1000x1000."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", canvas, canvas, 0x80, 0, 0))
    out += b"\x00\x00\x00\xff\xff\xff"  # a two-colour global palette
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for index in range(frames):
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 100 ms, no disposal
        out += b"\x2c" + struct.pack("<HHHHB", index % canvas, index % canvas, 1, 1, 0)
        out += b"\x02\x02\x4c\x01\x00"  # LZW: clear, one pixel of colour 1, end
    return bytes(out + b"\x3b")


class _Bits:
    """An LSB-first bit writer, as VP8L packs its header and codes."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def put(self, value: int, bits: int) -> None:
        self.value |= value << self.count
        self.count += bits

    def bytes(self) -> bytes:
        return self.value.to_bytes((self.count + 7) // 8, "little")


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def vp8l_solid(
    width: int, height: int, argb: tuple[int, int, int, int] = (255, 200, 30, 30)
) -> bytes:
    """A lossless WebP bitstream of one colour: every prefix code has one symbol, so each pixel
    costs no bits at all and any size fits in 13 bytes."""
    bits = _Bits()
    bits.put(0x2F, 8)
    bits.put(width - 1, 14)
    bits.put(height - 1, 14)
    bits.put(int(argb[0] != 255), 1)  # alpha used
    bits.put(0, 3)  # version
    bits.put(0, 1)  # no transform
    bits.put(0, 1)  # no colour cache
    bits.put(0, 1)  # no meta prefix codes
    alpha, red, green, blue = argb
    for symbol in (green, red, blue, alpha, 0):  # green, red, blue, alpha, distance
        bits.put(1, 1)  # a simple code...
        bits.put(0, 1)  # ...of one symbol...
        bits.put(1, 1)  # ...written in 8 bits
        bits.put(symbol, 8)
    return _riff_chunk(b"VP8L", bits.bytes())


def webp_solid(width: int, height: int, frames: int = 1) -> bytes:
    """A lossless WebP of solid frames: 138 bytes for two frames of 7000x7000."""
    if frames == 1:
        body = vp8l_solid(width, height)
    else:
        canvas = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
        body = _riff_chunk(b"VP8X", b"\x02\0\0\0" + canvas)  # animated
        body += _riff_chunk(b"ANIM", b"\0\0\0\0\0\0")
        for index in range(frames):
            colour = (255, (index * 70) % 256, 30, 200)
            header = b"\0" * 6 + canvas + struct.pack("<I", 100)[:3] + b"\x02"
            body += _riff_chunk(b"ANMF", header + vp8l_solid(width, height, colour))
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def apng_frames(
    frames: int = 100,
    canvas: int = 1000,
    *,
    whole: bool = False,
    first: int | None = None,
    ops: tuple[int, int] = (0, 0),
    declared: int | None = None,
) -> bytes:
    """An animated PNG: a blank canvas, then frames-1 frames that change one pixel each, or
    (whole) that paint the whole canvas a new colour each; first: the width the first frame's
    fcTL declares for the IDAT's image (APNG requires the canvas's); ops: the dispose and
    blend ops of the frames after it (APNG has 0-2 and 0-1); declared: the frame count its
    acTL gives (APNG requires the number of frames)."""
    ihdr = struct.pack(">IIBBBBB", canvas, canvas, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    out += _png_chunk(b"acTL", struct.pack(">II", frames if declared is None else declared, 0))
    sequence = 0

    def control(
        size: int, at: int, width: int | None = None, op: tuple[int, int] = (0, 0)
    ) -> bytes:
        body = struct.pack(">IIIIIHHBB", sequence, width or size, size, at, at, 1, 10, *op)
        return _png_chunk(b"fcTL", body)

    out += control(canvas, 0, first)
    out += _png_chunk(b"IDAT", zlib.compress(bytes((1 + 3 * canvas) * canvas), 9))
    for index in range(1, frames):
        sequence += 1
        size, at = (canvas, 0) if whole else (1, index % canvas)
        out += control(size, at, op=ops)
        sequence += 1
        row = b"\0" + bytes((index * 50 % 256, index % 256, 0)) * size
        out += _png_chunk(b"fdAT", struct.pack(">I", sequence) + zlib.compress(row * size, 9))
    return out + _png_chunk(b"IEND", b"")


def apng_sparse(frames: int = 100, canvas: int = 1000) -> bytes:
    return apng_frames(frames, canvas)


def png_rows_cut(width: int = 400, height: int = 600, rows: int = 10) -> bytes:
    """A well-formed PNG whose complete zlib stream holds only the first rows of its pixels:
    noisy rows, so the file is well above the bytes its size needs at the least."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    noise = random.Random(rows)
    raw = b"".join(b"\0" + noise.randbytes(width * 3) for _ in range(rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def png_of_rows(
    img: Image.Image,
    *,
    filters: dict[int, int] | None = None,
    split: bytes = b"",
    after: bytes = b"",
    compression: int = 0,
) -> bytes:
    """An RGB PNG of img's pixels, every row filtered None unless filters gives it another
    type; split: a chunk between two runs of IDAT; after: chunks between the pixels and IEND;
    compression: IHDR's compression method (PNG has only 0, deflate)."""
    rgb = img.convert("RGB")
    row, chosen = rgb.width * 3, filters or {}
    pixels = rgb.tobytes()
    raw = b"".join(
        bytes([chosen.get(y, 0)]) + pixels[y * row : (y + 1) * row] for y in range(rgb.height)
    )
    ihdr = struct.pack(">IIBBBBB", rgb.width, rgb.height, 8, 2, compression, 0, 0)
    stream = zlib.compress(raw)
    idat = _png_chunk(b"IDAT", stream)
    if split:
        idat = _png_chunk(b"IDAT", stream[:20]) + split + _png_chunk(b"IDAT", stream[20:])
    end = _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + idat + after + end


def png_palette_misplaced(*, after_pixels: bool) -> bytes:
    """A palette PNG whose PLTE is missing, or comes after the pixels (after_pixels): libpng
    refuses both ("Missing PLTE before IDAT"), Chromium 156 paints them transparent, and
    Pillow decodes either without a palette."""
    indices = bytes(range(48)) * 32
    raw = b"".join(b"\0" + indices[y * 48 : (y + 1) * 48] for y in range(32))
    ihdr = struct.pack(">IIBBBBB", 48, 32, 8, 3, 0, 0, 0)
    plte = _png_chunk(b"PLTE", bytes(range(144)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + (plte if after_pixels else b"")
        + _png_chunk(b"IEND", b"")
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return _png_chunk(kind, body)


def jpeg_cut(data: bytes, keep: float = 0.5) -> bytes:
    """A JPEG cut short, with the end-of-image marker put back so it looks whole."""
    return data[: int(len(data) * keep)] + b"\xff\xd9"


def jpeg_at_floor(width: int, height: int) -> bytes:
    """A greyscale baseline JPEG in the fewest bytes its size allows: one-symbol Huffman tables
    (a flat DC and an end-of-block), so every 8x8 block costs exactly two bits."""

    def segment(marker: int, body: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body

    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    one_code = bytes([1] + [0] * 15) + b"\0"  # one code of length 1, for symbol 0
    scan = bytes(blocks * 2 // 8) + (b"\x3f" if blocks * 2 % 8 else b"")  # pad with 1-bits
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\0" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


def jpeg_eob_scans(scans: int, *, refine: bool = True, width: int = 2048) -> bytes:
    """A grey progressive JPEG with scans more AC scans behind its own, each a few bytes of
    end-of-band runs over every block: each costs libjpeg a pass over all the blocks (a
    refinement scan a look at every coefficient of each), whatever its size."""
    base = encode(Image.new("L", (width, width), 128), "JPEG", progressive=True, quality=50)
    end = base.rindex(b"\xff\xd9")

    def segment(marker: int, body: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body

    # AC table 3: one code, "0", for symbol 0xE0: a run of 2**14 blocks, then 14 zero bits.
    table = segment(0xC4, b"\x13" + bytes([1] + [0] * 15) + b"\xe0")
    runs = (width // 8) ** 2 // 2**14
    bits = "0" * 15 * runs
    bits += "1" * (-len(bits) % 8)
    coded = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    scan = segment(0xDA, bytes([1, 1, 0x03, 1, 63, 0x10 if refine else 0])) + coded
    return base[:end] + table + scan * scans + base[end:]


def heic(stored: Image.Image, *, exif: bytes | None = None, xmp: bytes | None = None) -> bytes:
    """stored as an iPhone writes it: the EXIF orientation becomes the container's irot/imir.

    pillow-heif's standalone API, never its Pillow opener (only pi-heif's is registered, as in
    the service); and never from_pillow on an oriented image, which would rotate it twice.
    """
    import pillow_heif

    heif = pillow_heif.from_bytes(stored.mode, stored.size, stored.tobytes())
    if exif is not None:
        heif[0].info["exif"] = exif
    if xmp is not None:
        heif[0].info["xmp"] = xmp
    buffer = io.BytesIO()
    heif.save(buffer, quality=80)
    return buffer.getvalue()


def heic_oriented(upright: Image.Image, orientation: int) -> bytes:
    method = STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    return heic(stored, exif=exif_bytes(orientation, gps=True))


def avif_oriented(upright: Image.Image, orientation: int) -> bytes:
    method = STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    return encode(stored, "AVIF", exif=exif_bytes(orientation, gps=True), quality=80)


def with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """An ISO-BMFF image whose ispe box declares width x height, whatever it codes."""
    at = data.index(b"ispe") + 8  # past the box type, version and flags
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def block_spam(fmt: str, count: int, size: int = 16) -> bytes:
    """A small picture with count empty blocks of the cheapest kind its format has: unknown
    ancillary PNG chunks, JPEG comments, GIF comment extensions or unknown WebP chunks."""
    picture = Image.new("RGB", (size, size), RED)
    out = io.BytesIO()
    picture.save(out, fmt)
    data = out.getvalue()
    if fmt == "PNG":
        empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
        return data[:33] + empty * count + data[33:]
    if fmt == "JPEG":
        return data[:2] + b"\xff\xfe\x00\x02" * count + data[2:]
    if fmt == "GIF":
        header = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
        return data[:header] + b"\x21\xfe\x00" * count + data[header:]
    # WebP: unknown chunks after the image, the RIFF size grown to hold them.
    body = data[12:] + b"ABCD\x00\x00\x00\x00" * count
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def gif_fragmented(sub_block: int, size: int = 64) -> bytes:
    """A one-frame GIF of noise whose LZW data is framed in sub-blocks of sub_block bytes
    (legal from 1 to 255; encoders write 255)."""
    rng = random.Random(size)
    picture = Image.frombytes("P", (size, size), rng.randbytes(size * size))
    picture.putpalette(bytes(range(256)) * 3)
    out = io.BytesIO()
    picture.save(out, "GIF")
    data = out.getvalue()
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[pos] == 0x21:  # extensions before the image: label, then sub-blocks
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    assert data[pos] == 0x2C and not data[pos + 9] & 0x80  # an image with no local palette
    start = pos + 10 + 1  # past the image descriptor and the LZW code size
    pos, payload = start, b""
    while data[pos]:
        payload += data[pos + 1 : pos + 1 + data[pos]]
        pos += data[pos] + 1
    chunks = [payload[i : i + sub_block] for i in range(0, len(payload), sub_block)]
    framed = b"".join(bytes([len(chunk)]) + chunk for chunk in chunks) + b"\0"
    return data[:start] + framed + data[pos + 1 :]
