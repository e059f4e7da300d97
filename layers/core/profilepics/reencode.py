"""An open JPEG, PNG or WebP re-encoded from its pixels alone, a frame at a time. No I/O.
(GIF: gif.py.)

Only pixels, their ICC profile, and an animation's timing and loop reach the encoder, so EXIF,
GPS, XMP and comments cannot survive. No more than one decoded frame is held at once, but for
what the encoder itself keeps.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from profilepics import apng, containers
from profilepics.frames import Budget, Frames

# Settings chosen for a bounded cost a pixel (docs/DESIGN.md, facts measured): zlib's level 6
# took 2.3 s on a smooth 4.8 MB PNG where level 2 takes 0.6 s for 15% more bytes; libwebp's
# method 2 is 2.2x faster than its default 4 on a photo for under 1% more bytes.
_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 90},
    "PNG": {"compress_level": 2},
    "WEBP": {"quality": 90, "method": 2},
}
_PIXEL_INFO = ("transparency", "duration")


@dataclass
class Opened:
    """A picture opened by Pillow and checked against the limits, not yet decoded."""

    img: Image.Image
    count: int
    upright: Image.Transpose | None
    budget: Budget

    @property
    def loop(self) -> int | None:
        loop = self.img.info.get("loop")
        return int(loop) if loop is not None else None

    @property
    def has_alpha(self) -> bool:
        return self.img.mode in ("RGBA", "LA", "PA") or "transparency" in self.img.info

    def frame(self, mode: str | None = None) -> Image.Image:
        """The current frame: decoded, upright, in mode if given, carrying only its pixels."""
        img = self.img
        img.load()
        frame = img
        if mode is not None and frame.mode != mode:
            frame = frame.convert(mode)
        if self.upright is not None:
            frame = frame.transpose(self.upright)
        if frame is img and self.count > 1:
            frame = img.copy()  # seeking reuses img
        # Savers fall back on info for comments, XMP and more.
        frame.info = {k: v for k, v in img.info.items() if k in _PIXEL_INFO}
        return frame

    def frames(self, mode: str) -> Iterator[Image.Image]:
        """Each frame in turn, in one mode, the budget checked before each."""
        for index in range(self.count):
            self.budget.check()
            self.img.seek(index)
            yield self.frame(mode)


def reencode(opened: Opened, pillow_format: str, data: bytes, mode: str | None = None) -> bytes:
    """The picture in pillow_format (its own, unless converted), from its pixels; a still in
    mode if given."""
    icc = opened.img.info.get("icc_profile")
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    options.update(_OPTIONS.get(pillow_format, {}))
    buffer = io.BytesIO()
    if opened.count == 1:
        still = opened.frame(mode)
        opened.budget.check()
        still.save(buffer, pillow_format, **options)
        return buffer.getvalue()
    if pillow_format == "PNG":
        frames = opened.frames("RGBA" if opened.has_alpha else "RGB")
        return apng.write_apng(frames, opened.count, loop=opened.loop or 0, options=options)
    if pillow_format != "WEBP":
        raise ValueError(f"no animated {pillow_format} writer here")  # GIF: gif.py
    if opened.loop is not None:
        options["loop"] = opened.loop
    # Key frames make libwebp encode a whole canvas twice every few frames; an avatar plays
    # from the start, so the first is the only one it needs.
    options.update(duration=containers.webp_durations(data, opened.count), kmax=0)

    def make(index: int) -> Image.Image:
        opened.img.seek(index)
        return opened.frame()

    Frames(opened.count, make, opened.budget).save(buffer, "WEBP", save_all=True, **options)
    return buffer.getvalue()
