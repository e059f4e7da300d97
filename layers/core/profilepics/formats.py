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
    HEIC = "heic"
    AVIF = "avif"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is ImageFormat.JPEG else self.value

    @property
    def pillow_name(self) -> str:
        # pi-heif's plugin names the container (HEIF), not its codec.
        return "HEIF" if self is ImageFormat.HEIC else self.value.upper()

    @property
    def converted(self) -> bool:
        """Whether an upload in this format is stored as JPEG (PNG with alpha) instead: browsers
        can't show HEIC, and keeping an AVIF means encoding 12 MP of AV1 again (~2.5 s of CPU,
        docs/DESIGN.md) only to drop its metadata."""
        return self in (ImageFormat.HEIC, ImageFormat.AVIF)


# Formats whose files may hold an animation (PNG as APNG).
ANIMATABLE = frozenset({ImageFormat.GIF, ImageFormat.PNG, ImageFormat.WEBP})
# What an original may be stored as, once cleaned.
STORED = frozenset(f for f in ImageFormat if not f.converted)
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
    return _sniff_isobmff(data)


# The ftyp brands that say which codec an ISO-BMFF image holds. The major brand alone is not
# enough: some writers put the generic `mif1` there and name the codec among the compatible ones.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_FTYP_MAX = 256  # a real ftyp box holds a handful of brands


def _sniff_isobmff(data: bytes) -> ImageFormat | None:
    """HEIC or AVIF from the leading ftyp box's brands (major, then compatible ones)."""
    if data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    if not 16 <= size <= min(_FTYP_MAX, len(data)) or size % 4:
        return None
    brands = {data[8:12]} | {data[at : at + 4] for at in range(16, size, 4)}
    if brands & _AVIF_BRANDS:
        return ImageFormat.AVIF
    if brands & _HEIC_BRANDS:
        return ImageFormat.HEIC
    return None
