"""gif.py's block reader: full sub-blocks read a strided slice at a time, the rest one by one,
with the same answer for any framing, whole or cut."""

from __future__ import annotations

import random

import pytest
from profilepics import gif

SIZES = (255, 255, 255, 254, 200, 128, 127, 2, 1)


def _framed(rng: random.Random, count: int) -> tuple[bytes, bytes]:
    """count sub-blocks of sizes mostly full, and the payload they carry."""
    sizes = [rng.choice(SIZES) for _ in range(count)]
    payload = rng.randbytes(sum(sizes))
    parts, at = [], 0
    for size in sizes:
        parts.append(bytes([size]) + payload[at : at + size])
        at += size
    return b"".join(parts), payload


@pytest.mark.parametrize("seed", range(40))
def test_a_whole_frame_s_data_is_read_to_its_terminator(seed: int) -> None:
    rng = random.Random(seed)
    blocks, payload = _framed(rng, rng.randrange(0, 300))
    data = b"\x2c" + blocks + b"\0" + b"\x3b"

    framed, carried, end, _ = gif._image_data(data, 1, 10**9)

    assert (framed, carried, end) == (blocks + b"\0", len(payload), len(data) - 1)


@pytest.mark.parametrize("seed", range(40))
def test_a_cut_frame_s_data_is_framed_again_from_what_arrived(seed: int) -> None:
    rng = random.Random(seed)
    blocks, _ = _framed(rng, rng.randrange(1, 300))
    data = blocks[: rng.randrange(0, len(blocks))]

    framed, carried, end, _ = gif._image_data(data, 0, 10**9)

    arrived, _ = gif._sub_blocks(data, 0)
    assert (gif._sub_blocks(framed, 0)[0], carried) == (arrived, len(arrived))
    assert end > len(data) - 1


def test_short_sub_blocks_are_counted_and_end_the_reading_past_the_allowance() -> None:
    data = b"\x01x" * 10 + b"\x80" + bytes(128) + b"\0"

    assert gif._image_data(data, 0, 10)[3] == 10
    assert gif._image_data(data, 0, 9)[:3] == (b"", 0, len(data))
