"""Metadata removal on both upload paths: the container stripped (upright pictures) and the
picture re-encoded (turned ones). Nothing but pixels, timing and colour comes out of either;
the stripped one decodes to exactly the upload's pixels."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from profilepics import gif, strip
from profilepics.errors import ProblemError
from profilepics.images import ImageLimits, clean_image

from tests.unit import imagegen as gen
from tests.unit import metagen as meta

LIMITS = ImageLimits()
DATA = Path(__file__).parent / "data"
PHOTO = gen.photo(96, 64)
TURNED, UPRIGHT = 6, 1

MADE: dict[str, Callable[[int], bytes]] = {
    "jpeg": lambda orientation: meta.jpeg(PHOTO, orientation),
    "progressive jpeg": lambda orientation: meta.jpeg(PHOTO, orientation, progressive=True),
    "png": lambda orientation: meta.png(PHOTO.convert("RGBA"), orientation),
    "palette png": lambda orientation: meta.png(PHOTO.quantize(16), orientation, transparency=3),
    "apng": meta.apng,
    "lossy webp": lambda orientation: meta.webp(PHOTO, orientation, quality=70),
    "lossless webp": lambda orientation: meta.webp(
        PHOTO.convert("RGBA"), orientation, lossless=True
    ),
    "animated webp": meta.animated_webp,
}


def test_every_input_does_carry_each_kind_of_metadata() -> None:
    for name, make in MADE.items():
        data = make(UPRIGHT)
        assert data.count(meta.NEEDLE) >= 3, name
        assert meta.metadata_pillow_finds(data), name


@pytest.mark.parametrize("orientation", [UPRIGHT, TURNED], ids=["stripped", "re-encoded"])
@pytest.mark.parametrize("name", sorted(MADE))
def test_no_metadata_survives_either_path(name: str, orientation: int) -> None:
    data = MADE[name](orientation)

    clean = clean_image(data, LIMITS)

    assert clean.reencoded is (orientation == TURNED)
    assert meta.NEEDLE not in clean.data
    assert b"Exif\x00\x00" not in clean.data and b"xmpmeta" not in clean.data
    assert meta.metadata_pillow_finds(clean.data) == set()
    assert meta.kept_only(clean.data), meta.holds(clean.data)
    assert gen.decode(clean.data).info.get("icc_profile") == gen.srgb_icc()


@pytest.mark.parametrize("name", sorted(MADE))
def test_a_stripped_upload_decodes_to_exactly_its_own_pixels(name: str) -> None:
    data = MADE[name](UPRIGHT)
    clean = clean_image(data, LIMITS)
    assert not clean.reencoded
    assert meta.frames_rgba(clean.data) == meta.frames_rgba(data)
    assert (clean.width, clean.height) == gen.decode(data).size


@pytest.mark.parametrize(
    "options",
    [
        {"subsampling": 0},
        {"subsampling": 2, "restart_marker_blocks": 3},
        {"progressive": True, "optimize": True},
        {"quality": 20},
    ],
)
def test_a_stripped_jpeg_keeps_its_coded_scans_byte_for_byte(options: dict[str, object]) -> None:
    plain = gen.encode(PHOTO, "JPEG", **options)
    clean = clean_image(meta.jpeg(PHOTO, UPRIGHT, **options), LIMITS)
    scans = plain[plain.index(b"\xff\xda") :]
    assert clean.data.endswith(scans)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_adobe_cmyk_jpegs_strip_to_the_same_pixels(mode: str) -> None:
    data = meta.jpeg(PHOTO.convert(mode), UPRIGHT)
    clean = clean_image(data, LIMITS)
    assert not clean.reencoded
    assert gen.decode(clean.data).tobytes() == gen.decode(data).tobytes()
    if mode == "CMYK":
        assert "APP14 Adobe" in meta.holds(clean.data)


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def _adobe(transform: int) -> bytes:
    return _segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform))


@pytest.mark.parametrize(
    "segments",
    [
        [_adobe(0), _adobe(1)],
        [_adobe(1), _segment(0xEE, b"Other" + bytes(8)), _adobe(0)],
        [_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"), _adobe(0)],
    ],
    ids=["RGB-then-YCbCr", "YCbCr-other-RGB", "JFIF-then-RGB"],
)
def test_a_jpeg_of_several_colour_markers_strips_to_the_same_pixels(segments: list[bytes]) -> None:
    """libjpeg reads the colour transform of the last Adobe segment (and a JFIF before any):
    the first was kept, so a JPEG whose Adobe segments disagreed was stored with its colours
    inverted through the wrong transform (off by up to 246 levels), and so were its variants."""
    plain = gen.encode(PHOTO, "JPEG", quality=95)
    headless = plain[:2] + plain[4 + struct.unpack(">H", plain[4:6])[0] :]  # no JFIF
    data = headless[:2] + b"".join(segments) + headless[2:]
    clean = clean_image(data, LIMITS)
    assert not clean.reencoded
    assert gen.decode(clean.data).tobytes() == gen.decode(data).tobytes()


def test_interlaced_and_16_bit_pngs_strip_to_the_same_pixels() -> None:
    wide = Image.frombytes("I;16", (40, 30), bytes(range(256)) * 9 + bytes(96))
    for data in (gen.encode(PHOTO, "PNG", interlace=1), gen.encode(wide, "PNG")):
        clean = clean_image(data, LIMITS)
        assert not clean.reencoded
        assert gen.decode(clean.data).tobytes() == gen.decode(data).tobytes()


# --- what the strippers do not take apart with confidence is re-encoded --------------------


def _png_with_idat(body: bytes) -> bytes:
    plain = gen.encode(PHOTO, "PNG")
    start = plain.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", plain[start : start + 4])
    return plain[:start] + meta.png_chunk(b"IDAT", body) + plain[start + 12 + length :]


def _idat(data: bytes) -> bytes:
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    return data[start + 8 : start + 8 + length]


def test_png_with_bytes_behind_its_zlib_stream_is_re_encoded_without_them() -> None:
    data = _png_with_idat(_idat(gen.encode(PHOTO, "PNG")) + meta.NEEDLE)
    clean = clean_image(data, LIMITS)
    assert clean.reencoded and meta.NEEDLE not in clean.data


def test_png_whose_stream_holds_more_than_its_rows_is_re_encoded_without_them() -> None:
    rows = zlib.decompress(_idat(gen.encode(PHOTO, "PNG"))) + meta.NEEDLE * 4
    clean = clean_image(_png_with_idat(zlib.compress(rows)), LIMITS)
    assert clean.reencoded and meta.NEEDLE not in clean.data


def _odd_webp_with_pad(pad: int) -> bytes:
    for width in range(40, 80):
        data = gen.encode(gen.photo(width, 30).convert("RGBA"), "WEBP", lossless=True)
        (length,) = struct.unpack("<I", data[16:20])
        if data[12:16] == b"VP8L" and length & 1 and len(data) == 21 + length:
            return data[:-1] + bytes([pad])
    raise AssertionError("no odd-sized lossless WebP made")


@pytest.mark.parametrize(
    "data",
    [
        # Found by mutating a lossless WebP: its VP8L bitstream runs past its declared length
        # into the chunk's pad byte (0x92), which libwebp decodes with. Stripped with the pad
        # written as zero, the stored original failed to decode: the upload was accepted and
        # its thumbnails run failed image_corrupt.
        (DATA / "webp_vp8l_into_its_pad.webp").read_bytes(),
        _odd_webp_with_pad(0xFF),
    ],
    ids=["stream-into-its-pad", "pad-not-zero"],
)
def test_webp_with_a_pad_byte_that_is_not_zero_is_re_encoded(data: bytes) -> None:
    clean = clean_image(data, LIMITS)

    assert clean.reencoded
    assert gen.decode(clean.data).size == gen.decode(data).size


def test_animated_webp_whose_anim_chunk_is_not_six_bytes_is_re_encoded() -> None:
    # Found by mutation: an ANIM chunk of 164 bytes (libwebp reads its first six) was dropped
    # as unknown, and the stripped file, animated without ANIM, no longer decoded: the upload
    # was accepted and its thumbnails run failed image_corrupt.
    data = (DATA / "webp_anim_chunk_oversized.webp").read_bytes()

    clean = clean_image(data, LIMITS)

    assert clean.reencoded
    assert meta.frames_rgba(clean.data)


def test_jpeg_with_bytes_between_its_segments_is_re_encoded_without_them() -> None:
    plain = gen.encode(PHOTO, "JPEG")
    after_jfif = 4 + struct.unpack(">H", plain[4:6])[0]
    data = plain[:after_jfif] + meta.NEEDLE + plain[after_jfif:]
    clean = clean_image(data, LIMITS)
    assert clean.reencoded and meta.NEEDLE not in clean.data


def test_gif_frames_are_written_with_their_own_lzw_data_byte_for_byte() -> None:
    data = gen.animation("GIF", 3, (20, 12), comment=meta.NEEDLE)
    clean = clean_image(data, LIMITS)
    assert meta.NEEDLE not in clean.data
    assert meta.frames_rgba(clean.data) == meta.frames_rgba(data)
    before, after = gif.parse(data, 10), gif.parse(clean.data, 10)
    assert [f.blocks for f in after.frames] == [f.blocks for f in before.frames]


# --- fuzzing: crafted containers neither crash the strippers nor smuggle anything ----------

SOURCES = {name: make(UPRIGHT) for name, make in MADE.items()}
STRIPPERS = {b"\xff\xd8": strip.jpeg, b"\x89P": strip.png, b"RI": strip.webp}


def _stripper(data: bytes) -> Callable[[bytes, bytes | None], bytes | None]:
    return STRIPPERS[data[:2]]


@st.composite
def crafted(draw: st.DrawFn) -> bytes:
    """A picture carrying metadata, cut, spliced, flipped or with a needle-holding block
    inserted anywhere."""
    data = bytearray(SOURCES[draw(st.sampled_from(sorted(SOURCES)))])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(12, max(12, len(data) - 1)))  # past the magic bytes
        action = draw(st.sampled_from(["flip", "truncate", "insert", "block"]))
        if action == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif action == "truncate":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        else:
            kind = draw(st.sampled_from(["jpeg", "png", "riff"]))
            block = {
                "jpeg": b"\xff\xe1\x00" + bytes([len(meta.NEEDLE) + 8]) + b"Exif\x00\x00",
                "png": struct.pack(">I", len(meta.NEEDLE)) + b"tEXt",
                "riff": b"EXIF" + struct.pack("<I", len(meta.NEEDLE)),
            }[kind]
            data[at:at] = block + meta.NEEDLE
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crafted())
def test_a_crafted_container_never_crashes_a_stripper_nor_keeps_a_foreign_block(
    data: bytes,
) -> None:
    out = _stripper(data)(data, None)
    if out is not None:
        assert meta.kept_only(out), meta.holds(out)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # corrupt EXIF, dropped
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crafted())
def test_a_crafted_upload_is_refused_or_stored_without_its_metadata(data: bytes) -> None:
    try:
        clean = clean_image(data, LIMITS)
    except ProblemError:
        return
    assert meta.kept_only(clean.data), meta.holds(clean.data)
    assert meta.metadata_pillow_finds(clean.data) == set()
    if not clean.reencoded:
        assert meta.frames_rgba(clean.data) == meta.frames_rgba(data)
