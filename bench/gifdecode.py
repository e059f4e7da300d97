"""Issue 15's GIF floor: every frame of the 50-frame 420² GIF decoded, by each decoder at hand.

The upload's check must decode every pixel of every frame; this asks whether another decoder
than Pillow's would do it faster. Rounds alternate, CPU time (every thread), medians:

- the upload's own path: the frames' LZW data straight to Pillow's decoder (`gif.parse`,
  `gif._decoded`), palette-indexed pixels, no compositing;
- Pillow's GIF plugin (`seek` + `load` each frame: composited to RGB);
- libnsgif through pyvips (`gifload_buffer(n=-1)`, the `bench` extra), composited;
- giflib through imagecodecs (`gif_decode`), composited, when it is installed (not a dependency:
  `pip install imagecodecs` to add it);
- Wuffs (the GIF decoder Chromium's Skia uses) through pywuffs, each frame's LZW data as a
  one-frame GIF, palette-indexed like the upload's path, when it is installed (not a dependency:
  `pip install pywuffs numpy` builds it from source; docs/benchmarks.md says why it is not one).

`python -m bench.gifdecode [--repeat N]`; not part of `make bench`.
"""

from __future__ import annotations

import argparse
import io
import struct
import time
from collections.abc import Callable

from PIL import Image
from profilepics import gif

from bench import inputs, variants
from bench.measure import Sample


def _ours(data: bytes) -> None:
    parsed = gif.parse(data, cap=1_000)
    for frame in parsed.frames:
        gif._decoded(frame, frame.palette or parsed.palette)


def _pillow(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            img.load()


def _wuffs() -> Callable[[bytes], None] | None:
    try:
        import pywuffs  # type: ignore[import-not-found,unused-ignore]
        from pywuffs import aux  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    config = aux.ImageDecoderConfig()
    config.enabled_decoders = [pywuffs.ImageDecoderType.GIF]
    config.pixel_format = pywuffs.PixelFormat.INDEXED__BGRA_BINARY
    decoder = aux.ImageDecoder(config)

    def one_frame(frame: gif.Frame, palette: bytes) -> bytes:
        size = frame.width, frame.height
        screen = struct.pack("<HHBBB", *size, 0xF0 | gif._table_bits(palette), 0, 0)
        place = struct.pack("<HHHHB", 0, 0, *size, frame.interlaced << 6)
        image = place + bytes([frame.code_size]) + frame.blocks
        return b"GIF89a" + screen + palette + b"," + image + b";"

    def decode(data: bytes) -> None:
        parsed = gif.parse(data, cap=1_000)
        for frame in parsed.frames:
            found = decoder.decode(one_frame(frame, frame.palette or parsed.palette or b""))
            if found.error_message:
                raise ValueError(found.error_message)

    return decode


def _decoders() -> dict[str, Callable[[bytes], object]]:
    found: dict[str, Callable[[bytes], object]] = {
        "upload's path (LZW → P, Pillow)": _ours,
        "Pillow GifImagePlugin (RGB)": _pillow,
    }
    vips = variants.pyvips_module()
    if vips is not None:
        found["libnsgif via pyvips (RGB)"] = lambda data: vips.Image.gifload_buffer(
            data, n=-1
        ).avg()
    try:
        import imagecodecs  # type: ignore[import-not-found,import-untyped,unused-ignore]

        found["giflib via imagecodecs (RGB)"] = imagecodecs.gif_decode
    except ImportError:
        pass
    wuffs = _wuffs()
    if wuffs is not None:
        found["Wuffs via pywuffs (LZW → P)"] = wuffs
    return found


def measure(repeat: int, data: bytes | None = None) -> dict[str, Sample]:
    data = data if data is not None else inputs.gif(50, 420)
    decoders = _decoders()
    values: dict[str, list[float]] = {name: [] for name in decoders}
    for decode in decoders.values():
        decode(data)
    for _ in range(repeat):
        for name, decode in decoders.items():
            began = time.process_time()
            decode(data)
            values[name].append((time.process_time() - began) * 1e3)
    return {name: Sample.of(found, "ms") for name, found in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for name, sample in measure(args.repeat).items():
        print(f"{name:34} {sample.median:6.1f} ms  ({sample.low:.1f}-{sample.high:.1f})")


if __name__ == "__main__":
    main()
