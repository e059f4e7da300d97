"""Where a JPEG's scans lie, the fewest bytes its blocks can be coded in, and the bytes to hand
libjpeg so that a scan cut short is reported. No I/O, no Pillow.

Each reader is lenient: what it cannot parse it leaves to the decoder, which refuses it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from profilepics.containers import Shortfall, refuse
from profilepics.errors import ImageCorrupt, ImageTooComplex, UnsupportedMediaType

# Each 8x8 block of a Huffman-coded JPEG costs at least one code for its DC and, in a
# sequential scan, one for its AC (an end-of-block): a bit each.
_SEQUENTIAL_BITS_PER_BLOCK = 2
_PROGRESSIVE_BITS_PER_BLOCK = 1

# --- JPEG ----------------------------------------------------------------------------------

# A marker inside entropy-coded data: 0xFF then anything but a stuffed zero or a restart.
SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SEQUENTIAL_HUFFMAN = (0xC0, 0xC1)
_PROGRESSIVE_HUFFMAN = (0xC2,)
# libjpeg supplies zeros past a marker in an arithmetic scan, as the format allows, so a cut
# one decodes whole; it has no byte floor; and libjpeg's arithmetic decoder cannot wait for
# data, so Pillow (feeding it 64 KB at a time) fails whole ones larger than that.
_ARITHMETIC = (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
# Each scan costs libjpeg a pass over the blocks of its components however few bytes it has
# (end-of-band runs cover 32,767 blocks in a code; a refinement scan still looks at every
# coefficient of each block): 2,000 scans in 52 KB took 5 s of CPU. libjpeg's own progressions
# have 6 (grey) to 18 (CMYK); at the cap, a 7000x7000 picture's refinement scans cost ~1 s,
# about what its decode costs anyway (docs/DESIGN.md, facts measured).
MAX_SCANS = 32
# libjpeg(-turbo) tops its bit buffer up to 57 bits before a symbol: at most 8 bytes past the
# last one a whole scan uses (the least any of 434 whole test JPEGs needed was 7). Each byte
# more is one a cut scan's missing tail can be decoded from (as zeros) instead of reported.
_LOOKAHEAD_PADDING = bytes(8)


@dataclass(frozen=True)
class Layout:
    frame_type: int = 0
    blocks: int = 0
    scans: tuple[tuple[int, int], ...] = ()  # (start, end) of each scan's entropy-coded data
    segments: int = 0  # marker segments read (the walk stops once past its cap)
    components: tuple[int, ...] = ()  # the frame's component ids
    scan_headers: tuple[bytes, ...] = ()  # each scan's SOS body: components, Ss, Se, Ah/Al

    @property
    def scan_bytes(self) -> int:
        return sum(end - start for start, end in self.scans)


def _blocks(sof: bytes) -> int:
    """8x8 blocks of every component, without the padding an interleaved scan adds."""
    height, width, count = struct.unpack(">HHB", sof[1:6])
    sampling = [sof[7 + 3 * i] for i in range(count) if 7 + 3 * i < len(sof)]
    if not sampling:
        return 0
    h_max = max(s >> 4 for s in sampling) or 1
    v_max = max(s & 15 for s in sampling) or 1
    total = 0
    for s in sampling:
        columns = -(-width * (s >> 4) // h_max)
        rows = -(-height * (s & 15) // v_max)
        total += -(-columns // 8) * -(-rows // 8)
    return total


def layout_of(data: bytes, max_segments: int) -> Layout:
    """The frame type, its block count and where each scan's data lies, up to the EOI or the
    segment past max_segments."""
    frame_type, blocks, scans = 0, 0, list[tuple[int, int]]()
    components: tuple[int, ...] = ()
    headers: list[bytes] = []
    pos, segments = 2, 0
    while pos + 4 <= len(data) and segments <= max_segments:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte
            continue
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = data[pos + 4 : pos + 2 + length]
        pos += 2 + length
        segments += 1
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and len(body) >= 6:
            frame_type, blocks = marker, _blocks(body)
            components = tuple(body[6 : 6 + 3 * body[5] : 3])
        elif marker == 0xDA:
            headers.append(body)
            found = SCAN_END.search(data, pos)
            end = found.start() if found else len(data)
            scans.append((pos, end))
            pos = end
    return Layout(frame_type, blocks, tuple(scans), segments, components, tuple(headers))


def check_coding(layout: Layout) -> None:
    """UnsupportedMediaType for arithmetic coding, before any scan is decoded."""
    if layout.frame_type in _ARITHMETIC:
        raise UnsupportedMediaType(
            "The JPEG is arithmetic-coded, which is not accepted (a cut one cannot be told "
            "from a whole one); save it as a baseline or progressive JPEG."
        )


def check_floor(layout: Layout) -> None:
    if layout.frame_type in _SEQUENTIAL_HUFFMAN:
        bits = _SEQUENTIAL_BITS_PER_BLOCK
    elif layout.frame_type in _PROGRESSIVE_HUFFMAN:
        bits = _PROGRESSIVE_BITS_PER_BLOCK
    else:
        return  # arithmetic coding is refused; lossless and hierarchical Pillow refuses
    needs = layout.blocks * bits // 8
    if layout.scans and layout.scan_bytes < needs:
        refuse(Shortfall("JPEG scan data", layout.scan_bytes, needs))


def check_complete(layout: Layout) -> None:
    """ImageCorrupt unless the scans code every coefficient of every component to its last bit.

    A JPEG cut before its last scan with an EOI put back decodes: libjpeg meets the EOI, leaves
    what the missing scans held at zero (a progressive picture blurred or grey, a sequential
    one's component grey) and warns, and Pillow drops its warnings. Headers it cannot read are
    left to the decoder.
    """
    if layout.frame_type not in _SEQUENTIAL_HUFFMAN + _PROGRESSIVE_HUFFMAN:
        return
    # The bit each coefficient is coded down to so far (Al); 64: not coded at all.
    low = {component: [64] * 64 for component in layout.components}
    for header in layout.scan_headers:
        count = header[0] if header else 0
        if len(header) < 4 + 2 * count:
            return
        start, end, approximation = header[1 + 2 * count : 4 + 2 * count]
        for component in header[1 : 1 + 2 * count : 2]:
            coefficients = low.get(component)
            if coefficients is None or start > end or end > 63:
                return
            coefficients[start : end + 1] = [approximation & 15] * (end + 1 - start)
    if any(any(coefficients) for coefficients in low.values()):
        raise ImageCorrupt(
            "The JPEG's scans do not code the whole picture: it was cut short and its end "
            "marker put back, or crafted."
        )


def check_scans(layout: Layout) -> None:
    """ImageTooComplex for more scans than MAX_SCANS, before any is decoded."""
    if len(layout.scans) > MAX_SCANS:
        raise ImageTooComplex(
            f"The JPEG has {len(layout.scans)} scans; the limit is {MAX_SCANS}. Each costs "
            "a pass over the whole picture."
        )


def for_decoding(data: bytes, layout: Layout) -> bytes:
    """The bytes to hand libjpeg so that a cut scan is reported rather than filled with grey.

    libjpeg meets an EOI inside a scan with a warning and fills the missing blocks, and Pillow
    drops its warnings. Without the EOI, a short scan runs out of data instead, which Pillow
    does report; a whole one never reads past its end but for a few bytes of lookahead, which
    the zero padding gives it. Only single-scan Huffman JPEGs: a progressive one is read to its
    EOI before the first row comes out, so it would always look cut.
    """
    if layout.frame_type in _SEQUENTIAL_HUFFMAN and len(layout.scans) == 1:
        return b"".join((memoryview(data)[: layout.scans[0][1]], _LOOKAHEAD_PADDING))
    return data
