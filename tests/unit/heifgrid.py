"""HEIC and AVIF grid images (a `grid` item deriving from coded tiles through `iref dimg`),
written box by box around one tile that pillow-heif or Pillow coded: no encoder writes the
hostile shapes (thousands of references, a small `ispe` over huge tiles) the tests need."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version: int, flags: int, body: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + body)


def _children(data: bytes) -> dict[bytes, bytes]:
    """The first box of each type in data (nested boxes are not entered), with its header."""
    found: dict[bytes, bytes] = {}
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        found.setdefault(kind, data[at : at + size])
        at += size
    return found


@dataclass(frozen=True)
class Tile:
    """One coded picture: its codec item type, its configuration property and its bytes."""

    item_type: bytes
    config: bytes  # the hvcC or av1C box
    data: bytes
    size: tuple[int, int]


def tile(fmt: str, size: tuple[int, int], colour: tuple[int, int, int] = (255, 0, 0)) -> Tile:
    """A flat tile of size coded as HEIC (pillow-heif) or AVIF (Pillow's libavif)."""
    picture = Image.new("RGB", size, colour)
    out = io.BytesIO()
    if fmt == "HEIC":
        import pillow_heif

        heif = pillow_heif.from_bytes("RGB", size, picture.tobytes())
        heif.save(out, quality=50)
        config_kind, item_type = b"hvcC", b"hvc1"
    else:
        picture.save(out, "AVIF", quality=50)
        config_kind, item_type = b"av1C", b"av01"
    data = out.getvalue()
    top = _children(data)
    at = data.index(config_kind) - 4
    config = data[at : at + struct.unpack(">I", data[at : at + 4])[0]]
    return Tile(item_type, config, _primary_bytes(top[b"meta"], data), size)


def _primary_bytes(meta: bytes, data: bytes) -> bytes:
    """The coded bytes of the primary item, from its iloc entry (one extent, file offsets)."""
    boxes = _children(meta[12:])
    primary = struct.unpack(">H", boxes[b"pitm"][12:14])[0]
    iloc = boxes[b"iloc"]
    version = iloc[8]
    sizes = iloc[12]
    offset_size, length_size = sizes >> 4, sizes & 15
    base_size = iloc[13] >> 4
    index_size = iloc[13] & 15 if version in (1, 2) else 0
    count = struct.unpack(">H", iloc[14:16])[0]
    at = 16

    def read(width: int) -> int:
        nonlocal at
        value = int.from_bytes(iloc[at : at + width], "big") if width else 0
        at += width
        return value

    for _ in range(count):
        item = read(2)
        if version in (1, 2):
            read(2)  # construction method (0: file offsets)
        read(2)  # data reference index
        base = read(base_size)
        extents = read(2)
        spans = []
        for _ in range(extents):
            read(index_size)
            spans.append((base + read(offset_size), read(length_size)))
        if item == primary:
            return b"".join(data[start : start + length] for start, length in spans)
    raise ValueError("no primary item in the iloc box")


class _Properties:
    """The ipco box's properties, each written once, numbered from 1 as ipma names them."""

    def __init__(self) -> None:
        self.boxes: list[bytes] = []

    def add(self, box: bytes) -> int:
        if box not in self.boxes:
            self.boxes.append(box)
        return self.boxes.index(box) + 1

    def ispe(self, size: tuple[int, int]) -> int:
        return self.add(_full(b"ispe", 0, 0, struct.pack(">II", *size)))


def _iprp(associations: list[tuple[int, list[tuple[int, bool]]]], props: _Properties) -> bytes:
    body = struct.pack(">I", len(associations))
    for item_id, indexes in associations:
        body += struct.pack(">HB", item_id, len(indexes))
        body += bytes((0x80 if essential else 0) | index for index, essential in indexes)
    return _box(b"iprp", _box(b"ipco", b"".join(props.boxes)) + _full(b"ipma", 0, 0, body))


def _iinf(items: list[tuple[int, bytes]]) -> bytes:
    """An infe (version 2) for each (id, item type); all but the first (the primary) hidden."""
    entries = b"".join(
        _full(b"infe", 2, 1 if index else 0, struct.pack(">HH", item_id, 0) + kind + b"\0")
        for index, (item_id, kind) in enumerate(items)
    )
    return _full(b"iinf", 1, 0, struct.pack(">I", len(items)) + entries)


def _file(brand: bytes, boxes: bytes, items: list[tuple[int, bytes]], free: int = 0) -> bytes:
    """ftyp, meta (hdlr, pitm of the first item, iloc, then boxes) and an mdat holding each
    distinct item payload once: items with the same bytes share them through iloc. free empty
    boxes go between ftyp and meta."""
    payloads: list[bytes] = []
    where: dict[bytes, int] = {}
    for _, blob in items:
        if blob not in where:
            where[blob] = sum(map(len, payloads))
            payloads.append(blob)
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 0) + b"mif1" + brand + b"miaf")
    ftyp += _box(b"free", b"") * free

    def meta(mdat_start: int) -> bytes:
        iloc = bytes([0x44, 0x00]) + struct.pack(">H", len(items))  # v1, 4-byte offsets
        for item_id, blob in items:
            iloc += struct.pack(">HHHHII", item_id, 0, 0, 1, mdat_start + where[blob], len(blob))
        hdlr = _full(b"hdlr", 0, 0, struct.pack(">I", 0) + b"pict" + bytes(12) + b"\0")
        pitm = _full(b"pitm", 0, 0, struct.pack(">H", items[0][0]))
        return _full(b"meta", 0, 0, hdlr + pitm + _full(b"iloc", 1, 0, iloc) + boxes)

    mdat_start = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(mdat_start) + _box(b"mdat", b"".join(payloads))


def grid(
    tiles: list[Tile],
    columns: int,
    rows: int,
    output: tuple[int, int],
    *,
    ispe: tuple[int, int] | None = None,
    references: list[int] | None = None,
    irot: int | None = None,
    imir: int | None = None,
    exif: bytes | None = None,
    free: int = 0,
) -> bytes:
    """A HEIF whose primary item is a grid of columns x rows cells, output pixels large.

    tiles are coded items 2..; references says which tile (by index) fills each cell, in row
    order (default: the tiles in order). ispe is what the grid declares (default: output);
    irot/imir transform it; exif is an Exif item describing the grid; free empty boxes
    precede the meta box.
    """
    cells = references if references is not None else list(range(len(tiles)))
    big = output[0] > 65535 or output[1] > 65535
    grid_data = struct.pack(">BBBB", 0, 1 if big else 0, rows - 1, columns - 1)
    grid_data += struct.pack(">II" if big else ">HH", *output)
    items = [(1, grid_data)] + [(2 + index, t.data) for index, t in enumerate(tiles)]
    kinds = [(1, b"grid")] + [(2 + index, t.item_type) for index, t in enumerate(tiles)]

    props = _Properties()
    grid_props = [(props.ispe(ispe or output), False)]
    if irot is not None:
        grid_props.append((props.add(_box(b"irot", bytes([irot]))), True))
    if imir is not None:
        grid_props.append((props.add(_box(b"imir", bytes([imir]))), True))
    associations = [(1, grid_props)] + [
        (2 + index, [(props.add(t.config), True), (props.ispe(t.size), False)])
        for index, t in enumerate(tiles)
    ]
    dimg = struct.pack(f">HH{len(cells)}H", 1, len(cells), *(2 + c for c in cells))
    references_box = _box(b"dimg", dimg)
    if exif is not None:
        exif_id = len(items) + 1
        offset = 6 if exif.startswith(b"Exif\0\0") else 0
        items.append((exif_id, struct.pack(">I", offset) + exif))
        kinds.append((exif_id, b"Exif"))
        references_box += _box(b"cdsc", struct.pack(">HHH", exif_id, 1, 1))
    boxes = _iinf(kinds) + _full(b"iref", 0, 0, references_box) + _iprp(associations, props)
    return _file(b"heic" if tiles[0].item_type == b"hvc1" else b"avif", boxes, items, free)


def nested(tile: Tile, ispe: tuple[int, int]) -> bytes:
    """A 2x2 grid (declaring ispe) of 2x2 grids of tile."""
    width, height = tile.size
    inner, tiles = [2, 3, 4, 5], list(range(6, 22))
    items = [(1, struct.pack(">BBBBHH", 0, 0, 1, 1, 4 * width, 4 * height))]
    items += [(i, struct.pack(">BBBBHH", 0, 0, 1, 1, 2 * width, 2 * height)) for i in inner]
    items += [(i, tile.data) for i in tiles]
    kinds = [(1, b"grid")] + [(i, b"grid") for i in inner] + [(i, tile.item_type) for i in tiles]
    props = _Properties()
    coded = [(props.add(tile.config), True), (props.ispe(tile.size), False)]
    associations = [(1, [(props.ispe(ispe), False)])]
    associations += [(i, [(props.ispe((2 * width, 2 * height)), False)]) for i in inner]
    associations += [(i, coded) for i in tiles]
    dimg = _box(b"dimg", struct.pack(">HH4H", 1, 4, *inner))
    for k, i in enumerate(inner):
        dimg += _box(b"dimg", struct.pack(">HH4H", i, 4, *tiles[4 * k : 4 * k + 4]))
    boxes = _iinf(kinds) + _full(b"iref", 0, 0, dimg) + _iprp(associations, props)
    return _file(b"heic" if tile.item_type == b"hvc1" else b"avif", boxes, items)


def with_alpha(picture: Tile, alpha: Tile) -> bytes:
    """picture as the primary item, alpha as its auxiliary alpha image (of any size)."""
    urn = b"urn:mpeg:hevc:2015:auxid:1" if picture.item_type == b"hvc1" else _AV1_ALPHA
    props = _Properties()
    associations = [
        (1, [(props.add(picture.config), True), (props.ispe(picture.size), False)]),
        (
            2,
            [
                (props.add(alpha.config), True),
                (props.ispe(alpha.size), False),
                (props.add(_full(b"auxC", 0, 0, urn + b"\0")), True),
            ],
        ),
    ]
    auxl = _box(b"auxl", struct.pack(">HHH", 2, 1, 1))
    kinds = [(1, picture.item_type), (2, alpha.item_type)]
    boxes = _iinf(kinds) + _full(b"iref", 0, 0, auxl) + _iprp(associations, props)
    brand = b"heic" if picture.item_type == b"hvc1" else b"avif"
    return _file(brand, boxes, [(1, picture.data), (2, alpha.data)])


_AV1_ALPHA = b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"


def overlay(tile: Tile, canvas: tuple[int, int]) -> bytes:
    """An iovl primary item (ispe 64x64) painting tile at 0,0 on a canvas of that size."""
    props = _Properties()
    data = struct.pack(">BB4HHHhh", 0, 0, 0, 0, 0, 65535, *canvas, 0, 0)
    associations = [
        (1, [(props.ispe((64, 64)), False)]),
        (2, [(props.add(tile.config), True), (props.ispe(tile.size), False)]),
    ]
    dimg = _box(b"dimg", struct.pack(">HHH", 1, 1, 2))
    kinds = [(1, b"iovl"), (2, tile.item_type)]
    boxes = _iinf(kinds) + _full(b"iref", 0, 0, dimg) + _iprp(associations, props)
    return _file(b"heic", boxes, [(1, data), (2, tile.data)])


def chain(tile: Tile, levels: int, fan: int) -> bytes:
    """Grids 1..levels, each naming the next fan times (the last names itself): a reference
    graph of a few hundred bytes with fan**levels paths through it."""
    props = _Properties()
    grid_data = struct.pack(">BBBBHH", 0, 0, 0, fan - 1, fan * 64, 64)
    items = [(i, grid_data) for i in range(1, levels + 1)] + [(levels + 1, tile.data)]
    kinds = [(i, b"grid") for i in range(1, levels + 1)] + [(levels + 1, tile.item_type)]
    associations = [(i, [(props.ispe((64, 64)), False)]) for i in range(1, levels + 1)]
    associations.append(
        (levels + 1, [(props.add(tile.config), True), (props.ispe(tile.size), False)])
    )
    dimg = b"".join(
        _box(b"dimg", struct.pack(f">HH{fan}H", i, fan, *[i + 1 if i < levels else i] * fan))
        for i in range(1, levels + 1)
    )
    boxes = _iinf(kinds) + _full(b"iref", 0, 0, dimg) + _iprp(associations, props)
    return _file(b"heic", boxes, items)


def with_empty_extents(heif: bytes, items: int, extents: int) -> bytes:
    """heif with its iloc replaced by items entries of extents extents each, every field 0 bytes
    wide: a few bytes an item, however many extents it names."""
    at = heif.index(b"iloc") - 4
    (size,) = struct.unpack(">I", heif[at : at + 4])
    entries = b"".join(struct.pack(">HHHH", 1 + k, 0, 0, extents) for k in range(items))
    iloc = _full(b"iloc", 1, 0, bytes(2) + struct.pack(">H", items) + entries)
    meta = heif.index(b"meta") - 4
    (meta_size,) = struct.unpack(">I", heif[meta : meta + 4])
    grown = heif[:meta] + struct.pack(">I", meta_size + len(iloc) - size) + heif[meta + 4 :]
    return grown[:at] + iloc + grown[at + size :]
