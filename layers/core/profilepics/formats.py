"""The image formats the service takes and the variants it makes: the one list of each. No Pillow.

Settings, images.py, variants.py, the keys, the local page and the OpenAPI document all derive
from here, so adding a format or changing the thumbnails' format is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"
    WEBP = "webp"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is ImageFormat.JPEG else self.value

    @property
    def pillow_name(self) -> str:
        return self.value.upper()


# Formats whose files may hold an animation (PNG as APNG).
ANIMATABLE = frozenset({ImageFormat.GIF, ImageFormat.PNG, ImageFormat.WEBP})
THUMBNAIL_FORMAT = ImageFormat.WEBP
ORIGINAL = "original"  # the size name that means the original itself


@dataclass(frozen=True)
class Variant:
    """A square thumbnail of an original: its edge, its format, and whether it moves."""

    size: int
    format: ImageFormat = THUMBNAIL_FORMAT
    animated: bool = False

    @property
    def name(self) -> str:
        """How the API and the table name it: the size, or "animated" for the moving one."""
        return "animated" if self.animated else str(self.size)


def sniff(data: bytes) -> ImageFormat | None:
    """The format named by the magic bytes, or None: the file name and header never count."""
    if data[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ImageFormat.PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    return None
