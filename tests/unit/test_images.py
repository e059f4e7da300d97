"""clean_image and sniff: validation by content, limits, decoding, orientation, metadata."""

from __future__ import annotations

import io
import os
import struct
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw, ImageFile, ImageOps
from PIL.PngImagePlugin import PngInfo
from profilepics import containers, gif, jpegscan
from profilepics.errors import (
    EmptyFile,
    FileTooLarge,
    ImageCorrupt,
    ImageTooComplex,
    ImageTooLarge,
    ImageTooSmall,
    ImageTruncated,
    ProblemError,
    UnsupportedMediaType,
)
from profilepics.formats import ImageFormat, sniff
from profilepics.frames import Budget, Frames
from profilepics.images import CleanImage, ImageLimits, clean_image

from tests.unit import imagegen as gen

LIMITS = ImageLimits()
# `make mutation` runs the fuzz tests once per mutant: fewer examples there (tests/mutation.py).
FUZZ_EXAMPLES = int(os.environ.get("PROFILEPICS_FUZZ_EXAMPLES", "150"))


def is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def is_blue(pixel: tuple[int, ...]) -> bool:
    return pixel[0] < 60 and pixel[1] < 60 and pixel[2] > 200


def assert_no_metadata(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    assert not img.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment"} & set(img.info)
    assert b"Exif\x00\x00" not in data


# --- format by content -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", ImageFormat.JPEG),
        (b"\x89PNG\r\n\x1a\nrest", ImageFormat.PNG),
        (b"GIF87arest", ImageFormat.GIF),
        (b"GIF89arest", ImageFormat.GIF),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ImageFormat.WEBP),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_sniff_reads_magic_bytes_only(data: bytes, expected: ImageFormat | None) -> None:
    assert sniff(data) == expected


def test_formats_know_their_content_type_and_extension() -> None:
    assert [(f.content_type, f.extension) for f in ImageFormat] == [
        ("image/jpeg", "jpg"),
        ("image/png", "png"),
        ("image/gif", "gif"),
        ("image/webp", "webp"),
        ("image/heic", "heic"),
        ("image/avif", "avif"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', id="svg"),
        pytest.param(b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n", id="pdf"),
        pytest.param(b"just some text, named picture.jpg", id="text"),
        pytest.param(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + bytes(64), id="mp4"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00" + bytes(120), id="elf-renamed-jpg"),
        pytest.param(gen.encode(gen.marked(), "BMP"), id="bmp"),
        pytest.param(gen.encode(gen.marked(), "TIFF"), id="tiff"),
        pytest.param(b"<html><img src=x onerror=alert(1)>" + b"GIF89a", id="html-polyglot"),
    ],
)
def test_non_image_or_unaccepted_format_is_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        clean_image(data, LIMITS)


def test_gif_is_unsupported_when_only_jpeg_and_png_are_allowed() -> None:
    limits = ImageLimits(allowed_formats=frozenset({ImageFormat.JPEG, ImageFormat.PNG}))
    with pytest.raises(UnsupportedMediaType):
        clean_image(gen.animation("GIF", 2), limits)


def test_png_behind_jpeg_magic_is_not_opened_as_png() -> None:
    disguised = b"\xff\xd8\xff" + gen.encode(gen.marked(), "PNG")
    with pytest.raises(ImageCorrupt):
        clean_image(disguised, LIMITS)


# --- size limits, before any decode ------------------------------------------------------


def test_empty_file_is_empty_file() -> None:
    with pytest.raises(EmptyFile):
        clean_image(b"", LIMITS)


def test_too_many_bytes_is_file_too_large_before_looking_at_content() -> None:
    with pytest.raises(FileTooLarge):
        clean_image(b"not an image at all", ImageLimits(max_bytes=10))


@pytest.fixture
def warm_pillow() -> None:
    """Pillow loads its plugins on first use: keep that out of the timings."""
    clean_image(gen.encode(gen.marked(), "PNG"), LIMITS)


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the header alone must decide")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)


def test_30000_by_30000_png_header_is_image_too_large_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.png_header_only(30_000, 30_000)
    assert len(data) < 200
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        clean_image(data, LIMITS)


def test_a_png_that_must_be_turned_counts_its_pixels_for_the_turning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PNG turned upright is decoded by Pillow beside the truncation inflate, transposed and
    deflated again: a 182 KB 7000x7000 one with orientation 6 cost 2.65 s of CPU and 399 MB to
    upload, past the 2 s budget (checked only before the encoding). Its pixels count 2.5."""
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match="turned upright"):
        clean_image(gen.png_zeros(5000, 5000, orientation=6), LIMITS)


def test_169_megapixel_png_bomb_is_image_too_large_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.png_bomb(13_000, 13_000)
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        clean_image(data, LIMITS)


def test_image_over_our_pixel_cap_but_under_pillows_is_image_too_large() -> None:
    with pytest.raises(ImageTooLarge):
        clean_image(gen.png_header_only(8_000, 8_000), LIMITS)


def test_animated_gif_over_the_frame_cap_is_image_too_large() -> None:
    with pytest.raises(ImageTooLarge, match="frames"):
        clean_image(gen.animation("GIF", 101, (8, 8)), LIMITS)


def test_animated_webp_over_the_frame_cap_is_image_too_large() -> None:
    with pytest.raises(ImageTooLarge) as refused:
        clean_image(gen.animation("WEBP", 6, (8, 8)), ImageLimits(max_frames=5))
    assert refused.value.detail == "The animation has over 5 frames, the limit."


def test_animation_over_frames_times_pixels_cap_is_image_too_large() -> None:
    data = gen.animation("GIF", 3, (20, 20))
    with pytest.raises(ImageTooLarge) as refused:
        clean_image(data, ImageLimits(max_total_pixels=1_000))
    assert str(refused.value) == (
        "The animation has 3 frames of 400 pixels; the limit is 1,000 pixels in all."
    )
    assert clean_image(data, ImageLimits(max_total_pixels=1_200)).frames == 3


# --- decoding ----------------------------------------------------------------------------


def test_truncated_jpeg_is_image_corrupt() -> None:
    data = gen.encode(gen.photo(400, 300), "JPEG", quality=90)
    with pytest.raises(ImageCorrupt):
        clean_image(data[: len(data) // 2], LIMITS)


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_truncated_image_is_image_corrupt(fmt: str) -> None:
    data = gen.encode(gen.photo(200, 150), fmt)
    with pytest.raises(ImageCorrupt):
        clean_image(data[: len(data) // 2], LIMITS)


def test_truncated_animation_is_image_corrupt() -> None:
    data = gen.animation("GIF", 5, (40, 40))
    with pytest.raises(ImageCorrupt):
        clean_image(data[: len(data) * 3 // 4], LIMITS)


def test_clean_image_leaves_pillow_global_state_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    clean_image(gen.encode(gen.marked(), "PNG"), LIMITS)
    with pytest.raises(ImageTooLarge):
        clean_image(gen.png_bomb(13_000, 13_000), LIMITS)
    assert Image.MAX_IMAGE_PIXELS == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_image_under_minimum_dimensions_is_image_too_small() -> None:
    data = gen.encode(gen.marked(80, 40), "PNG")
    with pytest.raises(ImageTooSmall):
        clean_image(data, ImageLimits(min_width=64, min_height=64))
    assert clean_image(data, ImageLimits(min_width=80, min_height=40)).width == 80


def test_minimum_dimensions_apply_to_the_upright_picture() -> None:
    data = gen.oriented(gen.marked(80, 40), 6)
    assert clean_image(data, ImageLimits(min_width=80)).width == 80


# --- orientation and metadata ------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright_without_exif(orientation: int) -> None:
    upright = gen.marked(80, 40)
    data = gen.oriented(upright, orientation, quality=95)
    assert ImageOps.exif_transpose(gen.decode(data)).size == (80, 40)  # the generator is right

    clean = clean_image(data, LIMITS)

    assert (clean.width, clean.height) == (80, 40)
    out = gen.decode(clean.data).convert("RGB")
    assert out.size == (80, 40)
    assert is_red(gen.pixel(out, (5, 5)))
    assert is_blue(gen.pixel(out, (74, 34)))
    assert is_blue(gen.pixel(out, (5, 34)))
    assert is_blue(gen.pixel(out, (74, 5)))
    assert_no_metadata(clean.data)


def test_an_orientation_that_is_no_number_leaves_the_picture_as_stored() -> None:
    """A camera or editor that wrote the tag as text: no turn or flip is made up for it."""
    entry = struct.pack("<HHI4s", 0x0112, 2, 4, b"abc\0")  # Orientation, ASCII, "abc"
    tiff = b"II*\0" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0)
    data = gen.encode(gen.marked(80, 40), "JPEG", exif=b"Exif\0\0" + tiff, quality=95)

    clean = clean_image(data, LIMITS)

    out = gen.decode(clean.data).convert("RGB")
    assert (clean.width, clean.height) == (80, 40)
    assert is_red(gen.pixel(out, (5, 5))) and is_blue(gen.pixel(out, (74, 5)))
    assert_no_metadata(clean.data)


def test_jpeg_with_gps_and_orientation_6_comes_back_upright_without_gps_and_keeps_icc() -> None:
    icc = gen.srgb_icc()
    stored = gen.marked(80, 40).transpose(Image.Transpose.ROTATE_90)
    data = gen.encode(
        stored,
        "JPEG",
        exif=gen.exif_bytes(6, gps=True),
        icc_profile=icc,
        comment=b"shot at home",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">home</x:xmpmeta>',
    )
    assert gen.decode(data).getexif().get_ifd(0x8825)  # the input does carry GPS

    clean = clean_image(data, LIMITS)

    assert (clean.format, clean.width, clean.height) == (ImageFormat.JPEG, 80, 40)
    assert is_red(gen.pixel(gen.decode(clean.data), (5, 5)))
    assert_no_metadata(clean.data)
    assert b"shot at home" not in clean.data and b"xmpmeta" not in clean.data
    assert gen.decode(clean.data).info["icc_profile"] == icc


def test_png_with_exif_orientation_and_text_is_upright_and_stripped() -> None:
    text = PngInfo()
    text.add_text("Comment", "my home address")
    data = gen.oriented(gen.marked(80, 40).convert("RGBA"), 8, "PNG", pnginfo=text)

    clean = clean_image(data, LIMITS)

    assert (clean.width, clean.height) == (80, 40)
    assert b"my home address" not in clean.data
    assert_no_metadata(clean.data)


def test_webp_with_exif_orientation_is_upright_and_stripped() -> None:
    data = gen.oriented(gen.marked(80, 40), 6, "WEBP", lossless=True)
    clean = clean_image(data, LIMITS)
    assert (clean.width, clean.height) == (80, 40)
    assert is_red(gen.pixel(gen.decode(clean.data).convert("RGB"), (5, 5)))
    assert_no_metadata(clean.data)


# --- formats round-trip ------------------------------------------------------------------


def test_jpeg_stays_jpeg() -> None:
    clean = clean_image(gen.encode(gen.photo(320, 200), "JPEG"), LIMITS)
    assert clean == CleanImage(clean.data, ImageFormat.JPEG, 320, 200, 1)
    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
    assert gen.decode(clean.data).format == "JPEG"


def test_png_stays_png_and_keeps_alpha() -> None:
    img = gen.marked(80, 40).convert("RGBA")
    img.putpixel((79, 39), (0, 0, 0, 0))
    clean = clean_image(gen.encode(img, "PNG"), LIMITS)
    out = gen.decode(clean.data)
    assert (clean.format, out.format, out.mode) == (ImageFormat.PNG, "PNG", "RGBA")
    assert gen.pixel(out, (79, 39))[3] == 0
    assert gen.pixel(out, (0, 0)) == (255, 0, 0, 255)


def test_palette_png_keeps_its_transparency() -> None:
    img = gen.marked(80, 40).convert("P")
    data = gen.encode(img, "PNG", transparency=img.getpixel((0, 0)))
    out = gen.decode(clean_image(data, LIMITS).data).convert("RGBA")
    assert gen.pixel(out, (0, 0))[3] == 0
    assert gen.pixel(out, (79, 39))[3] == 255


def test_16_bit_greyscale_png_is_accepted() -> None:
    img = Image.new("I;16", (32, 16), 40_000)
    clean = clean_image(gen.encode(img, "PNG"), LIMITS)
    assert (clean.format, clean.width, clean.height) == (ImageFormat.PNG, 32, 16)


def test_cmyk_jpeg_stays_a_decodable_jpeg() -> None:
    clean = clean_image(gen.encode(gen.photo(64, 48).convert("CMYK"), "JPEG"), LIMITS)
    assert gen.decode(clean.data).size == (64, 48)


def test_animated_gif_stays_animated_with_same_frames_durations_and_loop() -> None:
    data = gen.animation("GIF", 4, (30, 20), durations=[100, 200, 300, 400])
    clean = clean_image(data, LIMITS)
    assert (clean.format, clean.width, clean.height, clean.frames) == (ImageFormat.GIF, 30, 20, 4)
    src, out = gen.decode(data), gen.decode(clean.data)
    assert gen.frame_count(out) == 4 and out.info["loop"] == 0
    for index in range(4):
        src.seek(index)
        out.seek(index)
        assert out.info["duration"] == src.info["duration"]
        assert out.convert("RGB").tobytes() == src.convert("RGB").tobytes()


def test_animated_gif_with_transparency_keeps_each_frame_intact() -> None:
    frames = [Image.new("RGBA", (20, 20), (0, 0, 0, 0)) for _ in range(3)]
    for index, frame in enumerate(frames):
        frame.paste((255, 0, 0, 255), (index * 5, 0, index * 5 + 5, 5))
    data = gen.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], disposal=2)
    out = gen.decode(clean_image(data, LIMITS).data)
    for index, frame in enumerate(frames):
        out.seek(index)
        assert out.convert("RGBA").getchannel("A").tobytes() == frame.getchannel("A").tobytes()


def test_gif_without_a_loop_count_still_plays_once() -> None:
    frames = [Image.new("RGB", (10, 10), (index * 80, 0, 0)) for index in range(3)]
    data = gen.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80)
    assert "loop" not in gen.decode(clean_image(data, LIMITS).data).info


def test_animated_png_stays_animated() -> None:
    data = gen.animation("PNG", 3, (20, 10), durations=[100, 200, 300])
    clean = clean_image(data, LIMITS)
    assert (clean.format, clean.frames) == (ImageFormat.PNG, 3)
    assert gen.frame_count(gen.decode(clean.data)) == 3


def test_static_gif_stays_a_single_frame_gif() -> None:
    clean = clean_image(gen.encode(gen.marked(), "GIF"), LIMITS)
    assert (clean.format, clean.frames) == (ImageFormat.GIF, 1)


def test_animated_webp_stays_animated() -> None:
    data = gen.animation("WEBP", 3, (30, 20), durations=[100, 150, 200])
    clean = clean_image(data, LIMITS)
    out = gen.decode(clean.data)
    assert (clean.format, clean.frames, gen.frame_count(out)) == (ImageFormat.WEBP, 3, 3)
    durations = []
    for index in range(3):
        out.seek(index)
        out.load()
        durations.append(out.info["duration"])
    assert durations == [100, 150, 200]


def test_static_webp_with_alpha_stays_webp_with_alpha() -> None:
    img = gen.marked().convert("RGBA")
    img.putpixel((79, 39), (0, 0, 0, 0))
    clean = clean_image(gen.encode(img, "WEBP", lossless=True), LIMITS)
    out = gen.decode(clean.data)
    assert (clean.format, clean.frames, out.mode) == (ImageFormat.WEBP, 1, "RGBA")


def test_a_gif_whose_frames_colour_table_runs_past_the_end_is_refused() -> None:
    # Found by mutation: the frame's local table (64 colours declared) ran past the end. The
    # frame was checked as a GIF of its own with the short table as a global one (whose size
    # field said 32 colours, so Pillow read the rest as blocks, and decoded), then written as
    # a local table: the upload was accepted and the stored GIF no longer decoded.
    data = (Path(__file__).parent / "data" / "gif_local_table_cut.gif").read_bytes()

    with pytest.raises(ProblemError) as refused:
        clean_image(data, LIMITS)
    assert refused.value.status < 500


# --- nothing but typed errors, whatever the bytes ----------------------------------------

SAMPLES = gen.samples()
# Small enough that a mutated header cannot make a single example slow.
FUZZ_LIMITS = ImageLimits(max_pixels=4_000_000, max_total_pixels=20_000_000)


def test_every_fuzz_sample_is_clean_to_start_with() -> None:
    for data in SAMPLES.values():
        clean_image(data, FUZZ_LIMITS)


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 4))):
        # Past the magic bytes mostly: the random-bytes test covers those.
        at = draw(st.integers(min(12, len(data) - 1), len(data) - 1))
        action = draw(st.sampled_from(["flip", "truncate", "insert"]))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "truncate":
            del data[max(at, 1) :]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def _only_problems(data: bytes) -> None:
    try:
        clean = clean_image(data, FUZZ_LIMITS)
    except ProblemError:
        return
    # Whatever passes stays within the caps that bound the memory a decode may take.
    pixels = clean.width * clean.height
    assert pixels <= FUZZ_LIMITS.max_pixels
    assert pixels * clean.frames <= FUZZ_LIMITS.max_total_pixels
    assert clean.frames <= FUZZ_LIMITS.max_frames


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # corrupt EXIF, dropped
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_images())
def test_mutated_images_raise_nothing_but_problem_errors(data: bytes) -> None:
    _only_problems(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=512),
        st.sampled_from(
            [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP"]
        ).flatmap(lambda magic: st.binary(max_size=512).map(lambda rest: magic + rest)),
    )
)
def test_random_bytes_raise_nothing_but_problem_errors(data: bytes) -> None:
    _only_problems(data)


# --- hostile inputs: work bounded by what the file weighs (issue 11) -----------------------


def test_2339_byte_gif_of_100_frames_on_a_1000_canvas_is_image_too_large_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.gif_sparse(100, 1000)
    assert len(data) == 2339
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match="100 frames"):
        clean_image(data, LIMITS)


def test_136_byte_webp_of_two_7000_frames_is_image_too_large_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.webp_solid(7000, 7000, 2)
    assert len(data) < 140
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        clean_image(data, LIMITS)


def test_webp_pixels_count_two_and_a_half_against_the_pixel_limit() -> None:
    limits = ImageLimits(max_pixels=1_000_000)
    with pytest.raises(ImageTooLarge, match="counting 2.5"):
        clean_image(gen.webp_solid(700, 700), limits)  # 490,000 pixels
    assert clean_image(gen.webp_solid(600, 600), limits).width == 600
    assert clean_image(gen.encode(gen.photo(700, 700), "PNG"), limits).width == 700


def test_16_bit_png_pixels_count_double_against_the_pixel_limit() -> None:
    limits = ImageLimits(max_pixels=1_000_000)
    with pytest.raises(ImageTooLarge, match="counting 2"):
        clean_image(gen.png_zeros(800, 800, depth=16), limits)
    assert clean_image(gen.png_zeros(800, 800), limits).width == 800


def test_an_animations_canvas_is_held_to_the_animation_frame_limit() -> None:
    limits = ImageLimits(max_animation_frame_pixels=30_000)
    with pytest.raises(ImageTooLarge, match="a frame"):
        clean_image(gen.animation("GIF", 2, (200, 200)), limits)
    with pytest.raises(ImageTooLarge, match="a frame"):
        clean_image(gen.webp_solid(120, 120, 2), limits)  # 14,400 pixels, counting 2.5
    assert clean_image(gen.encode(gen.photo(200, 200), "GIF"), limits).frames == 1


def test_png_below_deflates_floor_is_image_truncated_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.png_header_only(4000, 3000)  # 36 MB of rows in a few bytes of zlib
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTruncated, match="at least 34"):
        clean_image(data, LIMITS)


def test_png_at_deflates_best_ratio_is_accepted() -> None:
    data = gen.png_zeros(2000, 2000)  # zlib's level 9 on zeros: about 1030:1
    assert clean_image(data, LIMITS).width == 2000


def test_apng_frame_below_deflates_floor_is_image_truncated() -> None:
    data = bytearray(gen.apng_frames(3, 600, whole=True))
    # The last frame keeps its header but loses its pixels: an empty zlib stream.
    at = data.rindex(b"fdAT") - 4
    empty = zlib.compress(b"")
    body = bytes(data[at + 8 : at + 12]) + empty
    chunk = struct.pack(">I", len(body)) + b"fdAT" + body
    chunk += struct.pack(">I", zlib.crc32(b"fdAT" + body))
    end = at + 12 + struct.unpack(">I", data[at : at + 4])[0]
    data[at:end] = chunk
    with pytest.raises(ImageTruncated, match="PNG frame 2"):
        clean_image(bytes(data), LIMITS)


def test_png_whose_zlib_stream_ends_before_its_last_row_is_image_corrupt() -> None:
    data = gen.png_rows_cut(400, 600, rows=10)
    with pytest.raises(ImageCorrupt, match="before its last row"):
        clean_image(data, LIMITS)
    assert clean_image(gen.png_rows_cut(400, 600, rows=600), LIMITS).height == 600


def test_png_still_is_inflated_once_and_stored_stripped_without_a_pillow_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """check_png inflates every row (zlib's checksum too) and checks its filter type: all a
    decode of a non-interlaced still would check, so Pillow does not decode it again."""
    img = gen.photo(120, 80)
    text = gen.png_chunk(b"tEXt", b"Comment\x00my home address")
    data = gen.png_of_rows(img, filters={3: 4, 9: 1}, after=text)
    _forbid_decoding(monkeypatch)

    clean = clean_image(data, LIMITS)

    monkeypatch.undo()
    assert not clean.reencoded and b"my home address" not in clean.data
    assert gen.decode(clean.data).tobytes() == gen.decode(data).tobytes()


@pytest.mark.parametrize("kind", [5, 255])
def test_png_row_with_a_filter_type_png_does_not_have_is_image_corrupt(kind: int) -> None:
    """Pillow's decoder takes it (as if None); browsers refuse the picture."""
    data = gen.png_of_rows(gen.photo(64, 48), filters={20: kind})
    with pytest.raises(ImageCorrupt, match=f"filter type {kind}"):
        clean_image(data, LIMITS)


def test_apng_whose_first_frame_is_not_the_whole_canvas_is_image_corrupt() -> None:
    """Its IDAT is the first frame, so APNG requires that frame to be the canvas: Pillow took
    one of half the width and the file was stored as sent; Chromium refuses to show it."""
    assert clean_image(gen.apng_frames(3, 100, whole=True, first=100), LIMITS).frames == 3
    with pytest.raises(ImageCorrupt, match="first frame"):
        clean_image(gen.apng_frames(3, 100, whole=True, first=50), LIMITS)


@pytest.mark.parametrize("ops", [(3, 0), (7, 0), (0, 2), (0, 9)])
def test_apng_frame_of_a_dispose_or_blend_op_apng_does_not_have_is_image_corrupt(
    ops: tuple[int, int],
) -> None:
    """Pillow took them and animated every frame; Chromium stops the animation at the first
    such frame, so the stored picture and its animated variant showed different clips."""
    assert clean_image(gen.apng_frames(3, 100, whole=True, ops=(2, 1)), LIMITS).frames == 3
    with pytest.raises(ImageCorrupt, match="dispose op"):
        clean_image(gen.apng_frames(3, 100, whole=True, ops=ops), LIMITS)


def test_png_of_a_compression_method_png_does_not_have_is_image_corrupt() -> None:
    """Pillow ignores IHDR's compression method and the file was stored as sent; libpng
    ("Unknown compression method in IHDR") and Chromium refuse to show it."""
    with pytest.raises(ImageCorrupt, match="compression method 1"):
        clean_image(gen.png_of_rows(gen.photo(64, 48), compression=1), LIMITS)


@pytest.mark.parametrize("after_pixels", [False, True], ids=["no-PLTE", "PLTE-after-IDAT"])
def test_palette_png_without_a_palette_before_its_pixels_is_image_corrupt(
    after_pixels: bool,
) -> None:
    """Pillow decodes it without a palette and it was stored as sent; libpng refuses it,
    Chromium paints it transparent, and the thumbnails function failed on it
    (has_transparency_data asserts a palette)."""
    with pytest.raises(ImageCorrupt, match="palette"):
        clean_image(gen.png_palette_misplaced(after_pixels=after_pixels), LIMITS)


def test_png_whose_idat_run_is_broken_by_another_chunk_is_still_refused() -> None:
    """Pillow reads the pixels up to the first chunk that is not IDAT: its decode, not the
    inflate of every IDAT joined, decides such a file (as it did before)."""
    text = gen.png_chunk(b"tEXt", b"a\x00b")
    with pytest.raises(ImageCorrupt):
        clean_image(gen.png_of_rows(gen.photo(64, 48), split=text), LIMITS)


@pytest.mark.parametrize(
    "late",
    [
        gen.png_chunk(b"eXIf", gen.exif_bytes(6)[6:]),
        gen.png_chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta><rdf:Description "
            b'tiff:Orientation="6"/></x:xmpmeta>',
        ),
    ],
    ids=["eXIf", "XMP"],
)
def test_png_orientation_behind_the_pixels_still_turns_it(late: bytes) -> None:
    """An orientation in a chunk after the IDAT reaches Pillow only through a decode: the
    upload is decoded for it, turned upright and re-encoded without the chunk."""
    data = gen.png_of_rows(gen.marked(80, 40), after=late)
    clean = clean_image(data, LIMITS)
    assert clean.reencoded and (clean.width, clean.height) == (40, 80)
    assert_no_metadata(clean.data)


def test_jpeg_at_its_floor_is_accepted_and_cut_below_it_is_image_truncated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gen.jpeg_at_floor(640, 480)  # 2 bits for each 8x8 block
    assert clean_image(data, LIMITS).width == 640
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTruncated, match="JPEG scan data"):
        clean_image(gen.jpeg_cut(data, 0.6), LIMITS)


@pytest.mark.parametrize("options", [{}, {"subsampling": 0}, {"restart_marker_blocks": 4}])
def test_jpeg_cut_in_half_with_its_end_marker_put_back_is_image_corrupt(
    options: dict[str, int],
) -> None:
    data = gen.encode(gen.photo(400, 300), "JPEG", quality=90, **options)
    with pytest.raises(ImageCorrupt):
        clean_image(gen.jpeg_cut(data), LIMITS)
    with pytest.raises(ImageCorrupt):
        clean_image(gen.jpeg_cut(data, 0.97), LIMITS)


@pytest.mark.parametrize(
    ("size", "quality", "cut"), [((64, 48), 75, 30), ((64, 48), 75, 64), ((400, 300), 90, 12)]
)
@pytest.mark.parametrize("end", [b"", b"\xff\xd9"], ids=["no-EOI", "EOI"])
def test_jpeg_missing_the_last_bytes_of_its_scan_is_image_corrupt(
    size: tuple[int, int], quality: int, cut: int, end: bytes
) -> None:
    """libjpeg decodes the zeros behind a scan as data when the scan is short: padded with 64
    for its lookahead, these were accepted, their last blocks made of zeros; padded with the
    8 its lookahead reads at most, the decoder runs out of data."""
    data = gen.encode(gen.photo(*size), "JPEG", quality=quality, optimize=True)
    assert data.endswith(b"\xff\xd9")
    with pytest.raises(ImageCorrupt):
        clean_image(data[: -2 - cut] + end, LIMITS)


@pytest.mark.parametrize("size", [(1, 1), (7, 9), (16, 16), (1001, 777), (64, 2000)])
@pytest.mark.parametrize(
    "options",
    [
        {"quality": 5},
        {"quality": 95, "subsampling": 0},
        {"quality": 75, "optimize": True},
        {"quality": 90, "restart_marker_rows": 1},
    ],
)
def test_whole_baseline_jpeg_decodes_to_the_same_pixels_without_its_end_marker(
    size: tuple[int, int], options: dict[str, int]
) -> None:
    data = gen.encode(gen.photo(*size), "JPEG", **options)
    layout = jpegscan.layout_of(data, LIMITS.max_blocks)
    assert len(layout.scans) == 1
    trimmed = jpegscan.for_decoding(data, layout)
    assert b"\xff\xd9" not in trimmed[-80:]
    assert gen.decode(trimmed).tobytes() == gen.decode(data).tobytes()


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("options", [{}, {"subsampling": 0}, {"optimize": True}])
def test_whole_progressive_jpeg_is_accepted(mode: str, options: dict[str, int]) -> None:
    data = gen.encode(gen.photo(400, 300).convert(mode), "JPEG", progressive=True, **options)
    assert len(jpegscan.layout_of(data, LIMITS.max_blocks).scans) > 1
    assert clean_image(data, LIMITS).width == 400


@pytest.mark.parametrize(
    ("mode", "keep"), [("RGB", 0.3), ("RGB", 0.5), ("RGB", 0.8), ("L", 0.3), ("L", 0.5)]
)
def test_progressive_jpeg_cut_with_its_end_marker_put_back_is_image_corrupt(
    mode: str, keep: float
) -> None:
    """libjpeg reads every scan to the EOI before the first row and Pillow drops its warnings,
    so such a JPEG decoded, the scans after the cut missing (blurred or grey), and was stored.
    The scans that are left no longer code every coefficient to its last bit. (A cut inside
    the last scan still passes: docs/DESIGN.md.)"""
    data = gen.encode(gen.photo(400, 300).convert(mode), "JPEG", progressive=True, quality=90)
    with pytest.raises(ImageCorrupt, match="scans"):
        clean_image(gen.jpeg_cut(data, keep), LIMITS)


@pytest.mark.parametrize("refine", [True, False], ids=["refinement", "first"])
def test_jpeg_of_more_scans_than_any_encoder_writes_is_image_too_complex(
    monkeypatch: pytest.MonkeyPatch, refine: bool
) -> None:
    """Each scan of end-of-band runs is a few bytes that cost libjpeg a pass over every block:
    2,000 of them (52 KB) took 5 s of CPU to decode, past any budget, which is checked only
    between frames. Refused from the markers, before decoding."""
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooComplex, match="scans"):
        clean_image(gen.jpeg_eob_scans(2000, refine=refine), LIMITS)


def test_jpeg_with_as_many_scans_as_allowed_is_accepted() -> None:
    own = len(jpegscan.layout_of(gen.jpeg_eob_scans(0), LIMITS.max_blocks).scans)
    data = gen.jpeg_eob_scans(jpegscan.MAX_SCANS - own)
    assert len(jpegscan.layout_of(data, LIMITS.max_blocks).scans) == jpegscan.MAX_SCANS
    assert clean_image(data, LIMITS).width == 2048


# jpegtran -arithmetic of a 96x64 photo (714 bytes): no tool here writes arithmetic coding.
ARITHMETIC_JPEG = (Path(__file__).parent / "data" / "jpeg_arithmetic.jpg").read_bytes()


def _arithmetic(kept: float = 1.0, size: tuple[int, int] | None = None) -> bytes:
    """ARITHMETIC_JPEG with kept of its scan and an EOI behind it, its frame size replaced."""
    data = bytearray(ARITHMETIC_JPEG)
    if size is not None:
        at = data.index(b"\xff\xc9") + 5
        data[at : at + 4] = struct.pack(">HH", size[1], size[0])
    ((start, end),) = jpegscan.layout_of(bytes(data), LIMITS.max_blocks).scans
    return bytes(data[: start + int((end - start) * kept)]) + b"\xff\xd9"


@pytest.mark.parametrize(
    ("kept", "size"),
    [(1.0, None), (0.5, None), (0.1, None), (0.0, (7000, 7000))],
    ids=["whole", "half-cut", "tenth", "49-mp-in-600-bytes"],
)
def test_arithmetic_coded_jpeg_is_unsupported_media_type(
    monkeypatch: pytest.MonkeyPatch, kept: float, size: tuple[int, int] | None
) -> None:
    """libjpeg supplies zeros past a marker in an arithmetic scan (the format's own convention),
    so a cut one decodes whole, grey where it was cut, and was stored; it has no byte floor
    (600 bytes declared 49 MP and were accepted); and Pillow, feeding libjpeg 64 KB at a time,
    refused whole ones of more than that as corrupt (the arithmetic decoder cannot suspend).
    Refused from the frame marker, before decoding."""
    _forbid_decoding(monkeypatch)
    with pytest.raises(UnsupportedMediaType, match="arithmetic"):
        clean_image(_arithmetic(kept, size), LIMITS)


@pytest.mark.parametrize(("frames", "declared"), [(5, 2), (500, 2), (5, 4)])
def test_apng_of_more_frames_than_its_actl_declares_is_image_corrupt(
    frames: int, declared: int
) -> None:
    """Pillow and Chromium show the frames acTL declares and skip the rest: those were stored
    as sent, never decoded, past the frame cap (500 for 2 counted), bytes of anyone's choice in
    a picture whose metadata is gone. APNG calls a count that is not the frames' an error."""
    assert clean_image(gen.apng_frames(5, 64, whole=True), LIMITS).frames == 5
    with pytest.raises(ImageCorrupt, match="acTL"):
        clean_image(gen.apng_frames(frames, 64, whole=True, declared=declared), LIMITS)


@pytest.mark.parametrize("code_size", [0, 1, 9, 12])
def test_gif_frame_of_an_lzw_code_size_gif_does_not_have_is_image_corrupt(code_size: int) -> None:
    """Pillow decodes LZW that starts at 0 to 12 bits, so these were stored; GIF has 2 to 8,
    and Chromium decodes no other."""
    assert clean_image(gen.gif_lzw(2), LIMITS).width == 8
    assert clean_image(gen.gif_lzw(8), LIMITS).width == 8
    with pytest.raises(ImageCorrupt, match=f"code size is {code_size};"):
        clean_image(gen.gif_lzw(code_size), LIMITS)


def test_gif_frame_below_lzws_floor_is_image_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(gen.gif_sparse(1, 1000))
    at = data.index(b"\x2c")
    data[at + 5 : at + 9] = struct.pack("<HH", 1000, 1000)  # one pixel's data for a million
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTruncated, match="GIF frame 0"):
        clean_image(bytes(data), LIMITS)


def _gif_with_second_frame(change: Callable[[gif.Frame], tuple[bytes, bytes]]) -> bytes:
    """A 3-frame GIF whose second frame's bytes change(frame) names are replaced (their
    second occurrence where every frame has them)."""
    frames = [gen.photo(90, 40).crop((index * 15, 0, index * 15 + 60, 40)) for index in range(3)]
    data = gen.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], optimize=False)
    was, now = change(gif.parse(data, 3).frames[1])
    at = data.index(was, data.index(was) + 1) if data.count(was) == 3 else data.index(was)
    return data[:at] + now + data[at + len(was) :]


def _cut_lzw(frame: gif.Frame) -> tuple[bytes, bytes]:
    return frame.blocks, frame.blocks[: len(frame.blocks) // 2] + b"\0"


def _garbled_lzw(frame: gif.Frame) -> tuple[bytes, bytes]:
    middle = len(frame.blocks) // 2
    return frame.blocks, frame.blocks[:middle] + b"\xff" * 8 + frame.blocks[middle + 8 :]


def _no_width(frame: gif.Frame) -> tuple[bytes, bytes]:
    place = struct.pack("<HHHH", frame.left, frame.top, frame.width, frame.height)
    return b"," + place, b"," + struct.pack("<HHHH", frame.left, frame.top, 0, frame.height)


@pytest.mark.parametrize("change", [_cut_lzw, _garbled_lzw, _no_width])
def test_gif_frame_whose_pixels_do_not_decode_is_image_corrupt(
    change: Callable[[gif.Frame], tuple[bytes, bytes]],
) -> None:
    """Each frame's LZW data is decoded to its last pixel (Pillow's GIF decoder, fed the
    frame's own sub-blocks), whichever frame it is."""
    with pytest.raises(ImageCorrupt):
        clean_image(_gif_with_second_frame(change), LIMITS)


def test_lossy_webp_below_its_floor_is_image_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(gen.encode(gen.photo(64, 48), "WEBP", quality=50))
    at = data.index(b"VP8 ") + 8
    data[at + 6 : at + 10] = struct.pack("<HH", 4000, 4000)
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTruncated, match="WebP frame 0"):
        clean_image(bytes(data), LIMITS)


def test_lossless_webp_has_no_floor_one_colour_costs_no_bits() -> None:
    data = gen.webp_solid(1000, 1000)
    assert len(data) < 40
    out = gen.decode(clean_image(data, LIMITS).data).convert("RGB")
    assert out.size == (1000, 1000) and gen.pixel(out, (999, 999))[0] > 190


def test_past_the_cpu_budget_is_image_too_complex() -> None:
    data = gen.animation("WEBP", 3, (64, 64))
    with pytest.raises(ImageTooComplex):
        clean_image(data, ImageLimits(cpu_seconds=1e-9))
    assert clean_image(data, LIMITS).frames == 3


def test_the_budget_counts_cpu_from_its_start() -> None:
    now = [10.0]
    budget = Budget(1.5, clock=lambda: now[0])
    now[0] = 11.5
    budget.check()
    now[0] = 11.6
    with pytest.raises(ImageTooComplex, match="1.5 s"):
        budget.check()


def test_a_saver_asks_for_frames_one_at_a_time_and_none_pile_up() -> None:
    made: list[weakref.ref[Image.Image]] = []
    alive_at_each: list[int] = []

    def make(index: int) -> Image.Image:
        alive_at_each.append(sum(ref() is not None for ref in made))
        frame = Image.new("RGB", (32, 32), (index * 20, 0, 0))
        made.append(weakref.ref(frame))
        return frame

    frames = Frames(10, make, Budget(60))
    assert len(made) == 1  # nothing decoded ahead of the saver
    buffer = io.BytesIO()
    frames.save(buffer, "WEBP", save_all=True, duration=50)
    assert gen.frame_count(gen.decode(buffer.getvalue())) == 10
    assert len(made) == 10
    assert max(alive_at_each) <= 1  # the first frame, kept for the end


def _turning_clear(fmt: str, **options: Any) -> bytes:
    """Red frames whose middle, then whole, turns transparent: no frame is the last plus more."""
    frames = [Image.new("RGBA", (20, 20), (255, 0, 0, 255)) for _ in range(3)]
    frames[1].paste((0, 0, 0, 0), (5, 5, 15, 15))
    frames[2].paste((0, 0, 0, 0), (0, 0, 20, 20))
    return gen.encode(frames[0], fmt, save_all=True, append_images=frames[1:], **options)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(gen.gif_sparse(100, 300), id="gif-1x1-frames"),
        pytest.param(gen.animation("GIF", 5, (60, 40), optimize=False), id="gif-flat-frames"),
        pytest.param(gen.apng_frames(20, 200), id="apng-1px-frames"),
        pytest.param(gen.apng_frames(20, 200, whole=True), id="apng-whole-frames"),
        pytest.param(gen.webp_solid(200, 150, 5), id="webp-frames"),
        pytest.param(_turning_clear("PNG"), id="apng-turning-transparent"),
        pytest.param(_turning_clear("WEBP", lossless=True), id="webp-turning-transparent"),
    ],
)
def test_animation_reencoded_a_frame_at_a_time_shows_every_frame_as_before(data: bytes) -> None:
    clean = clean_image(data, LIMITS)
    src, out = gen.decode(data), gen.decode(clean.data)
    assert gen.frame_count(out) == gen.frame_count(src) == clean.frames
    tolerance = 6 if clean.format is ImageFormat.WEBP else 0  # lossy, a little
    beyond = [255 if value > tolerance else 0 for value in range(256)] * 4
    for index in range(clean.frames):
        src.seek(index)
        out.seek(index)
        diff = ImageChops.difference(out.convert("RGBA"), src.convert("RGBA"))
        assert diff.point(beyond).getbbox() is None, index
        assert out.info.get("duration") == src.info.get("duration")


def test_gif_with_palettes_of_its_own_transparency_and_disposal_plays_as_before() -> None:
    frames = []
    for index in range(4):
        frame = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
        ImageDraw.Draw(frame).ellipse((index * 5, 3, index * 5 + 14, 20), fill=(200, index * 60, 9))
        frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    data = gen.encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        disposal=[2, 3, 1, 2],
        transparency=0,
        duration=[10, 20, 30, 40],
        interlace=True,
        loop=3,
    )
    clean = clean_image(data, LIMITS)
    src, out = gen.decode(data), gen.decode(clean.data)
    assert out.info["loop"] == 3
    for index in range(4):
        src.seek(index)
        out.seek(index)
        assert out.convert("RGBA").tobytes() == src.convert("RGBA").tobytes(), index


def test_gif_keeps_nothing_but_pixels_timing_and_loop() -> None:
    data = bytearray(gen.animation("GIF", 2, (20, 20), comment=b"my home address"))
    xmp = b"\x21\xff\x0bXMP DataXMP" + b"\x0fsecret-location" + b"\x00"
    data[13 + 3 * 256 : 13 + 3 * 256] = xmp
    clean = clean_image(bytes(data), LIMITS)
    assert b"home address" not in clean.data and b"secret" not in clean.data
    assert clean.frames == 2


# --- each limit at its edge, and what each refusal says ----------------------------------

WIDE_PNG = gen.encode(gen.marked(20, 10), "PNG")  # 200 pixels, 8-bit RGB: a weight of 1


def test_each_refusal_before_decoding_says_why() -> None:
    jpeg_png = ImageLimits(allowed_formats=frozenset({ImageFormat.JPEG, ImageFormat.PNG}))
    gif_header_only = b"GIF89a" + struct.pack("<HHBBB", 8, 8, 0, 0, 0) + b";"
    refusals: list[tuple[bytes, ImageLimits, str]] = [
        (b"", LIMITS, "The uploaded file has no content."),
        (b"x" * 11, ImageLimits(max_bytes=10), "The file is 11 bytes; the limit is 10 bytes."),
        (b"hello", jpeg_png, "The file is not an accepted image format (JPEG, PNG)."),
        (gif_header_only, LIMITS, "The file has a GIF header but no GIF image."),
    ]
    for data, limits, detail in refusals:
        with pytest.raises(ProblemError) as refused:
            clean_image(data, limits)
        assert refused.value.detail == detail


def test_a_file_of_exactly_the_byte_limit_is_taken() -> None:
    assert clean_image(WIDE_PNG, ImageLimits(max_bytes=len(WIDE_PNG))).width == 20


def test_the_pixel_limit_counts_width_times_height_and_takes_exactly_the_limit() -> None:
    assert clean_image(WIDE_PNG, ImageLimits(max_pixels=200)).height == 10
    with pytest.raises(ImageTooLarge) as refused:
        clean_image(WIDE_PNG, ImageLimits(max_pixels=150))
    assert refused.value.detail == "The image is 20x10 (200 pixels); the limit is 150 pixels."


def test_an_animation_frame_of_exactly_the_frame_limit_is_taken() -> None:
    data = gen.animation("GIF", 2, (20, 10))
    assert clean_image(data, ImageLimits(max_animation_frame_pixels=200)).frames == 2
    with pytest.raises(ImageTooLarge, match="frames are 20x10 .200 pixels.; the limit is 199"):
        clean_image(data, ImageLimits(max_animation_frame_pixels=199))


def test_a_webp_pixel_weighs_more_against_the_animation_total_and_says_so() -> None:
    data = gen.animation("WEBP", 2, (10, 10), lossless=True)
    assert clean_image(data, ImageLimits(max_total_pixels=500)).frames == 2
    with pytest.raises(ImageTooLarge) as refused:
        clean_image(data, ImageLimits(max_total_pixels=499))
    assert refused.value.detail == (
        "The animation has 2 frames of 100 pixels; the limit is 499 pixels in all, "
        "each counting 2.5 for this format."
    )


def test_an_image_under_the_minimum_says_its_size_and_the_minimum() -> None:
    with pytest.raises(ImageTooSmall) as refused:
        clean_image(WIDE_PNG, ImageLimits(min_width=30, min_height=5))
    assert refused.value.detail == "The image is 20x10; the minimum is 30x5."


def test_an_mpo_stereo_pair_is_one_jpeg_picture_not_an_animation() -> None:
    left, right = gen.photo(40, 30), gen.photo(40, 30).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = io.BytesIO()
    left.save(out, "MPO", save_all=True, append_images=[right])
    assert Image.open(io.BytesIO(out.getvalue())).n_frames == 2  # type: ignore[attr-defined]

    clean = clean_image(out.getvalue(), ImageLimits(max_animation_frame_pixels=1))

    assert (clean.format, clean.frames) == (ImageFormat.JPEG, 1)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_a_file_of_more_blocks_than_any_encoder_writes_is_image_too_complex_before_pillow(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """5 MB of empty chunks, comments or extensions cost Pillow's and our parsers 1.8-2.9 s of
    CPU walking them: counted, up to the cap, before either walks them all."""
    limits = ImageLimits(max_blocks=50)
    assert clean_image(gen.block_spam(fmt, 40), limits).format.pillow_name == fmt

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("refused before Pillow reads the file")

    monkeypatch.setattr(Image, "open", no_open)
    with pytest.raises(ImageTooComplex, match="no encoder writes that many"):
        clean_image(gen.block_spam(fmt, 60), limits)


def test_a_file_of_exactly_the_block_cap_is_taken_and_one_more_says_the_cap() -> None:
    data = gen.block_spam("PNG", 40)
    blocks = containers.chunk_count(data, webp=False, cap=1000)  # and IHDR, IDAT, IEND

    assert clean_image(data, ImageLimits(max_blocks=blocks)).format is ImageFormat.PNG
    with pytest.raises(ImageTooComplex) as refused:
        clean_image(data, ImageLimits(max_blocks=blocks - 1))
    assert refused.value.detail == (
        f"The file has more than {blocks - 1} chunks, marker segments or blocks; no encoder "
        "writes that many."
    )


def test_the_default_cap_refuses_five_megabytes_of_empty_chunks() -> None:
    data = gen.block_spam("PNG", 400_000)
    assert len(data) <= LIMITS.max_bytes
    with pytest.raises(ImageTooComplex):
        clean_image(data, LIMITS)


def test_a_gif_framed_in_tiny_sub_blocks_is_image_too_complex_and_a_legal_framing_is_not() -> None:
    """Sub-blocks of 1 byte are legal, and each cost the block reader a step: 4.6 MB of them
    took 388 ms of CPU where the same pixels in full sub-blocks took 16. Those under 128 bytes
    count as blocks; full ones are read a run at a time."""
    limits = ImageLimits(max_blocks=50)
    small = gen.gif_fragmented(1, size=64)
    assert len(small) > 4_000  # thousands of 1-byte sub-blocks

    with pytest.raises(ImageTooComplex, match="no encoder writes that many"):
        clean_image(small, limits)
    for framing in (255, 200, 128):  # no short sub-blocks but the last: accepted as sent
        data = gen.gif_fragmented(framing, size=64)
        cleaned = clean_image(data, limits)
        with Image.open(io.BytesIO(cleaned.data)) as stored, Image.open(io.BytesIO(data)) as sent:
            assert stored.tobytes() == sent.tobytes()
