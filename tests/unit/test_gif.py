"""gif.py on GIFs built block by block: what a cleaned GIF keeps of each frame (place, timing,
disposal, clear colour, palettes, loop) byte for byte, where a damaged or cut file's reading
ends without an error, and the LZW floor."""

from __future__ import annotations

import struct

import pytest
from profilepics import gif
from profilepics.errors import ImageCorrupt, ImageTruncated
from profilepics.images import ImageLimits, clean_image

from tests.unit import imagegen as gen

LIMITS = ImageLimits(min_width=1, min_height=1)
PALETTE8 = bytes(range(24))
PALETTE2 = b"\x00\x00\x00\xff\xff\xff"


def lzw(size: int) -> bytes:
    """A size x size frame's LZW data at code size 2, as sub-blocks with their terminator."""
    whole = gen.gif_lzw(2, size)
    return whole[13 + 768 + 10 + 1 : -1]


def screen(width: int, height: int, palette: bytes | None, flags: int = 0) -> bytes:
    if palette is not None:
        flags |= 0x80 | 0x70 | max(0, (len(palette) // 3).bit_length() - 2)
    return b"GIF89a" + struct.pack("<HHBBB", width, height, flags, 3, 0) + (palette or b"")


def control(delay: int, disposal: int, transparent: int | None) -> bytes:
    packed = disposal << 2 | (transparent is not None)
    return b"\x21\xf9\x04" + struct.pack("<BHB", packed, delay, transparent or 0) + b"\0"


def looping(count: int) -> bytes:
    return b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", count) + b"\0"


def image(left: int, top: int, size: int, palette: bytes | None = None) -> bytes:
    flags = 0x80 | max(0, (len(palette) // 3).bit_length() - 2) if palette else 0
    place = struct.pack("<HHHHB", left, top, size, size, flags)
    return b"\x2c" + place + (palette or b"") + b"\x02" + lzw(size)


def test_a_cleaned_gif_keeps_its_screen_loop_and_each_frames_own_blocks() -> None:
    data = (
        screen(6, 6, PALETTE8)
        + looping(40_000)
        + image(0, 0, 4)  # no control block: no delay, no disposal, no clear colour
        + control(40_000, 2, 200)
        + image(2, 2, 4, PALETTE8)
        + image(1, 1, 3, PALETTE2)  # the control block before does not carry over
        + b";"
    )

    clean = clean_image(data, LIMITS)

    assert clean.data[6:13] == struct.pack("<HHBBB", 6, 6, 0xF2, 3, 0)
    assert clean.data.endswith(b";") and clean.frames == 3
    source, cleaned = gif.parse(data, 10), gif.parse(clean.data, 10)
    assert (cleaned.loop, cleaned.palette, cleaned.background) == (40_000, PALETTE8, 3)
    assert cleaned.frames == source.frames
    timing = [(f.delay, f.disposal, f.transparent) for f in cleaned.frames]
    assert timing == [(0, 0, None), (40_000, 2, 200), (0, 0, None)]
    assert [f.palette for f in cleaned.frames] == [None, PALETTE8, PALETTE2]


def test_a_gif_without_any_colour_table_is_kept_without_one() -> None:
    data = screen(4, 4, None, flags=0x01) + image(0, 0, 4) + b";"  # size bits, no table flag

    clean = clean_image(data, LIMITS)

    assert clean.data[10] == 0  # no global table
    assert clean.data[13:16] == b"\x21\xf9\x04"  # the frame's control block comes next
    assert clean.data[21] == 0x2C and clean.data[30] == 0  # nor a table of the frame's own
    assert gif.parse(clean.data, 2).frames == gif.parse(data, 2).frames


def test_a_frame_placed_past_32767_grows_the_canvas_unsigned() -> None:
    parsed = gif.parse(screen(40_000, 4, PALETTE2) + image(40_000, 0, 4) + b";", 2)

    assert (parsed.width, parsed.canvas) == (40_000, (40_004, 4))


def test_parse_reads_no_more_than_cap_frames() -> None:
    data = screen(4, 4, PALETTE2) + image(0, 0, 4) * 3 + b";"

    assert len(gif.parse(data, 2).frames) == 2


CUT = screen(4, 4, PALETTE2) + image(0, 0, 4)


@pytest.mark.parametrize(
    ("data", "frames"),
    [
        (CUT, 1),  # no trailer
        (CUT + b"!", 1),  # a lone extension introducer
        (CUT + image(0, 0, 4)[:5], 1),  # cut inside an image descriptor
        (CUT + image(0, 0, 4, PALETTE8)[: 10 + len(PALETTE8)], 1),  # cut after its colour table
        (CUT[:-1], 1),  # cut after a frame's last sub-block, before its terminator
    ],
    ids=["no-trailer", "lone-bang", "in-descriptor", "after-table", "before-terminator"],
)
def test_a_cut_gif_is_read_up_to_where_it_ends_without_an_error(data: bytes, frames: int) -> None:
    assert len(gif.parse(data, 10).frames) == frames


def test_only_a_netscape_block_sets_the_loop_even_with_more_sub_blocks() -> None:
    comment = b"\x21\xfe\x14" + b"a comment of 20 byte" + b"\0"
    xmp = b"\x21\xff\x0bXMP DataXMP\x10" + b"<x:xmpmeta ...>!" + b"\0"
    netscape_plus = looping(7)[:-1] + b"\x02ab\0"
    frame = image(0, 0, 4)
    head = screen(4, 4, PALETTE2)

    assert gif.parse(head + comment + xmp + frame + b";", 2).loop is None
    assert gif.parse(head + netscape_plus + comment + frame + b";", 2).loop == 7


def _frame(width: int, height: int, lzw_bytes: int) -> gif.Frame:
    return gif.Frame(0, 0, width, height, False, None, 2, b"\0", lzw_bytes)


@pytest.mark.parametrize(
    ("width", "height", "has", "refused"),
    [(2728, 1, 1, False), (2728, 1, 0, True), (2729, 1, 1, False), (2728, 2, 1, True)],
)
def test_a_frame_below_its_lzw_floor_is_truncated_and_says_by_how_much(
    width: int, height: int, has: int, refused: bool
) -> None:
    parsed = gif.Gif(width, height, None, 0, frames=[_frame(width, height, has)])
    if not refused:
        gif.check_floor(parsed)
        return
    with pytest.raises(ImageTruncated) as raised:
        gif.check_floor(parsed)
    assert raised.value.detail == (
        f"The GIF frame 0 holds {has} bytes; the pixels it declares need at least "
        f"{width * height // 2728}. The file is truncated or crafted."
    )


def test_a_frame_without_pixels_is_corrupt_and_says_so() -> None:
    with pytest.raises(ImageCorrupt) as raised:
        gif.write(gif.Gif(4, 4, None, 0, frames=[_frame(0, 4, 10)]), lambda: None)

    assert raised.value.detail == "A GIF frame has no pixels"


def _seen(data: bytes, wanted: list[bool]) -> list[tuple[str, list[tuple[int, ...]]]]:
    """Each wanted canvas's mode and its first row's colours."""
    shown = gif.shown(gif.parse(data, 10), wanted, lambda: None)
    return [(c.mode, [c.getpixel((x, 0)) for x in range(4)]) for c in shown]  # type: ignore[misc]


def test_the_animated_variant_sees_each_frame_in_its_palette_s_colours_where_it_goes() -> None:
    data = (
        screen(4, 4, PALETTE8)
        + image(0, 0, 4)  # indices 0 1 2 3 along each row
        + image(0, 0, 4, PALETTE2)  # the same indices in its own two colours
        + b";"
    )

    assert _seen(data, [True, True]) == [
        ("RGB", [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)]),
        ("RGB", [(0, 0, 0), (255, 255, 255), (0, 0, 0), (0, 0, 0)]),
    ]


def test_a_frame_restored_to_what_was_under_it_leaves_the_canvas_as_before() -> None:
    data = (
        screen(4, 4, PALETTE8)
        + image(0, 0, 4)
        + control(0, 3, None)  # restore to previous
        + image(0, 0, 4, PALETTE2)
        + image(2, 0, 2, PALETTE2)
        + b";"
    )

    first, second, third = _seen(data, [True, True, True])

    assert second[1][:2] == [(0, 0, 0), (255, 255, 255)]
    assert third[1][:2] == first[1][:2]  # the second frame was taken off again


def test_a_canvas_that_can_show_through_is_rgba() -> None:
    cleared = screen(4, 4, PALETTE8) + control(0, 2, None) + image(0, 0, 4) + b";"
    partial = screen(6, 6, PALETTE8) + image(0, 0, 4) + b";"
    see_through = screen(4, 4, PALETTE8) + control(0, 0, 1) + image(0, 0, 4) + b";"

    assert [_seen(data, [True])[0][0] for data in (cleared, partial, see_through)] == ["RGBA"] * 3
