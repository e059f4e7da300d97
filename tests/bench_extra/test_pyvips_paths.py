"""The benchmark's pyvips paths work: run by `make bench`, which installs the bench extra.

Not part of `make test`: pyvips and its libvips wheel are the bench extra only (installing them
took 18.6 s and 20 MB in a fresh venv at load ~16, most of a first `make run`).
"""

from __future__ import annotations

import pytest

from bench import inputs, variants

pytestmark = pytest.mark.bench

PYVIPS_PATHS = ["pyvips thumbnail", "pyvips thumbnail, 1 thread"]


def test_the_bench_extra_gives_every_approach() -> None:
    assert variants.pyvips_module() is not None, "pyvips missing: `make bench` installs it"
    approaches = variants.approaches()
    assert all(approaches[name] is not None for name in PYVIPS_PATHS)


@pytest.mark.parametrize("name", PYVIPS_PATHS)
def test_every_pyvips_path_makes_every_size_of_a_small_jpeg(name: str) -> None:
    make = variants.approaches()[name]
    assert make is not None, "pyvips missing: `make bench` installs it"
    made = make(inputs.jpeg(640, 480))
    assert sorted(made) == sorted(variants.SIZES)
    assert all(blob[8:12] == b"WEBP" for blob in made.values())
