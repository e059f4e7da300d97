"""A picture's placeholder: its ThumbHash (https://evanw.github.io/thumbhash/), a ~25-byte
sketch of its colours, light and alpha that a page paints until the image loads. No I/O.

Our own encoder of the published algorithm (no PyPI package both installs beside Pillow 13 and
handles alpha, docs/DESIGN.md), kept to the reference's arithmetic — JavaScript's rounding, its
order of summation — so its bytes are the reference's (tests compare them with npm's thumbhash).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from profilepics.formats import ImageFormat, Variant

# ThumbHash takes up to 100x100; its few coefficients need no more than this, at a quarter of
# the cost of a 64 px source (spike 13: 3.7-4.2 ms against 12-13 ms).
MAX_SIDE = 32


def _round(value: float) -> int:
    """JavaScript's Math.round: halves go up, never to even."""
    return math.floor(value + 0.5)


@dataclass(frozen=True)
class _Coefficients:
    dc: float
    ac: list[float]  # each mapped to 0..1 by scale
    scale: float


def _transform(channel: Sequence[float], w: int, h: int, nx: int, ny: int) -> _Coefficients:
    """The channel's lowest DCT terms: the triangle cx/nx + cy/ny < 1."""
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cos_y = [math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)]
        cx = 0
        while cx * ny < nx * (ny - cy):
            cos_x = [math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)]
            total = 0.0
            for y in range(h):
                row, fy = y * w, cos_y[y]
                for x in range(w):
                    total += channel[row + x] * cos_x[x] * fy
            total /= w * h
            if cx or cy:
                ac.append(total)
                scale = max(scale, abs(total))
            else:
                dc = total
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * term for term in ac]
    return _Coefficients(dc, ac, scale)


def thumbhash(img: Image.Image) -> bytes:
    """The ThumbHash of img, fitted into MAX_SIDE x MAX_SIDE first (a box filter)."""
    rgba = img.convert("RGBA")
    if max(rgba.size) > MAX_SIDE:
        rgba.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    w, h = rgba.size
    raw = rgba.tobytes()
    pixels = [tuple(raw[at : at + 4]) for at in range(0, len(raw), 4)]
    count = w * h
    avg = [0.0, 0.0, 0.0]
    avg_a = 0.0
    for r, g, b, a in pixels:
        alpha = a / 255
        avg[0] += alpha / 255 * r
        avg[1] += alpha / 255 * g
        avg[2] += alpha / 255 * b
        avg_a += alpha
    if avg_a:
        avg = [channel / avg_a for channel in avg]
    has_alpha = avg_a < count
    limit = 5 if has_alpha else 7
    lx = max(1, _round(limit * w / max(w, h)))
    ly = max(1, _round(limit * h / max(w, h)))
    light, yellow_blue, red_green, opacity = [], [], [], []
    for r, g, b, a in pixels:
        alpha = a / 255
        # Over the average colour, so transparent pixels don't pull the colours to black.
        rr = avg[0] * (1 - alpha) + alpha / 255 * r
        gg = avg[1] * (1 - alpha) + alpha / 255 * g
        bb = avg[2] * (1 - alpha) + alpha / 255 * b
        light.append((rr + gg + bb) / 3)
        yellow_blue.append((rr + gg) / 2 - bb)
        red_green.append(rr - gg)
        opacity.append(alpha)
    lum = _transform(light, w, h, max(3, lx), max(3, ly))
    p = _transform(yellow_blue, w, h, 3, 3)
    q = _transform(red_green, w, h, 3, 3)
    landscape = w > h
    header24 = (
        _round(63 * lum.dc)
        | _round(31.5 + 31.5 * p.dc) << 6
        | _round(31.5 + 31.5 * q.dc) << 12
        | _round(31 * lum.scale) << 18
        | int(has_alpha) << 23
    )
    header16 = (
        (ly if landscape else lx)
        | _round(63 * p.scale) << 3
        | _round(63 * q.scale) << 9
        | int(landscape) << 15
    )
    out = bytearray(
        [header24 & 255, header24 >> 8 & 255, header24 >> 16, header16 & 255, header16 >> 8]
    )
    terms = [*lum.ac, *p.ac, *q.ac]
    if has_alpha:
        alpha_terms = _transform(opacity, w, h, 5, 5)
        out.append(_round(15 * alpha_terms.dc) | _round(15 * alpha_terms.scale) << 4)
        terms += alpha_terms.ac
    start = len(out)
    out.extend(bytes((len(terms) + 1) // 2))
    for index, term in enumerate(terms):
        out[start + (index >> 1)] |= _round(15 * term) << ((index & 1) << 2)
    return bytes(out)


def encode(data: bytes) -> str:
    """The placeholder of an encoded picture (a small variant): ThumbHash, base64 unpadded."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return base64.b64encode(thumbhash(img)).decode().rstrip("=")


def of_variants(made: Mapping[Variant, bytes]) -> str | None:
    """The placeholder of a picture from its variants: of the smallest still one (already
    square, cropped and small), not the AVIF one when another format is at hand (AV1 is the
    slowest to decode); None if there is no still one."""
    stills = [v for v in made if not v.animated]
    if not stills:
        return None
    smallest = min(stills, key=lambda v: (v.size, v.format is ImageFormat.AVIF))
    return encode(made[smallest])


def average_rgba(placeholder: str) -> tuple[float, float, float, float]:
    """The mean colour a placeholder encodes, each channel 0..1 (the reference's
    thumbHashToAverageRGBA)."""
    hash_ = base64.b64decode(placeholder + "=" * (-len(placeholder) % 4))
    header = hash_[0] | hash_[1] << 8 | hash_[2] << 16
    lum = (header & 63) / 63
    p = (header >> 6 & 63) / 31.5 - 1
    q = (header >> 12 & 63) / 31.5 - 1
    alpha = (hash_[5] & 15) / 15 if header >> 23 else 1.0
    b = lum - 2 / 3 * p
    r = (3 * lum - b + q) / 2
    g = r - q
    return (max(0.0, min(1.0, r)), max(0.0, min(1.0, g)), max(0.0, min(1.0, b)), alpha)
