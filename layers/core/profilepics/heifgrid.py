"""What a HEIF's primary image costs to decode: the pixels of every coded image it is built
from when it is derived (a `grid`, `iovl` or `iden` item), of an overlay's canvas, and of its
auxiliary (alpha) images, read from the ISO-BMFF boxes.

libheif and libavif report a derived image's size from its `ispe`, but decode every tile it
references, each at the tile's own size: a 2.4 KB AVIF whose grid declares 64x64 over 36
tiles of 2048x2048 peaked at 1.1 GB (docs/DESIGN.md, facts measured). Both refuse a grid whose
tiles do not cover its output, or that names a tile twice, before decoding anything.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from profilepics.errors import ImageTooComplex

_HEADER = struct.Struct(">I4s")
# Derived images nested deeper than this are refused, not walked: a camera nests none (a grid
# of coded tiles), and a level the walk did not count would be decoded uncounted.
_DEPTH = 8


@dataclass
class _Items:
    primary: int = 0
    derived: dict[int, list[int]] = field(default_factory=dict)  # dimg: item -> its sources
    auxiliary: dict[int, list[int]] = field(default_factory=dict)  # auxl: item -> its aux images
    overlay: int = 0  # the pixels of the primary item's canvas, when it is an iovl
    sizes: dict[int, int] = field(default_factory=dict)  # item -> its ispe's pixels


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box from start to end; stops at a malformed one."""
    at = start
    while at + 8 <= end:
        size, kind = _HEADER.unpack_from(data, at)
        body = at + 8
        if size == 1 and body + 8 <= end:
            size = int.from_bytes(data[body : body + 8], "big")
            body += 8
        elif size == 0:
            size = end - at
        if size < body - at or at + size > end:
            return
        yield kind, body, at + size
        at += size


def _counted(data: bytes, start: int, end: int, cap: int) -> Iterator[tuple[bytes, int, int]]:
    """_boxes, ImageTooComplex past cap of them (libheif skips 5 MB of empty ones in ~0.1 s;
    this walk took 0.26 s)."""
    for index, box in enumerate(_boxes(data, start, end)):
        if index >= cap:
            raise _too_many("boxes", cap)
        yield box


def source_pixels(data: bytes, max_items: int) -> int:
    """The pixels of the coded images decoding the primary item decodes: its own, or those it
    is derived from, and its auxiliary images', plus an overlay primary's canvas; 0 if the
    boxes say nothing we can read (the decoder judges those). ImageTooComplex if the file
    lists more than max_items items, properties or references, or derives deeper than _DEPTH."""
    items = _read(data, max_items)
    return items.overlay + _pixels(items, items.primary, 0, {})


def _pixels(items: _Items, item: int, depth: int, known: dict[int, int]) -> int:
    """Each item's count once (a reference graph of a few hundred boxes can name 100**8 paths);
    an item within its own derivation counts 0 (both decoders refuse the cycle)."""
    if item in known:
        return known[item]
    if depth > _DEPTH:
        raise ImageTooComplex(f"The HEIF's images are derived more than {_DEPTH} levels deep.")
    known[item] = 0
    sources = items.derived.get(item)
    own = items.sizes.get(item, 0)
    if sources is not None:
        own = sum(_pixels(items, source, depth + 1, known) for source in sources)
    auxiliary = items.auxiliary.get(item, [])
    known[item] = own + sum(_pixels(items, aux, depth + 1, known) for aux in auxiliary)
    return known[item]


def _read(data: bytes, cap: int) -> _Items:
    items = _Items()
    meta = next((b for b in _counted(data, 0, len(data), cap) if b[0] == b"meta"), None)
    if meta is None:
        return items
    boxes = list(_counted(data, meta[1] + 4, meta[2], cap))
    for kind, start, end in boxes:
        if kind == b"pitm" and end - start >= 6:
            wide = data[start] != 0
            items.primary = int.from_bytes(data[start + 4 : start + (8 if wide else 6)], "big")
        elif kind == b"iref":
            _read_iref(data, start, end, items, cap)
        elif kind == b"iprp":
            _read_iprp(data, start, end, items, cap)
    found = {kind: (start, end) for kind, start, end in reversed(boxes)}
    if b"iinf" in found and b"iloc" in found and _primary_type(data, found, items) == b"iovl":
        items.overlay = _canvas(_primary_data(data, found, items.primary, 18, cap))
    return items


def _canvas(body: bytes) -> int:
    """The pixels of an iovl's canvas: version, flags, four 16-bit fill values, then its
    width and height (32-bit when flags bit 0 is set)."""
    width = 4 if len(body) >= 2 and body[1] & 1 else 2
    fields = body[10 : 10 + 2 * width]
    if len(fields) < 2 * width:
        return 0
    return int.from_bytes(fields[:width], "big") * int.from_bytes(fields[width:], "big")


def _primary_type(data: bytes, found: dict[bytes, tuple[int, int]], items: _Items) -> bytes:
    """The primary item's type, from its infe (version 2 or 3) in iinf."""
    start, end = found[b"iinf"]
    first = start + (6 if data[start] == 0 else 8)
    for kind, at, stop in _boxes(data, first, end):
        version = data[at] if at < stop else 0
        if kind != b"infe" or version not in (2, 3):
            continue
        width = 2 if version == 2 else 4
        if stop - at >= 4 + width + 6:
            item = int.from_bytes(data[at + 4 : at + 4 + width], "big")
            if item == items.primary:
                return data[at + 4 + width + 2 : at + 4 + width + 6]
    return b""


def _primary_data(
    data: bytes, found: dict[bytes, tuple[int, int]], item: int, need: int, cap: int
) -> bytes:
    """The first need bytes of item's first extent, from a file offset or the idat box.
    ImageTooComplex past cap items or extents (fields may be 0 bytes wide: 8 KB of them named
    65 million extents and took this walk 58 s)."""
    at, end = found[b"iloc"]
    version = data[at]
    sizes = data[at + 4 : at + 6]
    if version > 2 or len(sizes) < 2:
        return b""
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15 if version else 0)
    id_width = 4 if version == 2 else 2
    count_width = 4 if version == 2 else 2
    at += 6

    def read(width: int) -> int:
        nonlocal at
        value = int.from_bytes(data[at : at + width], "big")
        at += width
        return value

    count, listed = read(count_width), 0
    if count > cap:
        raise _too_many("items", cap)
    for _ in range(count):
        if at >= end:
            return b""
        this = read(id_width)
        method = read(2) & 15 if version else 0
        read(2)  # data reference index
        base = read(base_size)
        extents = read(2)
        listed += extents
        if listed > cap:
            raise _too_many("item extents", cap)
        spans = [(read(index_size), read(offset_size), read(length_size)) for _ in range(extents)]
        if this == item and spans:
            start = base + spans[0][1]
            if method == 1 and b"idat" in found:
                start += found[b"idat"][0]
            elif method != 0:
                return b""
            return data[start : start + min(need, spans[0][2])]
    return b""


def _too_many(what: str, cap: int) -> ImageTooComplex:
    return ImageTooComplex(f"The file lists more than {cap} {what}; no encoder writes that many.")


def _read_iref(data: bytes, start: int, end: int, items: _Items, cap: int) -> None:
    width = 4 if data[start] else 2
    kind = ">I" if width == 4 else ">H"
    total = 0
    for name, at, stop in _boxes(data, start + 4, end):
        if name not in (b"dimg", b"auxl") or at + 2 * width + 2 > stop:
            continue
        source = int.from_bytes(data[at : at + width], "big")
        count = int.from_bytes(data[at + width : at + width + 2], "big")
        total += count
        if total > cap:
            raise _too_many("image references", cap)
        first = at + width + 2
        count = min(count, (stop - first) // width)
        refs = struct.unpack_from(f">{count}{kind[1]}", data, first)
        if name == b"dimg":
            items.derived.setdefault(source, []).extend(refs)
        else:  # the auxiliary image source describes each of refs
            for ref in refs:
                items.auxiliary.setdefault(ref, []).append(source)


def _read_iprp(data: bytes, start: int, end: int, items: _Items, cap: int) -> None:
    boxes = {kind: (at, stop) for kind, at, stop in _boxes(data, start, end)}
    if b"ipco" not in boxes or b"ipma" not in boxes:
        return
    ispe: dict[int, int] = {}  # property index (from 1) -> pixels
    for index, (kind, at, stop) in enumerate(_boxes(data, *boxes[b"ipco"]), start=1):
        if index > cap:
            raise _too_many("item properties", cap)
        if kind == b"ispe" and stop - at >= 12:
            width, height = struct.unpack_from(">II", data, at + 4)
            ispe[index] = width * height
    at, stop = boxes[b"ipma"]
    if stop - at < 8:
        return
    version, flags = data[at], data[at + 3]
    id_width, index_width = (4 if version else 2), (2 if flags & 1 else 1)
    entries = int.from_bytes(data[at + 4 : at + 8], "big")
    if entries > cap:
        raise _too_many("items", cap)
    at += 8
    for _ in range(entries):
        if at + id_width + 1 > stop:
            return
        item = int.from_bytes(data[at : at + id_width], "big")
        count = data[at + id_width]
        at += id_width + 1
        for _ in range(count):
            value = int.from_bytes(data[at : at + index_width], "big")
            at += index_width
            index = value & (0x7FFF if index_width == 2 else 0x7F)
            if index in ispe:
                items.sizes[item] = ispe[index]
