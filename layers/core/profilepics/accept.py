"""Choosing a variant's format from a request's `Accept` header (RFC 9110 12.5.1). No I/O.

AVIF and WebP count only where the header names them: `*/*` and `image/*` are what e-mail
clients and old tools send, and many of those can't show either. JPEG is shown everywhere, so
wildcards choose it, and it is the answer when nothing else is acceptable (an `<img>` is better
served a JPEG than a 406).
"""

from __future__ import annotations

from collections.abc import Sequence

from profilepics.formats import ImageFormat

FALLBACK = ImageFormat.JPEG
_WILDCARD_CHOICE = frozenset({ImageFormat.JPEG})
_MAX_RANGES = 64  # a browser sends under 10; the edge bounds the header's bytes anyway


def negotiate(accept: str, offered: Sequence[ImageFormat]) -> ImageFormat:
    """The offered format (best first) the header prefers: highest q-value, then offered order."""
    ranges = _ranges(accept)
    best: tuple[float, int] | None = None
    chosen = FALLBACK
    for rank, fmt in enumerate(offered):
        q = _quality(ranges, fmt)
        if q > 0 and (best is None or (q, -rank) > best):
            best, chosen = (q, -rank), fmt
    return chosen


def _quality(ranges: dict[str, float], fmt: ImageFormat) -> float:
    """The q-value of the most specific range matching fmt; 0 when none does."""
    for name in (fmt.content_type, "image/*", "*/*"):
        if name in ranges:
            if name != fmt.content_type and fmt not in _WILDCARD_CHOICE:
                return 0.0
            return ranges[name]
    return 0.0


def _ranges(accept: str) -> dict[str, float]:
    """{media range: q}; a range given twice keeps its first q, malformed parts are skipped."""
    found: dict[str, float] = {}
    for part in accept.split(",")[:_MAX_RANGES]:
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media.count("/") != 1 or media in found:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _q_value(value.strip())
        if q >= 0:
            found[media] = q
    return found


def _q_value(text: str) -> float:
    """RFC 9110's qvalue (0 to 1, at most three decimals), or -1 when it is not one."""
    try:
        value = float(text)
    except ValueError:
        return -1.0
    if not 0 <= value <= 1 or len(text) > 5 or not text[:1].isdigit():
        return -1.0
    return value
