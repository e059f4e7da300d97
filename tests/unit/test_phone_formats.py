"""HEIC and AVIF uploads: sniffed by their brands, held to the same limits, stored as JPEG/PNG."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image
from profilepics.errors import (
    ImageCorrupt,
    ImageTooComplex,
    ImageTooLarge,
    ImageTruncated,
    ProblemError,
    UnsupportedMediaType,
)
from profilepics.formats import STORED, ImageFormat, sniff
from profilepics.images import ImageLimits, clean_image

from tests.unit import imagegen as gen
from tests.unit.test_images import assert_no_metadata, is_blue, is_red

LIMITS = ImageLimits()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Ada</dc:creator></x:xmpmeta>'


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + bytes(32)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), ImageFormat.HEIC),
        (ftyp(b"mif1", b"mif1", b"heix"), ImageFormat.HEIC),
        (ftyp(b"avif", b"avif", b"mif1", b"miaf"), ImageFormat.AVIF),
        (ftyp(b"avis", b"msf1"), ImageFormat.AVIF),
        (ftyp(b"mif1", b"miaf", b"avif"), ImageFormat.AVIF),
        (ftyp(b"mif1", b"mif1"), None),  # no codec named: neither
        (ftyp(b"mp42", b"isom", b"mp42"), None),
        (b"\x00\x00\x00\x0bftypheic" + bytes(32), None),  # a box size that is no box
        (b"\xff\xff\xff\xf0ftypheic" + bytes(32), None),  # a box longer than the file
    ],
)
def test_sniff_reads_the_ftyp_brands(data: bytes, expected: ImageFormat | None) -> None:
    assert sniff(data) == expected


def test_heic_and_avif_are_converted_and_never_stored() -> None:
    assert {f for f in ImageFormat if f.converted} == {ImageFormat.HEIC, ImageFormat.AVIF}
    assert not {ImageFormat.HEIC, ImageFormat.AVIF} & STORED


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("make", [gen.heic_oriented, gen.avif_oriented], ids=["heic", "avif"])
def test_every_orientation_comes_out_upright_as_jpeg_without_metadata(
    make: Callable[[Image.Image, int], bytes], orientation: int
) -> None:
    data = make(gen.marked(), orientation)
    clean = clean_image(data, LIMITS)
    assert (clean.format, clean.width, clean.height, clean.frames) == (ImageFormat.JPEG, 80, 40, 1)
    assert clean.reencoded  # from its pixels: no container of it is kept
    img = gen.decode(clean.data)
    assert img.format == "JPEG"
    assert img.size == (80, 40)
    assert is_red(gen.pixel(img, (2, 2)))
    assert is_blue(gen.pixel(img, (70, 35)))
    assert_no_metadata(clean.data)


def test_heic_with_gps_and_xmp_keeps_neither() -> None:
    data = gen.heic(gen.photo(64, 48), exif=gen.exif_bytes(1, gps=True), xmp=XMP)
    assert b"Exif" in data and b"xmpmeta" in data
    clean = clean_image(data, LIMITS)
    assert_no_metadata(clean.data)
    assert b"xmpmeta" not in clean.data and b"TestCam" not in clean.data


def test_avif_with_alpha_is_stored_as_png_with_its_alpha() -> None:
    img = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    img.paste((0, 0, 255, 0), (0, 0, 16, 32))
    clean = clean_image(gen.encode(img, "AVIF", quality=90), LIMITS)
    assert clean.format is ImageFormat.PNG
    out = gen.decode(clean.data)
    assert out.mode == "RGBA"
    assert gen.pixel(out, (4, 4))[3] == 0 and gen.pixel(out, (28, 4))[3] == 255


def test_heic_gives_its_primary_image_not_its_first() -> None:
    import pillow_heif

    red, green = (Image.new("RGB", (32, 32), c) for c in (gen.RED, gen.GREEN))
    heif = pillow_heif.from_bytes("RGB", red.size, red.tobytes())
    heif.add_frombytes("RGB", green.size, green.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=80, primary_index=1)
    clean = clean_image(buffer.getvalue(), LIMITS)
    assert clean.frames == 1
    assert gen.pixel(gen.decode(clean.data), (16, 16))[1] > 200  # green, the primary


def test_animated_avif_gives_its_first_frame_as_a_still() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in (gen.RED, gen.GREEN, gen.BLUE)]
    data = gen.encode(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    assert sniff(data) is ImageFormat.AVIF
    clean = clean_image(data, LIMITS)
    assert (clean.format, clean.frames) == (ImageFormat.JPEG, 1)
    assert is_red(gen.pixel(gen.decode(clean.data), (16, 16)))


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Image.Image) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_a_declared_size_over_the_pixel_cap_is_image_too_large_before_decoding(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = gen.heic(gen.photo(64, 64)) if fmt == "heic" else gen.encode(gen.photo(64, 64), "AVIF")
    forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        clean_image(gen.with_declared_size(small, 8000, 7000), LIMITS)


@pytest.mark.parametrize(("fmt", "weight"), [("heic", 2.0), ("avif", 2.5)])
def test_heic_and_avif_pixels_weigh_what_their_decoders_hold(
    fmt: str, weight: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size passes unweighted, and is refused weighted."""
    small = gen.heic(gen.photo(64, 64)) if fmt == "heic" else gen.encode(gen.photo(64, 64), "AVIF")
    forbid_decoding(monkeypatch)
    limits = ImageLimits(max_pixels=int(64 * 64 * weight) - 1)
    with pytest.raises(ImageTooLarge, match=f"each counting {weight:g}"):
        clean_image(small, limits)


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_a_few_hundred_bytes_declaring_megapixels_is_image_truncated_before_decoding(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    tiny = gen.heic(grey) if fmt == "heic" else gen.encode(grey, "AVIF", quality=0)
    forbid_decoding(monkeypatch)
    assert len(tiny) < 500
    with pytest.raises(ImageTruncated):
        clean_image(
            gen.with_declared_size(tiny, 6000, 5000),
            ImageLimits(max_pixels=10**9, max_total_pixels=10**9),
        )


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_a_declared_size_the_stream_does_not_code_is_refused(fmt: str) -> None:
    """Within every floor and cap, but not what the coded picture is: a clear 422."""
    photo = gen.photo(64, 64)
    data = gen.heic(photo) if fmt == "heic" else gen.encode(photo, "AVIF")
    try:
        clean = clean_image(gen.with_declared_size(data, 96, 96), LIMITS)
    except (ImageCorrupt, ImageTruncated):
        return
    # libavif scales the coded picture to the declared size: bounded by that size all the same.
    assert fmt == "avif" and (clean.width, clean.height) == (96, 96)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_truncated_heic_and_avif_are_image_corrupt(fmt: str, keep: float) -> None:
    photo = gen.photo(128, 96)
    data = gen.heic(photo) if fmt == "heic" else gen.encode(photo, "AVIF")
    with pytest.raises((ImageCorrupt, ImageTruncated)):
        clean_image(data[: int(len(data) * keep)], LIMITS)


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_the_cpu_budget_counts_the_decode(fmt: str) -> None:
    """One decoder thread, so thread CPU time sees all of it."""
    photo = gen.photo(256, 256)
    data = gen.heic(photo) if fmt == "heic" else gen.encode(photo, "AVIF")
    with pytest.raises(ImageTooComplex):
        clean_image(data, ImageLimits(cpu_seconds=1e-6))


def test_heic_and_avif_are_refused_when_not_allowed() -> None:
    limits = ImageLimits(allowed_formats=frozenset({ImageFormat.JPEG, ImageFormat.PNG}))
    for data in (gen.heic(gen.marked()), gen.encode(gen.marked(), "AVIF")):
        with pytest.raises(UnsupportedMediaType, match="JPEG, PNG"):
            clean_image(data, limits)


@pytest.mark.parametrize("fmt", ["heic", "avif"])
@pytest.mark.parametrize("seed", range(12))
def test_mutated_heic_and_avif_raise_nothing_but_problem_errors(fmt: str, seed: int) -> None:
    import random

    photo = gen.photo(64, 48)
    data = bytearray(gen.heic(photo) if fmt == "heic" else gen.encode(photo, "AVIF"))
    rng = random.Random(seed)
    for _ in range(1 + seed):
        data[rng.randrange(len(data))] = rng.randrange(256)
    try:
        clean_image(bytes(data), LIMITS)
    except ProblemError as exc:
        assert exc.status in (415, 422)
