"""clean_image and sniff: validation by content, limits, decoding, orientation, metadata."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, ImageOps
from PIL.PngImagePlugin import PngInfo
from profilepics.errors import (
    EmptyFile,
    FileTooLarge,
    ImageCorrupt,
    ImageTooLarge,
    ImageTooSmall,
    ProblemError,
    UnsupportedMediaType,
)
from profilepics.formats import ImageFormat, sniff
from profilepics.images import CleanImage, ImageLimits, clean_image

from tests.unit import imagegen as gen

LIMITS = ImageLimits()


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
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', id="svg"),
        pytest.param(b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n", id="pdf"),
        pytest.param(b"just some text, named picture.jpg", id="text"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), id="heic"),
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
    with pytest.raises(ImageTooLarge, match="frames"):
        clean_image(gen.animation("WEBP", 6, (8, 8)), ImageLimits(max_frames=5))


def test_animation_over_frames_times_pixels_cap_is_image_too_large() -> None:
    data = gen.animation("GIF", 3, (20, 20))
    with pytest.raises(ImageTooLarge):
        clean_image(data, ImageLimits(max_total_pixels=1_000))
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
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_images())
def test_mutated_images_raise_nothing_but_problem_errors(data: bytes) -> None:
    _only_problems(data)


@settings(max_examples=150, deadline=None)
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
