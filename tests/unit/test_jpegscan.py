"""jpegscan on JPEG marker streams built byte by byte: the block count a frame header declares
(the floor every Huffman JPEG is held to), where the scans lie, what the walk skips and where
it stops, and what each refusal says."""

from __future__ import annotations

import struct

import pytest
from profilepics import jpegscan
from profilepics.errors import ImageTooComplex, ImageTruncated
from profilepics.jpegscan import Layout, layout_of

from tests.unit import imagegen as gen

SOI, EOI = b"\xff\xd8", b"\xff\xd9"
CAP = 100


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def frame(width: int, height: int, *sampling: int) -> bytes:
    """A frame header's body: 8-bit samples, each component (id, sampling, table 0)."""
    components = b"".join(bytes((n + 1, s, 0)) for n, s in enumerate(sampling))
    return struct.pack(">BHHB", 8, height, width, len(sampling)) + components


def sof(width: int, height: int, *sampling: int, marker: int = 0xC0) -> bytes:
    return SOI + segment(marker, frame(width, height, *sampling)) + EOI


def walked(layout: Layout) -> tuple[int, int, tuple[tuple[int, int], ...], int]:
    """What the marker walk found: frame type, blocks, scans, segments read."""
    return layout.frame_type, layout.blocks, layout.scans, layout.segments


def blocks(columns: int, rows: int) -> int:
    return -(-columns // 8) * -(-rows // 8)


@pytest.mark.parametrize(
    ("sampling", "expected"),
    [
        ((0x11,), blocks(101, 75)),  # grey
        ((0x11, 0x11, 0x11), 3 * blocks(101, 75)),  # 4:4:4
        ((0x21, 0x11, 0x11), blocks(101, 75) + 2 * blocks(51, 75)),  # 4:2:2
        ((0x22, 0x11, 0x11), blocks(101, 75) + 2 * blocks(51, 38)),  # 4:2:0
        ((0x12, 0x11, 0x11), blocks(101, 75) + 2 * blocks(101, 38)),  # 4:4:0
        ((0x41, 0x11), blocks(101, 75) + blocks(26, 75)),  # 4:1:1, one chroma
        ((0x11, 0x22), blocks(51, 38) + blocks(101, 75)),  # the largest need not be first
    ],
    ids=["grey", "444", "422", "420", "440", "411", "chroma-first"],
)
def test_a_frame_declares_the_blocks_of_each_component_at_its_own_sampling(
    sampling: tuple[int, ...], expected: int
) -> None:
    layout = layout_of(sof(101, 75, *sampling), CAP)

    assert (layout.frame_type, layout.blocks) == (0xC0, expected)


def test_sizes_past_32767_are_unsigned_and_a_zero_sampling_has_no_blocks_and_no_error() -> None:
    assert layout_of(sof(40_000, 33_000, 0x11), CAP).blocks == blocks(40_000, 33_000)
    assert layout_of(sof(64, 64, 0x00), CAP).blocks == 0  # Pillow refuses it
    assert layout_of(sof(64, 64, 0x01, 0x10), CAP).blocks == 0


def test_a_frame_header_cut_inside_its_components_counts_those_it_has() -> None:
    body = frame(64, 64, 0x11, 0x11, 0x11)
    assert layout_of(SOI + segment(0xC0, body[:13]) + EOI, CAP).blocks == 2 * blocks(64, 64)
    assert layout_of(SOI + segment(0xC0, body[:11]) + EOI, CAP).blocks == 2 * blocks(64, 64)
    assert walked(layout_of(SOI + segment(0xC0, body[:6]) + EOI, CAP)) == (0xC0, 0, (), 1)


@pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC, 0xD0, 0xDB])
def test_a_segment_that_is_no_frame_header_leaves_the_frame_type(marker: int) -> None:
    data = SOI + segment(0xC0, frame(64, 64, 0x11)) + segment(marker, bytes(17)) + EOI

    assert layout_of(data, CAP).frame_type == 0xC0


@pytest.mark.parametrize("marker", [0xC1, 0xC2, 0xC9, 0xCD, 0xCF])
def test_each_frame_header_sets_the_frame_type(marker: int) -> None:
    assert layout_of(sof(64, 64, 0x11, marker=marker), CAP).frame_type == marker


def test_the_walk_skips_fill_bytes_and_long_segments_and_counts_each_segment() -> None:
    long_app = segment(0xE1, bytes(40_000))
    data = SOI + b"\xff\xff" + long_app + b"\xff" + segment(0xC0, frame(64, 64, 0x11)) + EOI

    layout = layout_of(data, CAP)

    assert (layout.frame_type, layout.blocks, layout.segments) == (0xC0, 64, 2)


def test_the_walk_ends_at_a_byte_that_is_no_marker_or_past_its_cap() -> None:
    header = segment(0xDB, bytes(65))
    stray = SOI + header + b"\x00" + segment(0xC0, frame(64, 64, 0x11))
    assert walked(layout_of(stray, CAP)) == (0, 0, (), 1)
    data = SOI + header * 3 + segment(0xC0, frame(64, 64, 0x11)) + EOI
    assert walked(layout_of(data, 2)) == (0, 0, (), 3)  # the segment past the cap of 2 is read
    assert walked(layout_of(data, 3)) == (0xC0, 64, (), 4)


def test_a_scan_lies_from_after_its_header_to_the_next_marker() -> None:
    scan_header = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    coded = b"\x12\xff\x00\x34\xff\xd3\x56"  # a stuffed zero and a restart are inside the scan
    head = SOI + segment(0xC0, frame(16, 8, 0x11)) + scan_header
    data = head + coded + EOI

    layout = layout_of(data, CAP)

    assert layout.scans == ((len(head), len(head) + len(coded)),)
    assert layout.scan_bytes == len(coded)
    assert jpegscan.for_decoding(data, layout) == head + coded + jpegscan._LOOKAHEAD_PADDING


def test_a_scan_cut_at_the_end_of_the_file_runs_to_it() -> None:
    head = SOI + segment(0xC0, frame(16, 8, 0x11)) + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")

    assert layout_of(head + b"\x12\x34", CAP).scans == ((len(head), len(head) + 2),)


@pytest.mark.parametrize(
    ("frame_type", "blocks", "scan_bytes", "refused"),
    [
        (0xC0, 36, 9, False),  # sequential: 2 bits a block
        (0xC0, 36, 8, True),
        (0xC1, 36, 8, True),
        (0xC2, 72, 9, False),  # progressive: 1 bit a block
        (0xC2, 72, 8, True),
        (0xC2, 79, 9, False),  # 9.875 bytes: the floor is whole bytes
        (0xC9, 72, 1, False),  # arithmetic coding has no floor
        (0xC3, 72, 1, False),  # lossless: Pillow refuses it
    ],
)
def test_huffman_scans_below_their_blocks_floor_are_truncated(
    frame_type: int, blocks: int, scan_bytes: int, refused: bool
) -> None:
    layout = Layout(frame_type, blocks, ((100, 100 + scan_bytes),), 4)
    if not refused:
        jpegscan.check_floor(layout)
        return
    with pytest.raises(ImageTruncated) as raised:
        jpegscan.check_floor(layout)
    needs = blocks * (1 if frame_type == 0xC2 else 2) // 8
    assert raised.value.detail == (
        f"The JPEG scan data holds {scan_bytes} bytes; the pixels it declares need at least "
        f"{needs}. The file is truncated or crafted."
    )


def test_a_real_jpeg_at_its_floor_passes_and_one_byte_short_is_truncated() -> None:
    data = gen.jpeg_at_floor(64, 48)
    layout = layout_of(data, CAP)
    jpegscan.check_floor(layout)

    start, end = layout.scans[0]
    with pytest.raises(ImageTruncated):
        jpegscan.check_floor(Layout(layout.frame_type, layout.blocks, ((start, end - 1),), 6))


def test_more_scans_than_the_cap_is_too_complex_and_says_why() -> None:
    many = Layout(0xC2, 64, tuple((n, n + 1) for n in range(jpegscan.MAX_SCANS + 1)), 40)
    jpegscan.check_scans(Layout(0xC2, 64, many.scans[:-1], 39))

    with pytest.raises(ImageTooComplex) as raised:
        jpegscan.check_scans(many)

    assert raised.value.detail == (
        f"The JPEG has {jpegscan.MAX_SCANS + 1} scans; the limit is {jpegscan.MAX_SCANS}. "
        "Each costs a pass over the whole picture."
    )


def test_a_jpeg_cut_right_after_a_scan_header_s_length_is_truncated() -> None:
    data = SOI + segment(0xC0, frame(64, 64, 0x11)) + b"\xff\xda\x00\x08"

    layout = layout_of(data, CAP)

    assert (len(layout.scans), layout.segments) == (1, 2)
    with pytest.raises(ImageTruncated):
        jpegscan.check_floor(layout)


@pytest.mark.parametrize(
    "layout",
    [Layout(0xC0, 64, ((10, 12), (14, 16)), 6), Layout(0xC2, 64, ((10, 12),), 5)],
    ids=["sequential-two-scans", "progressive-one-scan"],
)
def test_only_a_single_scan_sequential_jpeg_is_cut_at_its_scan_for_decoding(
    layout: Layout,
) -> None:
    data = bytes(range(20))

    assert jpegscan.for_decoding(data, layout) == data
