"""The image formats the service takes and the variants it makes: the one list of each. No Pillow.

Settings, images.py, variants.py, the keys, the local page and the OpenAPI document all derive
from here, so adding a format or changing the thumbnails' formats is one edit.
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


# What an upload may be (sniff() knows these): HEIC and AVIF too, stored converted.
UPLOAD_FORMATS = (
    ImageFormat.JPEG,
    ImageFormat.PNG,
    ImageFormat.GIF,
    ImageFormat.WEBP,
    ImageFormat.HEIC,
    ImageFormat.AVIF,
)
# Formats whose files may hold an animation (PNG as APNG).
ANIMATABLE = frozenset({ImageFormat.GIF, ImageFormat.PNG, ImageFormat.WEBP})
# What an original may be stored as, once cleaned.
STORED = frozenset(f for f in ImageFormat if not f.converted)


class VariantFormat(StrEnum):
    """What a variant may be in (best compression first): a type of its own for the `format`
    query parameter, so its schema lists just these."""

    AVIF = ImageFormat.AVIF.value
    WEBP = ImageFormat.WEBP.value
    JPEG = ImageFormat.JPEG.value
    PNG = ImageFormat.PNG.value


VARIANT_FORMATS = tuple(ImageFormat(f) for f in VariantFormat)
# What `Accept` chooses from, best first: JPEG is the one every client shows, so it is the
# answer when nothing better is named.
NEGOTIATED = (ImageFormat.AVIF, ImageFormat.WEBP, ImageFormat.JPEG)
ANIMATED_FORMAT = ImageFormat.WEBP
# libwebp's default: 0-2 skip rate-distortion tuning; 6 was ~3x slower for ~1% fewer bytes.
WEBP_METHOD = 4
ORIGINAL = "original"  # the size name that means the original itself
ANIMATED = "animated"  # the size name of an animated original's moving thumbnail


@dataclass(frozen=True)
class Encoding:
    """How variants of one format are encoded. Its tag is part of their keys, so a changed
    setting writes new objects beside the old ones and never over an object a URL points at."""

    format: ImageFormat
    quality: int | None = None  # None: lossless (PNG)
    speed: int | None = None  # AVIF: the encoder's effort, 0 (slowest) to 10
    method: int | None = None  # WebP: 0 (fastest) to 6

    @property
    def tag(self) -> str:
        parts = [
            f"{letter}{value}"
            for letter, value in (("q", self.quality), ("s", self.speed), ("m", self.method))
            if value is not None
        ]
        return "".join(parts)


@dataclass(frozen=True, order=True)
class Variant:
    """A square thumbnail of an original: its edge, its format, and whether it moves."""

    size: int
    format: ImageFormat = ImageFormat.WEBP
    animated: bool = False

    @property
    def name(self) -> str:
        """How the API names its size: the edge, or "animated" for the moving one."""
        return ANIMATED if self.animated else str(self.size)

    @property
    def id(self) -> str:
        """How a picture's variant map names it: size and format, e.g. "256.avif"."""
        return f"{self.name}.{self.format.value}"

    @classmethod
    def parse(cls, variant_id: str, animated_size: int = 0) -> Variant | None:
        """The variant an id names, or None for an id that names none."""
        name, _, fmt = variant_id.partition(".")
        try:
            format_ = ImageFormat(fmt)
        except ValueError:
            return None
        if name == ANIMATED:
            return cls(animated_size, format_, animated=True)
        if not name.isascii() or not name.isdigit() or format_ not in VARIANT_FORMATS:
            return None
        return cls(int(name), format_)


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
