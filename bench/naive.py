"""The naive thumbnail path the benchmarks and quality tests compare the project's against:
a full decode, then one LANCZOS fit per size. Not in the layer: no function runs it."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageOps

# The same decoding, colour handling and encoder as the project's path, so a comparison
# measures only the resizing strategy.
from profilepics.variants import WEBP, _encode, _open, _resizable, _rgb_icc


def make_naive_variants(data: bytes, sizes: Sequence[int]) -> dict[int, bytes]:
    """{size: bytes}, each a full-resolution ImageOps.fit to the square, in WebP q80."""
    with _open(data) as img:
        icc = _rgb_icc(img)
        full = _resizable(img)
        lanczos = Image.Resampling.LANCZOS
        return {
            size: _encode([ImageOps.fit(full, (size, size), lanczos)], WEBP, icc=icc)
            for size in sizes
        }
