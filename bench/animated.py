"""Section 11: the animated variant of a 50-frame 420² GIF at 25 fps (256 px WebP), this tree
against the tree before issue 15, each in fresh interpreters, alternating: CPU and bytes.

`python -m bench.animated --child RUNS FILE` makes FILE's animated variant RUNS times (after one
untimed call) with the core on PYTHONPATH, and prints JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import before, inputs
from bench.measure import Row, Sample, Target
from bench.upload import run_child

SECTION = "11 Animated variant"
ROUNDS = 3
RUNS = 2
SIZE = 256
GOAL = 0.4


def _child(runs: int, source: Path) -> dict[str, Any]:
    from PIL import Image
    from profilepics.images import ImageLimits
    from profilepics.variants import make_animated_variant

    data, limits = source.read_bytes(), ImageLimits()
    made = make_animated_variant(data, SIZE, limits=limits) or b""
    cpu = []
    for _ in range(runs):
        began = time.process_time()
        make_animated_variant(data, SIZE, limits=limits)
        cpu.append((time.process_time() - began) * 1e3)
    with Image.open(source) as img, Image.open(io.BytesIO(made)) as out:
        frames, shown = getattr(img, "n_frames", 1), getattr(out, "n_frames", 1)
    return {"cpu_ms": cpu, "bytes": len(made), "frames": frames, "shown": shown}


def _once(tree: Path | None, source: Path) -> dict[str, Any]:
    result: dict[str, Any] = run_child(
        tree, ["-m", "bench.animated", "--child", str(RUNS), str(source)]
    )
    return result


def run(tree: Path) -> tuple[list[Row], list[Target]]:
    data = inputs.gif(50, 420)
    found: dict[str, list[float]] = {"before": [], "this tree": []}
    last: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.gif"
        source.write_bytes(data)
        for _ in range(ROUNDS):
            for label, code in (("before", tree), ("this tree", None)):
                last[label] = _once(code, source)
                found[label] += last[label]["cpu_ms"]
    case = f"50-frame 420² GIF at 25 fps ({len(data) / 1e6:.1f} MB) → {SIZE} px WebP"
    rows = []
    for label in ("before", "this tree"):
        got = last[label]
        note = f"{got['bytes']:,} B, {got['shown']} of {got['frames']} frames"
        rows.append(Row(SECTION, case, label, Sample.of(found[label], "ms CPU"), note))
    share = Sample.of(found["this tree"], "ms").median / Sample.of(found["before"], "ms").median
    smaller = last["this tree"]["bytes"] <= last["before"]["bytes"]
    measured = (
        f"{share:.0%} of before; {last['this tree']['bytes']:,} against "
        f"{last['before']['bytes']:,} B"
    )
    goal = f"≤ {GOAL:.0%} of before's time at equal or fewer bytes"
    return rows, [Target(SECTION, goal, measured, share <= GOAL and smaller)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.animated", description=__doc__)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(int(args.child[0]), Path(args.child[1]))))
        return 0
    from bench import report

    with before.tree_at(before.BEFORE) as tree:
        rows, targets = run(tree)
    print(report.as_text(rows, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
