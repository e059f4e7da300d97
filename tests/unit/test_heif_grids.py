"""HEIC and AVIF grid images, crafted box by box (tests/unit/heifgrid.py): each is stored as a
clean JPEG of the size it shows, or refused with a precise 4xx before its tiles are decoded."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image
from profilepics import heifgrid
from profilepics.errors import ImageCorrupt, ImageTooComplex, ImageTooLarge
from profilepics.images import ImageLimits, clean_image

from tests.unit import heifgrid as grids
from tests.unit import imagegen as gen
from tests.unit.test_images import assert_no_metadata, is_red

LIMITS = ImageLimits()
FORMATS = ["HEIC", "AVIF"]


@pytest.fixture(scope="module", params=FORMATS)
def tile(request: pytest.FixtureRequest) -> grids.Tile:
    return grids.tile(request.param, (64, 64))


def stored(data: bytes, limits: ImageLimits = LIMITS) -> Image.Image:
    clean = clean_image(data, limits)
    picture = Image.open(io.BytesIO(clean.data))
    assert (clean.format.pillow_name, picture.size) == ("JPEG", (clean.width, clean.height))
    assert_no_metadata(clean.data)
    return picture


def test_a_grid_of_tiles_is_stored_whole_as_a_jpeg(tile: grids.Tile) -> None:
    picture = stored(grids.grid([tile] * 4, 2, 2, (128, 128)))
    assert picture.size == (128, 128)
    assert all(is_red(gen.pixel(picture, xy)) for xy in [(5, 5), (120, 5), (5, 120), (120, 120)])


def test_a_grid_with_an_exif_item_carrying_gps_is_stored_without_it(tile: grids.Tile) -> None:
    exif = gen.exif_bytes(gps=True)
    data = grids.grid([tile] * 4, 2, 2, (128, 128), exif=exif)
    assert exif in data
    assert stored(data).size == (128, 128)


def test_a_grid_of_961_tiles_is_stored(tile: grids.Tile) -> None:
    assert stored(grids.grid([tile] * 961, 31, 31, (1984, 1984))).size == (1984, 1984)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_grid_declaring_a_small_size_over_large_tiles_is_too_large_before_decoding(
    fmt: str,
) -> None:
    """libavif decoded all 36 tiles (1.1 GB for 2.4 KB at 2048x2048 tiles) and stored a 64x64
    JPEG; libheif decoded them all before refusing the size."""
    limits = replace(LIMITS, max_pixels=1_000_000)
    big = grids.tile(fmt, (256, 256))
    data = grids.grid([big] * 36, 6, 6, (1536, 1536), ispe=(64, 64))
    with pytest.raises(ImageTooLarge, match="decodes 2,359,296 pixels"):
        clean_image(data, limits)
    # The honest 2x2 grid of the same tiles (655,360 pixels counted) is taken.
    assert stored(grids.grid([big] * 4, 2, 2, (512, 512)), limits).size == (512, 512)


def test_a_grid_referencing_more_tiles_than_the_block_cap_is_too_complex(
    tile: grids.Tile,
) -> None:
    data = grids.grid([tile] * 121, 11, 11, (704, 704))
    with pytest.raises(ImageTooComplex, match="more than 100 image references"):
        clean_image(data, replace(LIMITS, max_blocks=100))
    assert stored(data, replace(LIMITS, max_blocks=122)).size == (704, 704)


@pytest.mark.parametrize(
    ("columns", "references", "output"),
    [
        (2, [0, 0, 0, 0], (128, 128)),  # one tile in every cell
        (2, [0, 1, 2], (128, 128)),  # a cell with no tile
        (2, [0, 1, 2, 3], (16000, 16000)),  # an output its tiles do not cover
        (1, [0, 1, 2, 3], (64, 64)),  # more tiles than cells
    ],
    ids=["repeated", "missing", "uncovered", "extra"],
)
def test_a_malformed_grid_is_corrupt(
    tile: grids.Tile, columns: int, references: list[int], output: tuple[int, int]
) -> None:
    rows = 2 if columns == 2 else 1
    data = grids.grid([tile] * 4, columns, rows, output, references=references, ispe=(128, 128))
    with pytest.raises(ImageCorrupt):
        clean_image(data, LIMITS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_grid_of_tiles_of_mixed_sizes_is_corrupt(fmt: str) -> None:
    small, tall = grids.tile(fmt, (64, 64)), grids.tile(fmt, (64, 128))
    with pytest.raises(ImageCorrupt):
        clean_image(grids.grid([small, tall, small, tall], 2, 2, (128, 128)), LIMITS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("irot", "imir"), [(1, None), (None, 1), (3, 0)])
def test_a_turned_or_mirrored_grid_is_stored_upright(
    fmt: str, irot: int | None, imir: int | None
) -> None:
    wide = grids.tile(fmt, (128, 64))
    picture = stored(grids.grid([wide] * 4, 2, 2, (256, 128), irot=irot, imir=imir))
    assert picture.size == ((256, 128) if irot is None else (128, 256))


def test_the_walk_counts_the_tiles_and_stops_at_malformed_boxes(tile: grids.Tile) -> None:
    data = grids.grid([tile] * 4, 2, 2, (128, 128), ispe=(8, 8))
    assert heifgrid.source_pixels(data, 100) == 4 * 64 * 64
    assert heifgrid.source_pixels(data[:40], 100) == 0  # the meta box cut short
    assert heifgrid.source_pixels(gen.heic(Image.new("RGB", (64, 64))), 100) == 64 * 64


def test_the_tiles_of_a_heic_grid_of_grids_are_counted() -> None:
    """libheif decodes a grid of grids: every tile below counts."""
    tile = grids.tile("HEIC", (64, 64))
    declared_small = grids.nested(tile, (64, 64))
    assert heifgrid.source_pixels(declared_small, 100) == 16 * 64 * 64
    with pytest.raises(ImageTooLarge, match="decodes 65,536 pixels"):
        clean_image(declared_small, replace(LIMITS, max_pixels=65_536))
    assert stored(grids.nested(tile, (256, 256))).size == (256, 256)


def test_an_avif_grid_of_grids_is_corrupt() -> None:
    """libavif refuses one while parsing, before decoding anything."""
    with pytest.raises(ImageCorrupt):
        clean_image(grids.nested(grids.tile("AVIF", (64, 64)), (256, 256)), LIMITS)


def test_a_heic_alpha_image_larger_than_its_picture_counts_its_own_pixels() -> None:
    """libheif decoded an 8192x8192 alpha image under a 64x64 picture (40 KB) in 0.57 s and
    232 MB, to scale it down; it is counted now, as a grid's tiles are."""
    picture = grids.tile("HEIC", (64, 64))
    alpha = grids.tile("HEIC", (1024, 1024), (255, 255, 255))
    data = grids.with_alpha(picture, alpha)
    assert heifgrid.source_pixels(data, 100) == 64 * 64 + 1024 * 1024
    with pytest.raises(ImageTooLarge, match="decodes 1,052,672 pixels"):
        clean_image(data, replace(LIMITS, max_pixels=1_000_000))
    clean = clean_image(grids.with_alpha(picture, grids.tile("HEIC", (64, 64))), LIMITS)
    assert (clean.format.pillow_name, clean.width, clean.height) == ("PNG", 64, 64)


def test_an_avif_alpha_image_of_another_size_is_corrupt() -> None:
    picture, alpha = grids.tile("AVIF", (64, 64)), grids.tile("AVIF", (1024, 1024))
    with pytest.raises(ImageCorrupt):
        clean_image(grids.with_alpha(picture, alpha), LIMITS)


def test_more_boxes_than_the_block_cap_before_the_meta_box_is_too_complex(
    tile: grids.Tile,
) -> None:
    """libheif skips 655,000 empty boxes in ~0.1 s; walking them took 0.26 s more."""
    limits = replace(LIMITS, max_blocks=100)
    with pytest.raises(ImageTooComplex, match="more than 100 boxes"):
        clean_image(grids.grid([tile] * 4, 2, 2, (128, 128), free=99), limits)
    assert stored(grids.grid([tile] * 4, 2, 2, (128, 128), free=98), limits).size == (128, 128)


def test_a_heic_overlay_on_a_huge_canvas_is_too_large_before_decoding() -> None:
    """libheif painted a 64x64 tile on the 20000x20000 canvas the iovl data gives (ispe:
    64x64): 455 bytes cost 0.85 s and 1.2 GB."""
    tile = grids.tile("HEIC", (64, 64))
    huge = grids.overlay(tile, (20000, 20000))
    with pytest.raises(ImageTooLarge, match="decodes 400,004,096 pixels"):
        clean_image(huge, LIMITS)
    assert heifgrid.source_pixels(grids.overlay(tile, (64, 64)), 100) == 2 * 64 * 64


@pytest.mark.parametrize(("items", "extents"), [(1_000, 65_535), (20_000, 1)])
def test_an_overlay_s_item_locations_past_the_cap_are_too_complex_not_walked(
    items: int, extents: int
) -> None:
    """Fields 0 bytes wide: 8 KB named 65 million extents and took the walk 58 s of CPU."""
    hostile = grids.with_empty_extents(
        grids.overlay(grids.tile("HEIC", (64, 64)), (64, 64)), items, extents
    )
    with pytest.raises(ImageTooComplex, match="more than 1000 item"):
        heifgrid.source_pixels(hostile, 1000)
    fine = grids.with_empty_extents(grids.overlay(grids.tile("HEIC", (64, 64)), (64, 64)), 3, 9)
    assert heifgrid.source_pixels(fine, 1000) == 64 * 64  # the tile; an empty extent: no canvas


def test_images_derived_deeper_than_the_walk_goes_are_refused_not_counted_as_nothing(
    tile: grids.Tile,
) -> None:
    deep = grids.chain(tile, 10, 1)
    with pytest.raises(ImageTooComplex, match="more than 8 levels deep"):
        heifgrid.source_pixels(deep, 1000)
    assert heifgrid.source_pixels(grids.chain(tile, 9, 1), 1000) == 0  # 9 levels: a cycle, walked


def test_a_reference_cycle_or_a_deep_fan_of_references_is_walked_once(tile: grids.Tile) -> None:
    """Walked path by path, 20 self-references nested 8 deep never finished."""
    cyclic = grids.chain(tile, 8, 20)
    assert heifgrid.source_pixels(cyclic, 1000) == 0
    with pytest.raises(ImageCorrupt):
        clean_image(cyclic, LIMITS)
