"""sharp as a peer in section 1: a node process of its own, driven line by line over stdin
(bench/sharp/thumbnails.js), so its rounds interleave with the Python approaches'.

sharp is pinned in bench/sharp/package-lock.json and installed by `make bench` only. Its own
timing (inside node, around the whole set) is what is reported, not the pipe's round trip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "sharp"
SCRIPT = HERE / "thumbnails.js"


def available() -> bool:
    return shutil.which("node") is not None and (HERE / "node_modules" / "sharp").is_dir()


class Sharp:
    def __init__(self, threads: int | None = None) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        env = {**os.environ, **({"THREADS": str(threads)} if threads else {})}
        self._process = subprocess.Popen(
            [node, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )
        self.timings: list[float] = []

    def _ask(self, job: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(job) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("sharp's process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def variants(self, path: Path, sizes: list[int], quality: int, effort: int) -> dict[int, int]:
        """{size: bytes} of the set made from the file at path; its time goes to timings."""
        job = {"input": str(path), "sizes": sizes, "quality": quality, "effort": effort}
        answer = self._ask(job)
        self.timings.append(float(answer["ms"]))
        return {int(size): int(count) for size, count in answer["bytes"].items()}

    def ready(self) -> None:
        self._ask({})

    def peak_mb(self) -> float:
        """node's peak resident memory (VmHWM: node's own maxRSS keeps the parent's peak
        from before its exec, as Linux's getrusage does)."""
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM for sharp's process")

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(10)
