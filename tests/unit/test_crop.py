"""The crop: parsed and checked precisely, the default square, and variants made from it."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw
from profilepics import crop
from profilepics.errors import InvalidCrop
from profilepics.images import ImageLimits
from profilepics.models import Crop
from profilepics.variants import make_animated_variant, make_variants

from tests.unit import imagegen as gen


def test_a_query_crop_is_four_whole_numbers() -> None:
    assert crop.parse("10,20,300,300") == Crop(x=10, y=20, w=300, h=300)
    assert crop.parse(" 0,0,1,1 ") == Crop(x=0, y=0, w=1, h=1)


@pytest.mark.parametrize(
    "text",
    [
        *("", "1,2,3", "1,2,3,4,5", "a,b,c,d", "-1,0,10,10", "1.5,0,10,10", "1,2,3,1e9", "0,,1,1"),
        "\u0660,\u0660,\u0661,\u0661",  # Arabic-Indic digits: int() reads them, the API does not
        "\uff10,0,1,1",  # a fullwidth zero
        "1_0,0,10,10",
    ],
)
def test_anything_else_in_the_query_is_invalid_crop(text: str) -> None:
    with pytest.raises(InvalidCrop, match="x,y,w,h"):
        crop.parse(text)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (Crop(x=0, y=0, w=0, h=0), "empty"),
        (Crop(x=0, y=0, w=10, h=0), "empty"),
        (Crop(x=-1, y=0, w=10, h=10), "outside"),
        (Crop(x=0, y=-5, w=10, h=10), "outside"),
        (Crop(x=0, y=0, w=10, h=12), "square"),
        (Crop(x=0, y=0, w=12, h=10), "square"),
        (Crop(x=91, y=0, w=10, h=10), "outside"),  # in a 100x50 picture
        (Crop(x=0, y=41, w=10, h=10), "outside"),
        (Crop(x=0, y=0, w=51, h=51), "outside"),
    ],
)
def test_a_crop_that_is_not_a_square_inside_the_picture_is_invalid_crop(
    given: Crop, why: str
) -> None:
    with pytest.raises(InvalidCrop, match=why):
        crop.check_within(given, 100, 50)


@pytest.mark.parametrize(
    "given",
    [
        Crop(x=0, y=0, w=10**41 + 1, h=10**41 + 1),  # DynamoDB's Number can't hold it: was a 500
        Crop(x=10**41 + 1, y=0, w=5, h=5),
        Crop(x=0, y=2**31 - 1, w=1, h=1),  # no format declares a side past 2**31 - 1
    ],
    ids=["side-42-digits", "x-42-digits", "past-any-picture"],
)
def test_a_crop_past_any_pictures_side_is_invalid_crop_before_any_picture_is_read(
    given: Crop,
) -> None:
    with pytest.raises(InvalidCrop, match="outside any picture"):
        crop.check_shape(given)


def test_a_crop_within_a_pixel_of_square_and_touching_the_edges_is_fine() -> None:
    crop.check_within(Crop(x=50, y=0, w=50, h=50), 100, 50)
    crop.check_within(Crop(x=0, y=0, w=50, h=49), 100, 50)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((300, 300), Crop(x=0, y=0, w=300, h=300)),  # square: all of it
        ((400, 300), Crop(x=50, y=0, w=300, h=300)),  # landscape: the centre
        ((300, 400), Crop(x=0, y=10, w=300, h=300)),  # portrait: 10% down its slack
        ((900, 1600), Crop(x=0, y=70, w=900, h=900)),
        ((1, 3), Crop(x=0, y=0, w=1, h=1)),
    ],
)
def test_the_default_square_is_north_biased_in_portraits_only(
    size: tuple[int, int], expected: Crop
) -> None:
    assert crop.default(*size) == expected
    crop.check_within(expected, *size)


def quadrants(size: int = 600) -> Image.Image:
    """Red left half, blue right half, with a green square in the top-right quarter."""
    img = Image.new("RGB", (size, size), gen.RED)
    draw = ImageDraw.Draw(img)
    draw.rectangle((size // 2, 0, size, size), fill=gen.BLUE)
    draw.rectangle((size // 2, 0, size, size // 2), fill=gen.GREEN)
    return img


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])  # JPEG: the crop through draft's scaling
def test_variants_show_the_crop(fmt: str) -> None:
    data = gen.encode(quadrants(), fmt, quality=95)
    right_top = Crop(x=300, y=0, w=300, h=300)
    made = make_variants(data, [256, 64], limits=ImageLimits(), crop=right_top)
    for size in (256, 64):
        img = gen.decode(made[size])
        assert img.size == (size, size)
        for xy in ((4, 4), (size - 5, size - 5), (size // 2, size // 2)):
            r, g, b = gen.pixel(img, xy)[:3]
            assert g > 200 and r < 60 and b < 60, (size, xy)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_crop_smaller_than_a_size_is_enlarged_to_exactly_that_size(fmt: str) -> None:
    """Variants are exactly NxN (issue 12), so a small crop is scaled up: still the crop only."""
    data = gen.encode(quadrants(), fmt, quality=95)
    made = make_variants(data, [256, 64], limits=ImageLimits(), crop=Crop(x=340, y=0, w=100, h=100))
    for size in (256, 64):
        img = gen.decode(made[size])
        assert img.size == (size, size)
        for xy in ((4, 4), (size - 5, size - 5), (size // 2, size // 2)):
            r, g, b = gen.pixel(img, xy)[:3]
            assert g > 200 and r < 60 and b < 60, (size, xy)


def test_without_a_crop_variants_show_the_centre_as_before() -> None:
    data = gen.encode(gen.centred_target(300, 100), "PNG")
    img = gen.decode(make_variants(data, [64], limits=ImageLimits())[64])
    r, g, b = gen.pixel(img, (32, 32))[:3]
    assert r > 200 and g < 60 and b < 60


def test_an_animated_variant_shows_the_crop() -> None:
    frames = [quadrants(64) for _ in range(3)]
    for index, frame in enumerate(frames):  # distinct, or the encoder merges them
        frame.paste((index * 80, 0, 0), (0, 0, 4, 4))
    # 100 ms a frame: within the animated variant's 10 fps, so every frame stays.
    data = gen.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    blob = make_animated_variant(data, 32, limits=ImageLimits(), crop=Crop(x=0, y=0, w=32, h=32))
    assert blob is not None
    img = gen.decode(blob)
    assert gen.frame_count(img) == 3
    r, g, b = gen.pixel(img, (16, 16))[:3]
    assert r > 200 and g < 60 and b < 60
