"""containers.py on RIFF and PNG streams built by hand: the lossy WebP floor (by macroblock,
at its edge, and what the refusal says), each animation frame's duration, RIFF's padding, and
the bytes a PNG's rows inflate to, Adam7 pass by pass."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image
from profilepics import containers
from profilepics.errors import ImageCorrupt, ImageTruncated

from tests.unit import imagegen as gen


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def vp8(width: int, height: int, size: int) -> bytes:
    """A lossy key frame's header declaring width x height, padded to size bytes."""
    header = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height)
    return header + bytes(size - len(header))


def floor(width: int, height: int) -> int:
    macroblocks = -(-width // 16) * -(-height // 16)
    return macroblocks * 2 // 8


def anmf(frame: bytes, duration: int, kind: bytes = b"VP8 ") -> bytes:
    header = bytes(6) + bytes(3) + bytes(3) + struct.pack("<I", duration)[:3] + b"\0"
    return chunk(b"ANMF", header + chunk(kind, frame))


@pytest.mark.parametrize(("width", "height"), [(1008, 592), (1000, 600), (17, 16), (16, 1)])
def test_a_lossy_frame_at_its_macroblock_floor_passes_and_a_byte_less_is_truncated(
    width: int, height: int
) -> None:
    needs = max(floor(width, height), 10)
    containers.check_webp(riff(chunk(b"VP8 ", vp8(width, height, needs))))

    if needs == 10:
        return  # a header alone: no shorter frame has a size to check
    with pytest.raises(ImageTruncated) as raised:
        containers.check_webp(riff(chunk(b"VP8 ", vp8(width, height, needs - 1))))
    assert raised.value.detail == (
        f"The WebP frame 0 holds {needs - 1} bytes; the pixels it declares need at least "
        f"{needs}. The file is truncated or crafted."
    )


def test_the_scale_bits_are_not_part_of_a_lossy_frames_size() -> None:
    scaled = vp8(1008 | 0xC000, 592 | 0x4000, floor(1008, 592))

    containers.check_webp(riff(chunk(b"VP8 ", scaled)))


def test_each_lossy_animation_frame_is_held_to_the_floor_after_any_frame_it_cannot_read() -> None:
    needs = floor(1008, 592)
    short = anmf(vp8(1008, 592, needs - 1), 50)
    lossless = anmf(gen.vp8l_solid(1008, 592), 50, b"VP8L")  # no floor
    unreadable = anmf(b"\x10\x02\x00\x9d\x01\x2a\x01", 50)  # a header cut short: left to libwebp
    whole = anmf(vp8(1008, 592, needs), 50)

    containers.check_webp(riff(whole, whole))
    for before in (lossless, unreadable, whole):
        with pytest.raises(ImageTruncated, match=f"holds {needs - 1} bytes"):
            containers.check_webp(riff(before, short))


def test_a_ten_byte_frame_declaring_a_size_is_checked() -> None:
    with pytest.raises(ImageTruncated):
        containers.check_webp(riff(chunk(b"VP8 ", vp8(1008, 592, 10))))


def test_each_frames_duration_is_its_24_bit_anmf_field_and_missing_ones_are_zero() -> None:
    data = riff(
        chunk(b"ANIM", bytes(6)),
        anmf(vp8(16, 16, 10), 0x123456),
        chunk(b"ANMF", bytes(15)),  # too short to have a duration: not a frame
        anmf(vp8(16, 16, 10), 40),
    )

    assert containers.webp_durations(data, 3) == [0x123456, 40, 0]
    assert containers.webp_durations(data, 1) == [0x123456]


def test_a_riff_chunk_of_odd_length_is_padded_and_one_cut_at_the_end_ends_there() -> None:
    odd = chunk(b"EXIF", b"abc")  # padded to 4
    data = riff(odd, chunk(b"VP8 ", vp8(1008, 592, 11)))
    with pytest.raises(ImageTruncated):  # the frame after the padding is found and checked
        containers.check_webp(data)

    cut = riff(chunk(b"VP8 ", vp8(1008, 592, 12)))[:-2]
    with pytest.raises(ImageTruncated, match="holds 10 bytes"):
        containers.check_webp(cut)
    assert containers.chunk_count(riff(odd, odd, odd), webp=True, cap=10) == 3


def _rows_by_pixels(width: int, height: int, bits: int, interlaced: bool) -> int:
    """The filtered rows' bytes, counting each pass's pixels one by one."""
    passes = containers._ADAM7 if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = sum(1 for x in range(width) if x % dx == x0 % dx and x >= x0)
        rows = sum(1 for y in range(height) if y % dy == y0 % dy and y >= y0)
        if columns and rows:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


@pytest.mark.parametrize("interlaced", [False, True])
@pytest.mark.parametrize(
    ("depth", "colour", "bits"), [(1, 0, 1), (8, 2, 24), (16, 6, 64), (4, 3, 4), (8, 4, 16)]
)
@pytest.mark.parametrize(("width", "height"), [(1, 1), (2, 1), (1, 5), (3, 3), (9, 7), (13, 2)])
def test_rows_inflate_to_the_bytes_of_each_adam7_pass_that_has_pixels(
    interlaced: bool, depth: int, colour: int, bits: int, width: int, height: int
) -> None:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))

    assert containers._png_raw_size(ihdr, width, height) == _rows_by_pixels(
        width, height, bits, interlaced
    )


@pytest.mark.parametrize("mode", ["1", "L", "RGB", "RGBA", "P", "LA"])
def test_the_row_size_is_what_a_real_pngs_rows_inflate_to(mode: str) -> None:
    data = gen.encode(Image.new(mode, (13, 5)), "PNG")
    ihdr = data[16:29]
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]

    raw = len(zlib.decompress(idat))

    assert containers._png_raw_size(ihdr, 13, 5) == raw
    assert containers._png_row_size(ihdr, 13) * 5 == raw


def test_an_apng_whose_idat_frame_is_not_the_whole_canvas_says_what_it_is() -> None:
    with pytest.raises(ImageCorrupt) as raised:
        containers.check_png(gen.apng_frames(2, 20, first=10))

    assert raised.value.detail == (
        "The APNG's first frame is 10x20 at (0,0); the frame its IDAT holds must be the "
        "whole canvas."
    )


def png_with(before_pixels: list[bytes], after_pixels: list[bytes], split: int = 0) -> bytes:
    """A 13x5 grey PNG with chunks before and after its pixels, its IDAT split in two at
    split (a run of two chunks) when given."""
    data = gen.encode(Image.new("L", (13, 5)), "PNG")
    idat_at = data.index(b"IDAT") - 4
    end = data.index(b"IEND") - 4
    idat = data[idat_at + 8 : end - 4]
    pixels = (
        gen.png_chunk(b"IDAT", idat[:split]) + gen.png_chunk(b"IDAT", idat[split:])
        if split
        else data[idat_at:end]
    )
    return data[:idat_at] + b"".join(before_pixels) + pixels + b"".join(after_pixels) + data[end:]


TEXT = gen.png_chunk(b"tEXt", b"Comment\0hello")


def test_a_still_whose_rows_are_one_run_is_inflated_in_full_wherever_its_text_is() -> None:
    assert containers.check_png(png_with([], [])) == containers.PngCheck(True, True, False)
    assert containers.check_png(png_with([TEXT], [])) == containers.PngCheck(True, True, False)
    assert containers.check_png(png_with([], [TEXT])) == containers.PngCheck(True, True, True)
    assert containers.check_png(png_with([], [], split=7)) == containers.PngCheck(True, True)


def test_an_animation_or_rows_in_two_runs_are_left_to_the_decoder_to_inflate() -> None:
    actl = gen.png_chunk(b"acTL", struct.pack(">II", 0, 0))  # an animation of no frames yet
    two_runs = png_with([], [TEXT, gen.png_chunk(b"IDAT", b"")])

    assert containers.check_png(png_with([actl], [])).inflated is False
    assert containers.check_png(two_runs).inflated is False


def test_a_png_without_a_header_has_nothing_to_check() -> None:
    signature, end = b"\x89PNG\r\n\x1a\n", gen.png_chunk(b"IEND", b"")
    idat = gen.png_chunk(b"IDAT", zlib.compress(bytes(10)))

    assert containers.check_png(signature + TEXT + end) == containers.PngCheck(False)
    assert containers.check_png(signature + idat + TEXT + end) == containers.PngCheck(
        False, False, True
    )


def png_of(ihdr: bytes, *chunks: bytes) -> bytes:
    body = b"".join(chunks)
    return b"\x89PNG\r\n\x1a\n" + gen.png_chunk(b"IHDR", ihdr) + body + gen.png_chunk(b"IEND", b"")


RGB_1000 = struct.pack(">IIBBBBB", 1000, 1000, 8, 2, 0, 0, 0)  # rows: 3,001,000 bytes


def test_pixels_below_deflate_s_best_ratio_are_truncated_and_say_the_floor() -> None:
    floor = 3_001_000 // 1032  # 2,907.9: whole bytes
    containers.check_png(png_of(RGB_1000, gen.png_chunk(b"IDAT", bytes(floor))))

    with pytest.raises(ImageTruncated) as raised:
        containers.check_png(png_of(RGB_1000, gen.png_chunk(b"IDAT", bytes(floor - 1))))

    assert raised.value.detail == (
        f"The PNG image data holds {floor - 1} bytes; the pixels it declares need at least "
        f"{floor}. The file is truncated or crafted."
    )


def test_palette_colours_without_a_palette_before_the_pixels_say_so() -> None:
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0)
    idat = gen.png_chunk(b"IDAT", zlib.compress(bytes(5 * 4)))

    with pytest.raises(ImageCorrupt) as raised:
        containers.check_png(png_of(ihdr, idat))

    assert raised.value.detail == (
        "The PNG is in palette colours but has no palette before its pixels."
    )


def test_an_anmf_of_just_its_header_has_a_duration() -> None:
    header = bytes(12) + struct.pack("<I", 70)[:3] + b"\0"

    assert containers.webp_durations(riff(chunk(b"ANMF", header)), 1) == [70]
