"""A progress bar for long CLI runs: one redrawn line on a terminal, a line every tenth of the
way otherwise (a log file or CI), both on stderr so stdout keeps just the summary."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TextIO

_WIDTH = 30


class Progress:
    def __init__(self, total: int, what: str, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.what = what
        self.counts: Counter[str] = Counter()
        self._stream = stream
        self._tty = stream.isatty()
        self._shown_tenth = -1

    def step(self, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] += 1
        if self._tty:
            self._stream.write("\r" + self.line())
            self._stream.flush()
            return
        tenth = self.done * 10 // max(self.total, 1)
        if tenth != self._shown_tenth:
            self._shown_tenth = tenth
            self._stream.write(self.line() + "\n")

    def line(self) -> str:
        total = max(self.total, self.done)
        filled = _WIDTH * self.done // total if total else _WIDTH
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return f"[{bar}] {self.done}/{total} {self.what}" + (f" ({counts})" if counts else "")

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
