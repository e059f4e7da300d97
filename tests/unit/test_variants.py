"""Square variants: sizes, formats, centre crop, exact sizes, modes, animation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image, ImageFile
from profilepics import gif
from profilepics import variants as pipeline
from profilepics.config import Settings
from profilepics.errors import ImageTooComplex, ImageTooLarge
from profilepics.formats import Encoding, ImageFormat, Variant
from profilepics.images import ImageLimits, clean_image
from profilepics.variants import make_animated_variant, make_squares, make_variants

from bench.naive import make_naive_variants
from tests.unit import imagegen as gen

SIZES = (512, 256, 128, 64)
LIMITS = ImageLimits()
ENCODINGS = Settings().encodings


def webp(data: bytes) -> Image.Image:
    img = gen.decode(data)
    assert img.format == "WEBP"
    return img


@pytest.fixture(scope="module")
def twelve_megapixel_jpeg() -> bytes:
    return gen.encode(gen.photo(4000, 3000), "JPEG", quality=90)


def test_four_sizes_from_a_12_megapixel_jpeg_are_square_webp_of_exact_size(
    twelve_megapixel_jpeg: bytes,
) -> None:
    variants = make_variants(twelve_megapixel_jpeg, SIZES, limits=LIMITS)
    assert sorted(variants) == sorted(SIZES)
    for size, data in variants.items():
        assert webp(data).size == (size, size)


def test_naive_variants_have_the_same_sizes(twelve_megapixel_jpeg: bytes) -> None:
    variants = make_naive_variants(twelve_megapixel_jpeg, SIZES)
    assert {size: webp(data).size for size, data in variants.items()} == {
        size: (size, size) for size in SIZES
    }


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
def test_non_square_original_is_cropped_around_its_centre(fmt: str, portrait: bool) -> None:
    target = gen.centred_target(300, 100)
    if portrait:
        target = target.transpose(Image.Transpose.ROTATE_90)
    original = gen.encode(target, fmt, **({} if fmt == "GIF" else {"quality": 95}))
    for data in (
        make_variants(original, [64], limits=LIMITS)[64],
        make_naive_variants(original, [64])[64],
    ):
        out = webp(data).convert("RGB")
        assert out.size == (64, 64)
        red, white = gen.pixel(out, (32, 32)), gen.pixel(out, (2, 2))
        assert red[0] > 200 and red[1] < 80 and red[2] < 80
        assert min(white) > 200  # neither blue nor green: the side thirds are cut away
        assert min(gen.pixel(out, (61, 61))) > 200


def test_a_small_original_still_gives_exactly_the_sizes_asked_for() -> None:
    original = gen.encode(gen.photo(100, 80), "PNG")
    variants = make_variants(original, [512, 256, 80, 64], limits=LIMITS)
    assert {size: webp(data).size for size, data in variants.items()} == {
        size: (size, size) for size in (512, 256, 80, 64)
    }
    assert webp(make_naive_variants(original, [512])[512]).size == (512, 512)


@pytest.mark.parametrize(
    ("fmt", "pillow_name", "mode"),
    [
        (ImageFormat.WEBP, "WEBP", "RGB"),
        (ImageFormat.AVIF, "AVIF", "RGB"),
        (ImageFormat.JPEG, "JPEG", "RGB"),
        (ImageFormat.PNG, "PNG", "RGB"),
    ],
)
def test_each_format_decodes_as_what_it_claims_at_its_size(
    fmt: ImageFormat, pillow_name: str, mode: str
) -> None:
    original = gen.encode(gen.photo(300, 200), "JPEG", quality=95)
    made = make_squares(original, [100, 40], limits=LIMITS, encodings=[ENCODINGS[fmt]])
    assert sorted(made) == [Variant(40, fmt), Variant(100, fmt)]
    for variant, data in made.items():
        img = gen.decode(data)
        assert (img.format, img.size, img.mode) == (pillow_name, (variant.size,) * 2, mode)


def test_every_format_of_every_size_comes_from_one_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    original = gen.encode(gen.photo(300, 200), "PNG")
    opened: list[bytes] = []
    real_open = pipeline._open

    def counted(data: bytes) -> Image.Image:
        opened.append(data)
        return real_open(data)

    monkeypatch.setattr(pipeline, "_open", counted)

    made = make_squares(original, [64, 128], limits=LIMITS, encodings=list(ENCODINGS.values()))

    assert len(made) == 8 and len(opened) == 1


def test_jpeg_of_a_transparent_picture_is_on_white_not_black() -> None:
    img = Image.new("RGBA", (100, 100), (255, 0, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 50, 100))
    for mode_img in (img, img.convert("LA")):
        made = make_squares(
            gen.encode(mode_img, "PNG"),
            [32],
            limits=LIMITS,
            encodings=[ENCODINGS[ImageFormat.JPEG]],
        )
        out = gen.decode(made[Variant(32, ImageFormat.JPEG)]).convert("RGB")
        assert min(gen.pixel(out, (2, 16))) > 240  # the transparent half


def test_no_sizes_gives_no_variants() -> None:
    assert make_variants(gen.encode(gen.marked(), "PNG"), [], limits=LIMITS) == {}


def test_animated_gif_gives_static_variants() -> None:
    original = gen.animation("GIF", 4, (60, 40))
    for data in make_variants(original, [32, 16], limits=LIMITS).values():
        assert gen.frame_count(webp(data)) == 1


def test_animated_gif_gives_an_animated_webp_of_the_requested_size() -> None:
    original = gen.animation("GIF", 4, (60, 40), durations=[100, 200, 300, 400])
    out = webp(make_animated_variant(original, 32, limits=LIMITS) or b"")
    assert (out.size, gen.frame_count(out)) == ((32, 32), 4)
    durations = []
    for index in range(4):
        out.seek(index)
        out.load()
        durations.append(out.info["duration"])
    assert durations == [100, 200, 300, 400]


def test_animated_variant_keeps_at_most_max_frames_and_never_enlarges() -> None:
    original = gen.animation("WEBP", 6, (30, 20), durations=[100] * 6)
    out = webp(make_animated_variant(original, 128, limits=ImageLimits(max_frames=4)) or b"")
    assert (out.size, gen.frame_count(out)) == ((20, 20), 4)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_static_original_has_no_animated_variant(fmt: str) -> None:
    assert make_animated_variant(gen.encode(gen.marked(), fmt), 64, limits=LIMITS) is None


def test_cleaned_animated_original_round_trips_into_variants() -> None:
    clean = clean_image(gen.animation("GIF", 3, (50, 50), durations=[100] * 3), ImageLimits())
    assert webp(make_variants(clean.data, [32], limits=LIMITS)[32]).size == (32, 32)
    assert gen.frame_count(webp(make_animated_variant(clean.data, 32, limits=LIMITS) or b"")) == 3


def test_alpha_survives_into_the_variants() -> None:
    img = Image.new("RGBA", (100, 100), (255, 0, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 50, 100))
    for mode_img in (img, img.convert("LA")):
        data = gen.encode(mode_img, "PNG")
        out = webp(make_variants(data, [32], limits=LIMITS)[32])
        assert out.mode == "RGBA"
        assert gen.pixel(out, (2, 16))[3] == 0 and gen.pixel(out, (29, 16))[3] == 255


def test_palette_png_with_transparency_keeps_it() -> None:
    img = gen.marked(80, 80).convert("P")
    data = gen.encode(img, "PNG", transparency=img.getpixel((0, 0)))
    out = webp(make_variants(data, [40], limits=LIMITS)[40])
    assert out.mode == "RGBA"
    assert gen.pixel(out, (2, 2))[3] == 0 and gen.pixel(out, (38, 38))[3] == 255


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = gen.encode(Image.new("RGB", (64, 64), (200, 30, 30)).convert("CMYK"), "JPEG")
    out = webp(make_variants(data, [32], limits=LIMITS)[32])
    assert out.mode == "RGB"
    r, g, b = gen.pixel(out, (16, 16))
    assert r > 150 and g < 80 and b < 80


def test_16_bit_greyscale_png_is_scaled_not_clipped_to_white() -> None:
    data = gen.encode(Image.new("I;16", (64, 64), 32_768), "PNG")
    for variants in (make_variants(data, [32], limits=LIMITS), make_naive_variants(data, [32])):
        grey = webp(variants[32]).convert("L").getpixel((16, 16))
        assert isinstance(grey, int) and 110 < grey < 146


def test_rgb_icc_profile_is_kept_in_the_variants() -> None:
    icc = gen.srgb_icc()
    data = gen.encode(gen.photo(64, 64), "JPEG", icc_profile=icc)
    assert webp(make_variants(data, [32], limits=LIMITS)[32]).info.get("icc_profile") == icc


def _large_srgb_icc(size: int = 1_000_000) -> bytes:
    """sRGB's profile grown to size (its header says so), as lookup tables grow real ones."""
    icc = bytearray(gen.srgb_icc()) + bytes(size)
    icc[:4] = len(icc).to_bytes(4, "big")
    return bytes(icc)


@pytest.mark.parametrize("animated", [False, True], ids=["still", "animated"])
def test_a_large_icc_profile_is_not_copied_into_every_variant(animated: bool) -> None:
    """A 4 MB RGB profile went into each of the eight variants: a 64 px avatar of 4 MB, 32 MB
    stored for a 4 MB upload. Past the limit the variants are converted to sRGB instead and
    carry no profile: the same colours as with the profile, a few bytes each."""
    icc = _large_srgb_icc()
    if animated:
        frames = [gen.photo(64, 64), gen.photo(64, 64).transpose(Image.Transpose.ROTATE_90)]
        data = gen.encode(
            frames[0], "WEBP", save_all=True, append_images=frames[1:], icc_profile=icc
        )
        blobs = [make_animated_variant(data, 32, limits=LIMITS)]
    else:
        data = gen.encode(gen.photo(64, 64), "PNG", icc_profile=icc)
        made = make_squares(data, [64, 32], limits=LIMITS, encodings=list(ENCODINGS.values()))
        blobs = list(made.values())
    small = gen.encode(gen.photo(64, 64), "PNG", icc_profile=gen.srgb_icc())
    for blob in blobs:
        assert blob is not None and len(blob) < 50_000
        assert not gen.decode(blob).info.get("icc_profile")
    if not animated:
        lossless = Encoding(ImageFormat.PNG)
        same = make_variants(small, [64], limits=LIMITS, encoding=lossless)[64]
        converted = make_variants(data, [64], limits=LIMITS, encoding=lossless)[64]
        assert gen.decode(converted).tobytes() == gen.decode(same).tobytes()


def test_non_rgb_icc_profile_is_not_copied_onto_rgb_variants() -> None:
    grey_icc = bytearray(gen.srgb_icc())
    grey_icc[16:20] = b"GRAY"
    data = gen.encode(Image.new("L", (64, 64), 128), "PNG", icc_profile=bytes(grey_icc))
    assert "icc_profile" not in webp(make_variants(data, [32], limits=LIMITS)[32]).info
    # AVIF's and PNG's savers would take the profile from the resized image's info.
    made = make_squares(data, [32], limits=LIMITS, encodings=list(ENCODINGS.values()))
    for variant, blob in made.items():
        assert not gen.decode(blob).info.get("icc_profile"), variant


def test_original_past_the_limits_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = gen.webp_solid(7000, 7000, 2)

    def no_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the header alone must decide")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    with pytest.raises(ImageTooLarge):
        make_variants(original, SIZES, limits=LIMITS)
    with pytest.raises(ImageTooLarge):
        make_animated_variant(original, 256, limits=LIMITS)


def test_still_variants_of_a_long_animation_decode_its_first_frame_only() -> None:
    original = gen.animation("GIF", 40, (100, 100))
    limits = ImageLimits(max_total_pixels=100_000)  # 40 frames would not fit; one does
    assert webp(make_variants(original, [32], limits=limits)[32]).size == (32, 32)
    assert make_animated_variant(original, 32, limits=ImageLimits(max_frames=4)) is not None


def test_animated_variant_past_the_cpu_budget_is_image_too_complex() -> None:
    original = gen.animation("GIF", 4, (60, 40))
    with pytest.raises(ImageTooComplex):
        make_animated_variant(original, 32, limits=ImageLimits(cpu_seconds=1e-9))


# --- the animated variant: at most 10 frames a second, GIFs composited as browsers do ------


def _durations(img: Image.Image) -> list[int]:
    found = []
    for index in range(gen.frame_count(img)):
        img.seek(index)
        img.load()
        found.append(int(img.info["duration"]))
    return found


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_a_25_fps_animation_plays_at_10_fps_for_as_long(fmt: str) -> None:
    original = gen.animation(fmt, 6, (40, 40), durations=[40] * 6)
    out = webp(make_animated_variant(original, 32, limits=LIMITS) or b"")
    # Frames start at 0, 40, 80, 120, 160, 200 ms; one a tenth of a second: 0, 120, 200.
    assert _durations(out) == [120, 80, 40]
    src = gen.decode(original)
    for index, shown in zip(range(3), (0, 3, 5), strict=True):
        src.seek(shown)
        out.seek(index)
        expected = src.convert("RGB").resize((32, 32)).getpixel((16, 16))
        assert gen.pixel(out.convert("RGB"), (16, 16)) == pytest.approx(expected, abs=12)


def test_frames_of_10_ms_or_less_show_for_100_ms_as_in_browsers() -> None:
    original = gen.animation("GIF", 3, (40, 40), durations=[0, 10, 20])
    out = webp(make_animated_variant(original, 32, limits=LIMITS) or b"")
    assert _durations(out) == [100, 100, 20]


def test_a_loop_shorter_than_the_cap_keeps_every_frame() -> None:
    original = gen.animation("GIF", 2, (40, 40), durations=[30, 30])
    out = webp(make_animated_variant(original, 32, limits=LIMITS) or b"")
    assert _durations(out) == [30, 30]


def test_a_gif_frame_nobody_sees_is_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = gif._colours

    def counting(frame: gif.Frame, palette: bytes | None, mode: str) -> Image.Image:
        decoded.append(frame.delay)
        return real(frame, palette, mode)

    monkeypatch.setattr(gif, "_colours", counting)
    frames = [Image.new("P", (40, 40), index) for index in range(6)]
    for frame in frames:
        frame.putpalette([c for i in range(256) for c in (i, 255 - i, i // 2)])
    original = _gif(frames, duration=40, optimize=False)
    assert all(gif._covers(f, (40, 40)) for f in gif.parse(original, 10).frames)
    make_animated_variant(original, 32, limits=LIMITS)
    assert len(decoded) == 3


def _gif(frames: list[Image.Image], **options: object) -> bytes:
    return gen.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], **options)


def _placed(
    colour: tuple[int, int, int], box: tuple[int, int, int, int], disposal: int
) -> gif.Frame:
    """A one-colour frame of box's size, placed at box, with its own palette."""
    size = (box[2] - box[0], box[3] - box[1])
    alone = gif.parse(gen.encode(Image.new("RGB", size, colour).quantize(2), "GIF"), 1)
    frame = alone.frames[0]
    return replace(frame, left=box[0], top=box[1], disposal=disposal, palette=alone.palette)


def test_gif_frames_are_drawn_and_disposed_of_as_browsers_do() -> None:
    # Red kept; blue on the right half, cleared to transparent after it shows; green in a
    # corner, restored after it shows; then nothing but a blue dot.
    frames = [
        _placed(gen.RED, (0, 0, 8, 8), 1),
        _placed(gen.BLUE, (4, 0, 8, 8), 2),
        _placed(gen.GREEN, (0, 0, 2, 2), 3),
        _placed(gen.BLUE, (3, 3, 4, 4), 1),
    ]
    parsed = gif.Gif(8, 8, None, 0, 0, frames)
    shown = [c.copy() for c in gif.shown(parsed, [True] * 4, lambda: None)]
    clear = (0, 0, 0, 0)
    red, blue, green = (*gen.RED, 255), (*gen.BLUE, 255), (*gen.GREEN, 255)
    assert [shown[0].getpixel(xy) for xy in ((1, 1), (6, 6))] == [red, red]
    assert [shown[1].getpixel(xy) for xy in ((1, 1), (6, 6))] == [red, blue]
    assert [shown[2].getpixel(xy) for xy in ((1, 1), (2, 2), (6, 6))] == [green, red, clear]
    assert [shown[3].getpixel(xy) for xy in ((1, 1), (3, 3), (6, 6))] == [red, blue, clear]


def test_gif_composited_here_matches_pillows_frames_for_an_optimised_clip() -> None:
    frames = [gen.photo(48, 48).rotate(step * 20).quantize(64) for step in range(5)]
    data = _gif(frames, duration=100, loop=0)
    parsed = gif.parse(data, 10)
    assert any(f.transparent is not None or f.width < 48 for f in parsed.frames[1:])
    ours = [c.convert("RGB").tobytes() for c in gif.shown(parsed, [True] * 5, lambda: None)]
    pillows = gen.decode(data)
    for index, mine in enumerate(ours):
        pillows.seek(index)
        assert mine == pillows.convert("RGB").tobytes(), index
