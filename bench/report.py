"""The machine, the results table (plain text and Markdown) and its place in docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

from bench.measure import Row, Sample, Target

BEGIN = "<!-- bench:results -->"
END = "<!-- /bench:results -->"


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, str]:
    from PIL import __version__ as pillow

    from bench.variants import pyvips_module

    vips = pyvips_module()
    libvips = (
        f"{vips.version(0)}.{vips.version(1)}.{vips.version(2)} (pyvips {vips.__version__})"
        if vips is not None
        else "not installed"
    )
    wrk = shutil.which("wrk")
    wrk_version = "not installed"
    if wrk:
        shown = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (shown.stdout or shown.stderr).split("[", 1)[0].strip() or "installed"
    mem_kb = int(_first("/proc/meminfo", "MemTotal").split()[0])
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU model": _first("/proc/cpuinfo", "model name"),
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{_first('/etc/os-release', 'PRETTY_NAME=').strip(chr(34))}, "
        f"Linux {platform.release()}",
        "Python": platform.python_version(),
        "Pillow": pillow,
        "libvips": libvips,
        "load generator": wrk_version,
    }


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cells(row: Row) -> list[str]:
    sample: Sample | None = row.sample
    if sample is None:
        return [row.section, row.case, row.approach, "—", "—", row.note]
    spread = f"{number(sample.low)}–{number(sample.high)}" if len(sample.values) > 1 else "—"
    median = f"{number(sample.median)} {sample.unit}"
    return [row.section, row.case, row.approach, median, spread, row.note]


HEADER = ["Section", "Case", "Approach", "Median", "Min–max", "Notes"]
TARGET_HEADER = ["Section", "Target", "Measured", "Met"]


def _verdict(target: Target, markdown: bool) -> str:
    if target.met is None:
        return "n/a"
    if markdown:
        return "✅ yes" if target.met else "❌ no"
    return "yes" if target.met else "NO"


def text_table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    out.append("  ".join("-" * width for width in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(line.rstrip() for line in out)


def markdown_table(header: list[str], lines: list[list[str]]) -> str:
    def row(values: list[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    return "\n".join([row(header), row(["---"] * len(header)), *map(row, lines)])


def as_text(rows: list[Row], targets: list[Target]) -> str:
    results = text_table(HEADER, [cells(r) for r in rows])
    goals = text_table(
        TARGET_HEADER, [[t.section, t.goal, t.measured, _verdict(t, False)] for t in targets]
    )
    return f"{results}\n\nTargets\n{goals}"


def as_markdown_rows(rows: list[Row], targets: list[Target]) -> str:
    """The rows and targets as the lines of docs/benchmarks.md's two tables."""
    results = markdown_table(HEADER, [cells(r) for r in rows])
    goals = markdown_table(
        TARGET_HEADER, [[t.section, t.goal, t.measured, _verdict(t, True)] for t in targets]
    )
    return f"{results}\n\n{goals}\n"


def as_markdown(
    rows: list[Row],
    targets: list[Target],
    facts: dict[str, str],
    took: float,
    when: str,
    command: str = "make bench",
) -> str:
    described = "\n".join(f"- **{k}**: {v}" for k, v in facts.items())
    results, goals = as_markdown_rows(rows, targets).split("\n\n")
    return (
        f"Measured by `{command}` on {when}, in {took:.0f} s.\n\n"
        f"### Machine\n\n{described}\n\n### Results\n\n{results}\n\n### Targets\n\n{goals}"
    )


def write_into(doc: Path, block: str, name: str = "results") -> None:
    """Replace one generated part of doc (between its markers: `make bench` writes "results",
    `make bench-more` "more"), keeping the prose and the other part around it."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        text = f"{text.rstrip()}\n\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    doc.write_text(pattern.sub(lambda _: f"{begin}\n{block}\n{end}", text, count=1))
