"""Pictures made in code for the benchmarks: photo-like JPEG/PNG, graphics, animations, bombs."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from PIL import Image, ImageChops, ImageDraw

from tests.unit import imagegen

MEGAPIXEL = 1_000_000


def encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def _texture(width: int, height: int, octaves: tuple[tuple[int, float], ...]) -> Image.Image:
    """Gaussian noise at several scales: detail that survives downscaling, as in photos."""
    out: Image.Image | None = None
    for step, sigma in octaves:
        layer = Image.effect_noise((max(width // step, 1), max(height // step, 1)), sigma)
        if step > 1:
            layer = layer.resize((width, height), Image.Resampling.BICUBIC)
        out = layer if out is None else ImageChops.add(out, layer, 1, -128)
    assert out is not None
    return out


def photo(width: int, height: int) -> Image.Image:
    """Colour gradients under shared grain and per-channel noise: compresses like a photo
    (a 12 MP JPEG at quality 90 is about 3.4 MB, where a flat gradient would be 0.3 MB)."""
    shared = _texture(width, height, ((64, 40), (16, 25), (4, 12), (1, 4)))
    gradients = (
        Image.linear_gradient("L").rotate(90).resize((width, height)),
        Image.linear_gradient("L").resize((width, height)),
        Image.radial_gradient("L").resize((width, height)),
    )
    channels = [
        ImageChops.add(
            ImageChops.add(gradient, shared, 1, -128),
            _texture(width, height, ((32, 10), (1, 3))),
            1,
            -128,
        )
        for gradient in gradients
    ]
    return Image.merge("RGB", channels)


def graphic(width: int, height: int) -> Image.Image:
    """Gradients and outlines, no noise: the kind of large picture PNG keeps small."""
    img = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").rotate(90).resize((width, height)),
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
        ),
    )
    draw = ImageDraw.Draw(img)
    step_x, step_y = width // 40, height // 40
    for i in range(40):
        box = (i * step_x, i * step_y, i * step_x + width // 9, i * step_y + height // 9)
        draw.ellipse(box, outline=(255 - i * 6, i * 6, 128), width=max(width // 320, 1))
    return img


def flat_graphic(width: int, height: int) -> Image.Image:
    """A logo-like picture: flat colours, hard edges, thin lines and text (no gradient)."""
    img = Image.new("RGB", (width, height), (240, 240, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 10, height // 10, width // 2, height // 2), fill=(200, 30, 40))
    box = (width // 3, height // 3, width * 9 // 10, height * 9 // 10)
    draw.ellipse(box, fill=(20, 90, 200), outline=(0, 0, 0), width=max(width // 200, 1))
    for i in range(12):
        line = (0, i * height // 12, width, i * height // 12 + height // 20)
        draw.line(line, fill=(0, 0, 0), width=max(width // 400, 1))
    at = (width // 8, height * 3 // 4)
    draw.text(at, "Ada Lovelace", fill=(10, 10, 10), font_size=width // 14)
    return img


def cut_out(width: int, height: int) -> Image.Image:
    """A photo in an ellipse on a transparent ground (RGBA): an avatar cut out of its scene."""
    img = photo(width, height).convert("RGBA")
    mask = Image.new("L", (width, height), 0)
    box = (width // 8, height // 8, width * 7 // 8, height * 7 // 8)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    img.putalpha(mask)
    return img


# The encoded inputs are bytes, made once per run: the 12 and 24 MP photos alone take ~9 s of
# CPU, and sections 1, 3, 10, 11 and 13 ask for the same ones (`make bench`'s time, issue 15).
@cache
def jpeg(width: int, height: int, quality: int = 90) -> bytes:
    return encode(photo(width, height), "JPEG", quality=quality)


@cache
def jpeg_of_about(target_bytes: int, aspect: float = 4 / 3) -> bytes:
    """A photo JPEG (quality 90) whose size is within 10% of target_bytes."""
    pixels = target_bytes * 3.5  # this photo texture costs ~0.28 bytes a pixel at quality 90
    for _ in range(6):
        width = int((pixels * aspect) ** 0.5)
        data = jpeg(width, int(width / aspect))
        if abs(len(data) - target_bytes) <= target_bytes * 0.1:
            return data
        pixels *= target_bytes / len(data)
    return data


@cache
def gif(frames: int, side: int) -> bytes:
    """An animation of distinct photo-like frames, palette-quantised as GIFs are."""
    distinct = [photo(side, side).quantize(256) for _ in range(min(frames, 8))]
    sequence = [distinct[i % len(distinct)].rotate(i * 3.6) for i in range(frames)]
    return encode(
        sequence[0], "GIF", save_all=True, append_images=sequence[1:], duration=40, loop=0
    )


def gif_flat(frames: int, side: int) -> bytes:
    """An animation whose every frame paints the whole canvas a new colour: each frame's
    LZW data is a few hundred bytes, its decode and re-encode a whole canvas."""
    palette = [channel for index in range(256) for channel in (index, 255 - index, index // 2)]
    sequence = []
    for index in range(frames):
        frame = Image.new("P", (side, side), index % 256)
        frame.putpalette(palette)
        sequence.append(frame)
    return encode(
        sequence[0], "GIF", save_all=True, append_images=sequence[1:], duration=40, loop=0
    )


def worst_jpeg(pixels: int, max_bytes: int) -> bytes:
    """The most pixels allowed in a file under the byte limit: a smooth photo, upscaled."""
    width = int((pixels * 1.28) ** 0.5)
    height = pixels // width
    upscaled = photo(width // 4, height // 4).resize((width, height), Image.Resampling.BICUBIC)
    for quality in (85, 80, 75, 70, 60):
        data = encode(upscaled, "JPEG", quality=quality)
        if len(data) < max_bytes:
            return data
    raise RuntimeError("could not fit the JPEG under the byte limit")


def worst_png(pixels: int, max_bytes: int) -> bytes:
    width = int((pixels * 1.28) ** 0.5)
    data = encode(graphic(width, pixels // width), "PNG")
    if len(data) >= max_bytes:
        raise RuntimeError("could not fit the PNG under the byte limit")
    return data


# The same header the unit tests feed the validator: one generator for both.
png_bomb_header = imagegen.png_header_only
