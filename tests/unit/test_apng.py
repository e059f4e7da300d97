"""The APNG writer (apng.py): what a viewer plays from its output — every frame's pixels, its
delay and the loop count as written — and chunks a strict reader accepts (CRCs, sequence)."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image
from profilepics.apng import write_apng

from tests.unit import imagegen as gen

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk, its CRC checked."""
    assert data.startswith(_SIGNATURE)
    found, pos = [], len(_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        found.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return found


def _frames(data: bytes) -> list[tuple[bytes, int]]:
    """Each frame as Pillow plays it: its RGBA pixels and its duration in ms."""
    played = []
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        for index in range(gen.frame_count(img)):
            img.seek(index)
            played.append((img.convert("RGBA").tobytes(), int(img.info["duration"])))
    return played


def _solid(colour: tuple[int, ...], mode: str = "RGB", duration: int = 100) -> Image.Image:
    frame = Image.new(mode, (8, 6), colour)
    frame.info["duration"] = duration
    return frame


def _noise(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = random.Random(seed)
    frame = Image.frombytes(
        "RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    )
    frame.info["duration"] = 40
    return frame


def test_every_frame_plays_as_given_with_its_delay() -> None:
    frames = [_solid((255, 0, 0), duration=100), _solid((0, 255, 0), duration=250)]
    moved = frames[0].copy()
    moved.paste((0, 0, 255), (2, 1, 5, 4))  # a changed rectangle inside the canvas
    moved.info["duration"] = 70
    frames.append(moved)
    data = write_apng(frames, 3)
    assert _frames(data) == [(f.convert("RGBA").tobytes(), f.info["duration"]) for f in frames]


def test_the_loop_count_and_the_frame_count_are_written() -> None:
    frames = [_solid((9, 9, 9)), _solid((200, 9, 9))]
    with Image.open(io.BytesIO(write_apng(frames, 2, loop=3))) as img:
        assert (gen.frame_count(img), img.info["loop"]) == (2, 3)
    with Image.open(io.BytesIO(write_apng(frames, 2))) as img:
        assert img.info["loop"] == 0  # plays forever by default


def test_a_frame_only_partly_changed_is_written_as_its_changed_rectangle() -> None:
    first = _solid((10, 20, 30))
    second = first.copy()
    second.paste((250, 250, 250), (3, 2, 6, 5))
    controls = [body for kind, body in _chunks(write_apng([first, second], 2)) if kind == b"fcTL"]
    fields = [struct.unpack(">IIIIIHHBB", body) for body in controls]
    # sequence, width, height, x, y, delay numerator, denominator, dispose NONE, blend SOURCE
    assert fields[0] == (0, 8, 6, 0, 0, 100, 1000, 0, 0)
    assert fields[1][1:] == (3, 3, 3, 2, 100, 1000, 0, 0)
    played = [pixels for pixels, _ in _frames(write_apng([first, second], 2))]
    assert played == [first.convert("RGBA").tobytes(), second.convert("RGBA").tobytes()]


def test_a_frame_whose_colour_changes_under_the_same_alpha_is_written() -> None:
    first = _solid((255, 0, 0, 200), "RGBA")
    second = _solid((0, 0, 255, 200), "RGBA")
    played = [pixels for pixels, _ in _frames(write_apng([first, second], 2))]
    assert played == [first.tobytes(), second.tobytes()]


def test_an_unchanged_frame_is_one_pixel_rewritten_as_it_was() -> None:
    first = _solid((10, 20, 30))
    data = write_apng([first, first.copy(), _solid((1, 2, 3))], 3)
    controls = [body for kind, body in _chunks(data) if kind == b"fcTL"]
    assert struct.unpack(">IIIIIHHBB", controls[1])[1:5] == (1, 1, 0, 0)
    pixels = first.convert("RGBA").tobytes()
    assert [p for p, _ in _frames(data)] == [
        pixels,
        pixels,
        _solid((1, 2, 3)).convert("RGBA").tobytes(),
    ]


def test_frames_of_several_idat_chunks_keep_one_sequence_a_strict_reader_accepts() -> None:
    # Noise deflates to several IDAT chunks a frame: each becomes an fdAT with its own number.
    frames = [_noise(seed, (160, 160)) for seed in range(3)]
    data = write_apng(frames, 3)
    chunks = _chunks(data)
    assert sum(kind == b"IDAT" for kind, _ in chunks) > 1
    numbers = [
        struct.unpack(">I", body[:4])[0] for kind, body in chunks if kind in (b"fcTL", b"fdAT")
    ]
    assert numbers == list(range(len(numbers)))
    assert [p for p, _ in _frames(data)] == [f.convert("RGBA").tobytes() for f in frames]


def test_the_chunks_are_in_the_order_apng_requires() -> None:
    chunks = _chunks(write_apng([_solid((1, 1, 1)), _solid((2, 2, 2))], 2))
    kinds = [kind for kind, _ in chunks]
    assert kinds[:3] == [b"IHDR", b"acTL", b"fcTL"]
    assert kinds.index(b"IDAT") < kinds.index(b"fdAT")
    assert chunks[-1] == (b"IEND", b"") and kinds.count(b"IEND") == 1
    assert kinds.count(b"IHDR") == 1


def test_an_alpha_channel_and_the_encoder_options_are_kept() -> None:
    frames = [_solid((255, 0, 0, 0), "RGBA"), _solid((0, 0, 255, 128), "RGBA")]
    profile = b"not a real profile, but carried as given"
    data = write_apng(frames, 2, options={"icc_profile": profile})
    assert _frames(data) == [(f.tobytes(), 100) for f in frames]
    with Image.open(io.BytesIO(data)) as img:
        assert img.info["icc_profile"] == profile


@pytest.mark.parametrize(
    ("duration", "played"),
    [
        (0, 0),
        (-5, 0),  # a negative delay plays at once
        (65_535, 65_535),  # the largest delay in milliseconds
        (65_536, 66_000),  # beyond it, whole seconds
        (90_400, 90_000),
        (70_000_000, 65_535_000),  # at most 65,535 s
    ],
)
def test_a_delay_is_written_as_apngs_fraction_of_a_second(duration: int, played: int) -> None:
    frames = [_solid((1, 1, 1), duration=duration), _solid((2, 2, 2), duration=duration)]
    assert [d for _, d in _frames(write_apng(frames, 2))] == [played, played]


def test_a_frame_without_a_duration_plays_at_once() -> None:
    frame = Image.new("RGB", (4, 4), (5, 5, 5))
    other = Image.new("RGB", (4, 4), (6, 6, 6))
    assert [d for _, d in _frames(write_apng([frame, other], 2))] == [0, 0]
