"""GIF read as blocks, each frame decoded on its own, and written again from its blocks. No I/O.

Pillow composites every frame onto the whole canvas before handing it out, and its GIF writer
quantises composited RGB frames back to palettes: a 2,339-byte GIF of a hundred 1x1 frames on
a 1000x1000 canvas took 4.7 s. Here each frame's own rectangle is decoded by Pillow's GIF
decoder (which checks its LZW data), then the frame is written again with its own LZW data,
byte for byte: its place, delay, disposal, clear colour, palette and pixels stay as they were,
and nothing else reaches the output (no comments, no application or plain-text blocks but the
loop count). Encoding the indices again bought nothing but cost more than the decode
(docs/DESIGN.md, facts measured).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PIL import Image

from profilepics.containers import Shortfall, refuse
from profilepics.errors import ImageCorrupt

# Once its table is full, LZW emits 12-bit codes of at most 4,091 pixels each.
_LZW_MAX_PIXELS_PER_BYTE = 2728
_LZW_CODE_SIZES = (2, 8)
_HEADER = 13
_FULL = 255
_STRIDE = _FULL + 1  # a full sub-block and its length byte
_RUN = 64  # full sub-blocks looked at in one slice
_SHORT = 128  # a sub-block this short counts as a block of its own against the cap


@dataclass(frozen=True)
class Frame:
    left: int
    top: int
    width: int
    height: int
    interlaced: bool
    palette: bytes | None  # its own colour table, if it has one
    code_size: int
    blocks: bytes  # the image data's sub-blocks, as framed in the file, with their terminator
    lzw_bytes: int  # the image data without its framing
    delay: int = 0  # hundredths of a second, from the graphic control block before it
    disposal: int = 0
    transparent: int | None = None


@dataclass
class Gif:
    width: int
    height: int
    palette: bytes | None
    background: int
    loop: int | None = None
    frames: list[Frame] = field(default_factory=list)
    blocks: int = 0  # frames and extensions read

    @property
    def canvas(self) -> tuple[int, int]:
        """The logical screen grown to hold every frame, as Pillow and browsers draw it."""
        width = max([self.width] + [f.left + f.width for f in self.frames])
        height = max([self.height] + [f.top + f.height for f in self.frames])
        return width, height


def _table(data: bytes, pos: int, flags: int) -> tuple[bytes | None, int]:
    if not flags & 0x80:
        return None, pos
    size = 3 << ((flags & 7) + 1)
    return data[pos : pos + size], pos + size


def _sub_blocks(data: bytes, pos: int) -> tuple[bytes, int]:
    """The payload of the sub-blocks at pos, and where they end."""
    parts: list[bytes] = []
    while pos < len(data) and data[pos]:
        parts.append(data[pos + 1 : pos + 1 + data[pos]])
        pos += data[pos] + 1
    return b"".join(parts), pos + 1


def _image_data(data: bytes, pos: int, short_allowed: int) -> tuple[bytes, int, int, int]:
    """The sub-blocks at pos as framed (framed again if the file ends inside them), the bytes
    they carry, where they end, and how many were short (under _SHORT bytes); the reading stops
    past short_allowed of those (encoders write full ones but the last: a file of 1-byte ones
    cost a loop step every 2 bytes)."""
    start, end, blocks, short = pos, len(data), 0, 0
    while pos < end:  # the hot loop of every GIF read
        length = data[pos]
        if length == _FULL:
            # Full sub-blocks, as encoders write them: their length bytes are _STRIDE apart.
            run = data[pos : pos + _STRIDE * _RUN : _STRIDE]
            full = len(run) - len(run.lstrip(b"\xff"))
            pos += _STRIDE * full
            blocks += full
            continue
        if not length:
            return data[start : pos + 1], pos - start - blocks, pos + 1, short
        if length < _SHORT:
            short += 1
            if short > short_allowed:
                return b"", 0, end, short  # past the caller's cap, which refuses the file
        pos += length + 1
        blocks += 1
    payload, after = _sub_blocks(data, start)
    return _framed(payload), len(payload), after, short


def _framed(payload: bytes) -> bytes:
    chunks = (payload[i : i + 255] for i in range(0, len(payload), 255))
    return b"".join(bytes([len(chunk)]) + chunk for chunk in chunks) + b"\0"


def parse(data: bytes, cap: int, max_blocks: int | None = None) -> Gif:
    """The screen and up to cap frames, leniently: a damaged block ends the reading, and so
    does the block past max_blocks (frames and extensions)."""
    if len(data) < _HEADER:
        return Gif(0, 0, None, 0)
    width, height, flags, background = struct.unpack("<HHBB", data[6:12])
    palette, pos = _table(data, _HEADER, flags)
    gif = Gif(width, height, palette, background)
    control: tuple[int, int, int | None] = (0, 0, None)
    stop = len(data) if max_blocks is None else max_blocks
    while pos < len(data) and len(gif.frames) < cap and gif.blocks <= stop:
        gif.blocks += 1
        if data[pos] == 0x2C and pos + 10 <= len(data):
            left, top, w, h, flags = struct.unpack("<HHHHB", data[pos + 1 : pos + 10])
            local, pos = _table(data, pos + 10, flags)
            if pos >= len(data):
                break  # its colour table runs to the end, or past it: no image data
            code_size = data[pos]
            # Short sub-blocks count as blocks: past the cap, the reading ends.
            blocks, carried, pos, short = _image_data(data, pos + 1, stop - gif.blocks + 1)
            gif.blocks += max(0, short - 1)
            interlaced = bool(flags & 0x40)
            frame = Frame(left, top, w, h, interlaced, local, code_size, blocks, carried, *control)
            gif.frames.append(frame)
            control = (0, 0, None)
        elif data[pos] == 0x21 and pos + 2 <= len(data):
            label = data[pos + 1]
            body, pos = _sub_blocks(data, pos + 2)
            if label == 0xF9 and len(body) >= 4:
                delay = struct.unpack("<H", body[1:3])[0]
                control = (delay, (body[0] >> 2) & 7, body[3] if body[0] & 1 else None)
            elif label == 0xFF and body[:11] == b"NETSCAPE2.0" and len(body) >= 14:
                gif.loop = struct.unpack("<H", body[12:14])[0]
        else:
            break
    return gif


def check_floor(gif: Gif) -> None:
    for index, frame in enumerate(gif.frames):
        needs = frame.width * frame.height // _LZW_MAX_PIXELS_PER_BYTE
        if frame.lzw_bytes < needs:
            refuse(Shortfall(f"GIF frame {index}", frame.lzw_bytes, needs))


def _table_bits(palette: bytes) -> int:
    """The 3-bit size field of a colour table of len(palette) // 3 entries."""
    return max(0, (len(palette) // 3).bit_length() - 2)


def _decoded(frame: Frame, palette: bytes | None) -> Image.Image:
    """The frame's own rectangle, every pixel decoded from its LZW data: Pillow's GIF decoder,
    fed the sub-blocks as they are (opening each frame as a GIF of its own cost ~10% more)."""
    if not frame.width or not frame.height:
        raise ImageCorrupt("A GIF frame has no pixels")
    if not _LZW_CODE_SIZES[0] <= frame.code_size <= _LZW_CODE_SIZES[1]:
        # Pillow decodes LZW from 0 to 12 bits; Chromium, as GIF says, from 2 to 8.
        raise ImageCorrupt(f"A GIF frame's LZW code size is {frame.code_size}; GIF has 2 to 8.")
    size, mode = (frame.width, frame.height), "P" if palette else "L"
    # Raises ValueError when the data runs out before the last pixel, or is not LZW.
    img = Image.frombytes(mode, size, frame.blocks, "gif", frame.code_size, frame.interlaced, -1)
    if palette:
        img.putpalette(palette)
    return img


def write(gif: Gif, before_each: Callable[[], None]) -> bytes:
    """The GIF again from its frames, each decoded first; before_each() runs before each."""
    width, height = gif.canvas
    flags = 0x80 | 0x70 | _table_bits(gif.palette) if gif.palette else 0
    out = io.BytesIO()
    out.write(b"GIF89a" + struct.pack("<HHBBB", width, height, flags, gif.background, 0))
    out.write(gif.palette or b"")
    if gif.loop is not None:
        out.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", gif.loop) + b"\0")
    for frame in gif.frames:
        before_each()
        _decoded(frame, frame.palette or gif.palette)
        out.write(_frame(frame))
    out.write(b";")
    return out.getvalue()


def _frame(frame: Frame) -> bytes:
    packed = (frame.disposal & 7) << 2 | (frame.transparent is not None)
    control = struct.pack("<BHB", packed, frame.delay, frame.transparent or 0)
    local = frame.palette
    flags = (0x80 | _table_bits(local) if local else 0) | frame.interlaced << 6
    place = struct.pack("<HHHHB", frame.left, frame.top, frame.width, frame.height, flags)
    return (
        b"\x21\xf9\x04"
        + control
        + b"\0,"
        + place
        + (local or b"")
        + bytes([frame.code_size])
        + frame.blocks
    )


# --- frames as browsers show them (the animated variant) -----------------------------------


def _covers(frame: Frame, canvas: tuple[int, int]) -> bool:
    """Whether drawing the frame replaces every pixel of the canvas."""
    whole = (frame.left, frame.top, frame.width, frame.height) == (0, 0, *canvas)
    return whole and frame.transparent is None


def _colours(frame: Frame, palette: bytes | None, mode: str) -> Image.Image:
    """The frame's own rectangle in mode, or in RGBA when it has a clear colour."""
    img = _decoded(frame, palette)
    if frame.transparent is None:
        return img.convert(mode)
    img.info["transparency"] = frame.transparent
    return img.convert("RGBA")


def shown(gif: Gif, wanted: list[bool], before_each: Callable[[], None]) -> Iterator[Image.Image]:
    """The canvas as browsers show it after each wanted frame (valid until the next).

    Each frame is decoded at its own size and drawn where it goes, then disposed of: kept,
    cleared to transparent, or restored. A frame nobody wants whose next frame covers the
    whole canvas is never seen, so it is not decoded: a clip of full frames capped to half its
    frame rate decodes half of them.
    """
    size = gif.canvas
    # RGB (a third cheaper to convert and resize) unless the canvas can show through.
    opaque = _covers(gif.frames[0], size) and all(f.disposal != 2 for f in gif.frames)
    canvas = Image.new("RGB" if opaque else "RGBA", size)
    for index, frame in enumerate(gif.frames):
        following = gif.frames[index + 1] if index + 1 < len(gif.frames) else None
        if not wanted[index] and following is not None and _covers(following, size):
            continue
        before_each()
        box = (frame.left, frame.top, frame.left + frame.width, frame.top + frame.height)
        saved = canvas.crop(box) if frame.disposal == 3 else None
        pixels = _colours(frame, frame.palette or gif.palette, canvas.mode)
        canvas.paste(pixels, box, pixels if frame.transparent is not None else None)
        if wanted[index]:
            yield canvas
        if frame.disposal == 2:
            canvas.paste((0, 0, 0, 0), box)  # only ever on an RGBA canvas
        elif saved is not None:
            canvas.paste(saved, box)
