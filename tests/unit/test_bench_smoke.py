"""The benchmark suite's pieces work: modules import, measurements return sane numbers.

No timing is asserted here; `make bench` is where timings are read.
"""

from __future__ import annotations

import dataclasses
import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from profilepics.clock import utcnow
from profilepics.sweep import Sweeper

from bench import (
    coldstart,
    hostile,
    inputs,
    layer,
    memory,
    report,
    sizes,
    spool,
    sweepdata,
    upload,
    variants,
)
from bench.http_load import Load
from bench.measure import Row, Sample, Target, interleaved, per_call, timed
from bench.naive_sweep import NaiveSweeper
from tests.fakes import FakeStore, FakeTable
from tests.unit import imagegen

MODULES = [
    "bench.__main__",
    "bench.coldstart",
    "bench.hostile",
    "bench.edge_cpu",
    "bench.edge_loop",
    "bench.edge_server",
    "bench.gifdecode",
    "bench.http_edges",
    "bench.http_load",
    "bench.legacy_edge",
    "bench.inprocess",
    "bench.layer",
    "bench.memory",
    "bench.phone",
    "bench.recrop",
    "bench.report",
    "bench.naive_sweep",
    "bench.sizes",
    "bench.spool",
    "bench.stack",
    "bench.sweep",
    "bench.sweepdata",
    "bench.validation",
    "bench.variants",
]


@pytest.mark.parametrize("name", MODULES)
def test_bench_module_imports(name: str) -> None:
    assert importlib.import_module(name).__doc__


def test_timed_gives_a_positive_median_inside_its_range() -> None:
    sample = timed(lambda: sum(range(1000)), repeat=3)
    assert len(sample.values) == 3
    assert 0 < sample.low <= sample.median <= sample.high
    assert sample.unit == "ms"


def test_interleaved_times_each_call_its_own_number_of_rounds() -> None:
    calls = {"fast": 0, "slow": 0}

    def call(name: str) -> None:
        calls[name] += 1

    samples = interleaved(
        {"fast": lambda: call("fast"), "slow": lambda: call("slow")}, repeat=4, fewer={"slow": 2}
    )
    assert [len(samples["fast"].values), len(samples["slow"].values)] == [4, 2]
    assert calls == {"fast": 5, "slow": 3}  # one untimed call each first


def test_per_call_divides_a_batch_by_its_calls() -> None:
    sample = per_call(lambda: None, calls=100, batches=2)
    assert len(sample.values) == 2
    assert sample.unit == "µs" and 0 < sample.low <= sample.median <= sample.high


PILLOW_PATHS = ["make_variants (project)", "make_naive_variants"]


@pytest.mark.parametrize("name", PILLOW_PATHS)
def test_every_pillow_variant_path_makes_every_size_of_a_small_jpeg(name: str) -> None:
    """The pyvips paths need the bench extra: tests/bench_extra checks them, run by `make bench`."""
    make = variants.approaches()[name]
    assert make is not None
    made = make(inputs.jpeg(640, 480))
    assert sorted(made) == sorted(variants.SIZES)
    assert all(blob[8:12] == b"WEBP" for blob in made.values())


def test_peak_memory_is_read_from_proc_in_megabytes() -> None:
    assert 1 < memory._status("VmHWM") < 100_000


def test_a_bomb_header_claims_its_size_in_a_few_bytes() -> None:
    bomb = inputs.png_bomb_header(30000, 30000)
    assert len(bomb) < 100
    assert int.from_bytes(bomb[16:20], "big") == 30000


def test_cold_start_probe_times_an_import_in_a_fresh_interpreter() -> None:
    took, heavy = coldstart.probe("import json", None)
    assert took > 0
    assert heavy == []


@pytest.mark.parametrize("function", coldstart.functions())
def test_each_functions_first_call_probe_runs_as_the_function_would(function: str) -> None:
    """An HTTP function's probe asserts its request was refused with a 4xx; an event
    function's builds its parts: either failing would fail section 4."""
    took, _ = coldstart.probe(coldstart.first_call(function), function)
    assert took > 0


def test_report_puts_rows_and_targets_between_the_markers_and_keeps_the_prose(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"Prose before.\n\n{report.BEGIN}\nold\n{report.END}\n\nAfter.\n")
    rows = [Row("1 Variants", "12 MP JPEG", "make_variants", Sample.of([80.0, 82.0, 90.0], "ms"))]
    targets = [Target("1 Variants", "≤ 1.0× pyvips", "0.84×", True)]
    block = report.as_markdown(rows, targets, {"CPUs (nproc)": "2"}, 100.0, "today")
    report.write_into(doc, block)
    text = doc.read_text()
    assert "Prose before." in text and "After." in text and "old" not in text
    assert "| 1 Variants | 12 MP JPEG | make_variants | 82.0 ms | 80.0–90.0 |  |" in text
    assert "| 1 Variants | ≤ 1.0× pyvips | 0.84× | ✅ yes |" in text


def test_spool_section_times_each_way_of_recording_an_event() -> None:
    rows, _ = spool.run(repeat=1, per_round=2)
    assert len(rows) == 3
    assert all(row.sample is not None and row.sample.median > 0 for row in rows)


def test_layer_size_counts_files_bytecode_and_the_zip(tmp_path: Path) -> None:
    site = tmp_path / "python"
    (site / "pkg" / "__pycache__").mkdir(parents=True)
    (site / "pkg" / "mod.py").write_text("X = 1\n" * 100)
    (site / "pkg" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0" * 50)

    files, total, pyc, zipped = layer._size(site)

    assert (files, total, pyc) == (2, 650, 50)
    assert 0 < zipped < total


def test_hostile_child_reports_a_refusal_its_cpu_and_peak_memory(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.write_bytes(imagegen.jpeg_at_floor(7000, 7000)[:1400] + b"\xff\xd9")
    run = hostile._measure(hostile.CORE, "upload", source, tmp_path / "out", 0, repeat=1)
    assert run.outcome == "image_truncated"
    assert isinstance(run.cpu, float) and run.cpu >= 0
    assert 0 < run.idle_mb <= run.peak_mb


def test_the_sweep_data_is_about_the_objects_asked_with_a_sixth_of_them_orphans() -> None:
    planned = list(sweepdata.plan(2_000, "t"))

    objects = sum(len(stored) for _, stored, _ in planned)
    orphans = sum(count for _, _, count in planned)
    assert 2_000 <= objects < 2_010
    assert 0.12 < orphans / objects < 0.2
    assert len({key for _, stored, _ in planned for key in stored}) == objects


def test_both_sweeps_of_the_benchmark_find_the_same_orphans_on_the_same_data() -> None:
    """The comparison is fair: the naive sweep and the project's judge alike."""
    store, table = FakeStore(clock=lambda: utcnow() - timedelta(hours=1)), FakeTable()
    orphans = 0
    for profile, stored, count in sweepdata.plan(3_000, "t"):
        orphans += count
        if profile is not None:
            table.create(profile)
        for key in stored:
            store.put(key, b"x", "image/jpeg", "")

    naive = NaiveSweeper(store, table, utcnow).run(timedelta(0), dry_run=True)
    streaming = Sweeper(store, table, utcnow).run(timedelta(0), dry_run=True)

    assert naive.deleted == streaming.deleted
    assert sum(streaming.deleted.values()) == orphans
    assert naive.checked == streaming.checked == len(store.objects)


def test_sizes_section_encodes_every_size_in_every_format_and_measures_quality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sizes, "sources", lambda: {"small": imagegen.photo(300, 200)})
    cut_out = inputs.cut_out(300, 200)
    monkeypatch.setattr(sizes, "speed_sources", lambda: {"cut-out": cut_out})
    rows, targets = sizes.encoding(1)
    every, speeds = len(sizes.SIZES) * len(sizes.ENCODERS), len(sizes.SIZES) * len(sizes.SPEEDS)
    assert len(rows) == every + speeds + len(sizes.ENCODERS)
    assert all(row.sample is not None and row.sample.median >= 0 for row in rows)
    png = next(r for r in rows if r.approach == "PNG" and "64" in r.case)
    assert "lossless" in png.note
    webp = next(r for r in rows if r.approach.startswith("WebP") and "512" in r.case)
    assert "100% of WebP's" in webp.note and "PSNR" in webp.note
    on_alpha = [r for r in rows if "cut-out" in r.case]
    assert {r.approach for r in on_alpha} == set(sizes.SPEEDS)
    assert all("PSNR" in r.note and "inf" not in r.note for r in on_alpha)
    assert len(targets) == 2


def test_the_upload_rates_of_interleaved_rounds_are_each_versions_medians() -> None:
    def uploads(requests: int, rate: float, cpu: float) -> upload.Uploads:
        load = Load(requests, 6.0, 0, 0, 1.0, 2.0, 0.5, 3.0, "wrk")
        return load, rate, cpu

    rounds = {
        "this tree": [uploads(60, 9.0, 200), uploads(30, 4.0, 250), uploads(50, 8.0, 210)],
        "before": [uploads(30, 4.0, 340), uploads(20, 3.0, 360), uploads(30, 5.0, 330)],
    }
    rows, targets = upload.http_rows(rounds, b"x" * 2_000_000)

    ours = next(r for r in rows if r.approach.endswith("this tree"))
    assert ours.sample is not None and ours.sample.median == 8.0
    assert "median of 3 rounds" in ours.note and "140 uploads" in ours.note
    assert "the stack's CPU 210 ms an upload" in ours.note
    assert targets[0].measured.startswith("2.00×") and targets[0].met
    assert targets[-1].met  # no errors


def test_rows_sort_by_section_number_not_as_text() -> None:
    from bench.__main__ import _number

    sections = ["13 Sizes & formats", "2 Peak memory", "1 Variants", "10 Upload path"]
    assert sorted(sections, key=_number) == [
        "1 Variants",
        "2 Peak memory",
        "10 Upload path",
        "13 Sizes & formats",
    ]


def test_gif_decoders_are_timed_and_the_uploads_path_decodes_every_pixel() -> None:
    from profilepics import gif

    from bench import gifdecode

    data = inputs.gif(3, 16)
    samples = gifdecode.measure(1, data)
    assert set(samples) == set(gifdecode._decoders())
    assert all(sample.median >= 0 for sample in samples.values())
    # A frame's LZW data cut short: only a decoder that reaches the last pixel notices.
    frame = gif.parse(data, cap=3).frames[-1]
    cut = dataclasses.replace(frame, blocks=frame.blocks[: len(frame.blocks) // 2] + b"\0")
    with pytest.raises(ValueError):
        gif._decoded(cut, frame.palette or gif.parse(data, cap=3).palette)
