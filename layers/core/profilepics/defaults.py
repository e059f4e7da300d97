"""Default pictures: a static silhouette, or initials on a colour from a hash of the user id."""

from __future__ import annotations

import hashlib
import io
import unicodedata

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SIZE = 256
# Any edge a layout may ask for, as pictures have: a 1024 px one draws in ~100 ms (256: 14).
MIN_SIZE, MAX_SIZE = 16, 1024
RENDER_VERSION = "1"  # bump when the drawing changes, so ETags change with it
_PALETTE = (
    (0x1F, 0x77, 0xB4),
    (0xD6, 0x27, 0x28),
    (0x2C, 0xA0, 0x2C),
    (0x94, 0x67, 0xBD),
    (0x8C, 0x56, 0x4B),
    (0xE3, 0x77, 0xC2),
    (0x17, 0xBE, 0xCF),
    (0xBC, 0xBD, 0x22),
    (0xFF, 0x7F, 0x0E),
    (0x39, 0x3B, 0x79),
    (0x63, 0x79, 0x39),
    (0x84, 0x3C, 0x39),
)
_STATIC_COLOUR = (0x9E, 0xA7, 0xB3)


def initials(name: str) -> str:
    """The first letter of each of the first two words, or the first two of a single word."""
    words = ["".join(filter(str.isalnum, w)) for w in unicodedata.normalize("NFKC", name).split()]
    words = [word for word in words if word]
    letters = "".join(word[0] for word in words[:2]) if len(words) > 1 else "".join(words)[:2]
    return letters.upper()


def colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return _PALETTE[int.from_bytes(digest[:4], "big") % len(_PALETTE)]


def etag(name: str, seed: str, size: int) -> str:
    """A strong ETag from the inputs alone, so a 304 needs no drawing."""
    parts = "\0".join((RENDER_VERSION, initials(name), seed or name, str(size)))
    return '"' + hashlib.sha256(parts.encode()).hexdigest()[:32] + '"'


def render(name: str, seed: str, size: int) -> bytes:
    """A PNG: initials of name on colour(seed or name), or the static silhouette without a name."""
    from PIL import Image, ImageDraw, ImageFont

    letters = initials(name)
    image = Image.new("RGB", (size, size), colour(seed or name) if letters else _STATIC_COLOUR)
    draw = ImageDraw.Draw(image)
    if letters:
        font = ImageFont.load_default(size=size * 0.42)
        draw.text((size / 2, size / 2), letters, fill="white", font=font, anchor="mm")
    else:
        head = size * 0.19
        draw.ellipse(
            (size / 2 - head, size * 0.2, size / 2 + head, size * 0.2 + 2 * head), fill="white"
        )
        draw.ellipse((size * 0.18, size * 0.62, size * 0.82, size * 1.2), fill="white")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


class DefaultQuery(BaseModel):
    # Built on its first request, not at import: a validator's build loads pydantic's plugin
    # loader and importlib.metadata with it (~20 ms of a cold start, bench section 4).
    model_config = ConfigDict(extra="forbid", defer_build=True)

    size: int = Field(DEFAULT_SIZE, ge=MIN_SIZE, le=MAX_SIZE)
    name: str = Field("", max_length=100)
    seed: str = Field("", max_length=100)


def negotiate(query: DefaultQuery, if_none_match: str | None) -> tuple[str, bytes | None]:
    """The ETag and the PNG, or no PNG when the client already holds this one."""
    tag = etag(query.name, query.seed, query.size)
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x", and * matches any.
    held = {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")}
    if tag in held or "*" in held:
        return tag, None
    return tag, render(query.name, query.seed, query.size)
