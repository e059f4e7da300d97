"""What a HEIF's primary image costs to decode: the pixels of every coded image it is built
from when it is derived (a `grid`, `iovl` or `iden` item), and of its auxiliary (alpha)
images, read from the ISO-BMFF boxes.

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
_DEPTH = 8  # libheif refuses derived images nested deeper; a bound on the walk either way


@dataclass
class _Items:
    primary: int = 0
    derived: dict[int, list[int]] = field(default_factory=dict)  # dimg: item -> its sources
    auxiliary: dict[int, list[int]] = field(default_factory=dict)  # auxl: item -> its aux images
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
    is derived from, and its auxiliary images'; 0 if the boxes say nothing we can read (the
    decoder judges those). ImageTooComplex if the file lists more than max_items items,
    properties or references."""
    items = _read(data, max_items)
    return _pixels(items, items.primary, 0)


def _pixels(items: _Items, item: int, depth: int) -> int:
    if depth > _DEPTH:
        return 0
    sources = items.derived.get(item)
    own = items.sizes.get(item, 0)
    if sources is not None:
        own = sum(_pixels(items, source, depth + 1) for source in sources)
    return own + sum(_pixels(items, aux, depth + 1) for aux in items.auxiliary.get(item, []))


def _read(data: bytes, cap: int) -> _Items:
    items = _Items()
    meta = next((b for b in _counted(data, 0, len(data), cap) if b[0] == b"meta"), None)
    if meta is None:
        return items
    for kind, start, end in _counted(data, meta[1] + 4, meta[2], cap):
        if kind == b"pitm" and end - start >= 6:
            wide = data[start] != 0
            items.primary = int.from_bytes(data[start + 4 : start + (8 if wide else 6)], "big")
        elif kind == b"iref":
            _read_iref(data, start, end, items, cap)
        elif kind == b"iprp":
            _read_iprp(data, start, end, items, cap)
    return items


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
