"""An animation's frames made one at a time, and the CPU budget checked between them. No I/O.

Holding every decoded frame costs frames x canvas x 4 bytes before the encoder has even begun
(1.8 GB for a 136-byte WebP of two 7000x7000 frames). Savers that take a multi-frame image
seek through it frame by frame, so a multi-frame image that decodes a frame only when asked
lets the encoder, not a list, decide what stays in memory: WebP's keeps one canvas.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PIL import Image

from profilepics.errors import ImageTooComplex

Clock = Callable[[], float]


class Budget:
    """CPU seconds one picture may take, checked between frames and steps.

    Thread CPU time, not wall time: a busy machine slows a request without costing it budget.
    """

    def __init__(self, seconds: float, clock: Clock = time.thread_time) -> None:
        self._clock = clock
        self._seconds = seconds
        self._started = clock()

    @property
    def spent(self) -> float:
        return self._clock() - self._started

    def check(self) -> None:
        if self.spent > self._seconds:
            raise ImageTooComplex(
                f"Processing the image took over {self._seconds:g} s of CPU, the limit."
            )


class Frames(Image.Image):
    """count frames, frame i made by make(i) when a saver seeks to it, the budget checked first.

    The first frame is kept, since savers seek back to it when they are done.
    """

    def __init__(self, count: int, make: Callable[[int], Image.Image], budget: Budget) -> None:
        super().__init__()
        self._count = count
        self._make_frame = make
        self._budget = budget
        self._index = -1
        self._first = self._make(0)
        self._show(0, self._first)

    @property
    def n_frames(self) -> int:
        return self._count

    @property
    def is_animated(self) -> bool:
        return self._count > 1

    def tell(self) -> int:
        return self._index

    def seek(self, frame: int) -> None:
        if frame == self._index:
            return
        if not 0 <= frame < self._count:
            raise EOFError("no more frames")
        self._show(frame, self._first if frame == 0 else self._make(frame))

    def _make(self, frame: int) -> Image.Image:
        self._budget.check()
        return self._make_frame(frame)

    def _show(self, index: int, frame: Image.Image) -> None:
        # What Pillow's own multi-frame plugins set on seek: the pixels, their mode and size.
        self.im = frame.im
        self._mode = frame.mode
        self._size = frame.size
        self.palette = frame.palette
        self.info = dict(frame.info)
        self._index = index
