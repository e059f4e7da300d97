"""Section 16: re-crop. Changing a stored picture's square by PATCH (the original read and
decoded again, the default variants made of the new square, one conditional write) beside
doing it the only way there was before: uploading the picture again with the crop (cleaned as
an upload is, stored, then its thumbnails made). In process, on in-memory fakes, so the
figures are the work itself; an upload also sends the file over the network, a PATCH ~60 bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

from profilepics.config import Settings
from profilepics.deps import Container, build
from profilepics.metrics import NullMeter
from profilepics.models import Crop, Profile

from bench import inputs
from bench.measure import Row, Target, interleaved, process_cpu, ratio
from tests.fakes import FakeStore, FakeTable

SECTION = "16 Re-crop"
SIZE = (4032, 3024)  # a phone's 12 MP, as uploads are cleaned: JPEG q90
SQUARES = (Crop(x=0, y=0, w=3024, h=3024), Crop(x=1008, y=0, w=3024, h=3024))


def _parts() -> Container:
    store, table = FakeStore(), FakeTable()
    now = datetime.now(UTC)
    table.create(
        Profile(user_id="ada", display_name="Ada", email="a@x.org", created_at=now, updated_at=now)
    )
    return build(Settings(), store=store, table=table, meter=NullMeter())


def _recrop(parts: Container, data: bytes) -> Callable[[], object]:
    parts.pictures.upload("ada", data)
    parts.processing.make_thumbnails(_key(parts))
    squares = itertools.cycle(SQUARES)  # each call a square other than the current one
    return lambda: parts.recrops.recrop("ada", next(squares))


def _key(parts: Container) -> str:
    profile = parts.table.get("ada")
    assert profile is not None and profile.picture is not None
    return profile.picture.key


def _upload(parts: Container, data: bytes) -> Callable[[], object]:
    squares = itertools.cycle(SQUARES)

    def run() -> object:
        parts.pictures.upload("ada", data, next(squares))
        return parts.processing.make_thumbnails(_key(parts))

    return run


def run(repeat: int = 5) -> tuple[list[Row], list[Target]]:
    data = inputs.encode(inputs.photo(*SIZE), "JPEG", quality=90)
    case = f"12 MP JPEG ({len(data) / 1e6:.1f} MB) to another square, default variants"
    calls = {
        "PATCH re-crop (decode the stored original, variants, one write)": _recrop(_parts(), data),
        "upload again with the crop (clean, store, thumbnails)": _upload(_parts(), data),
    }
    samples = interleaved(calls, repeat)
    # Process CPU time too: the steadier figure on a shared machine.
    cpu = {name: process_cpu(call, min(repeat, 5)) for name, call in calls.items()}
    (recrop, upload), (recrop_cpu, upload_cpu) = samples.values(), cpu.values()
    notes = [
        f"CPU {recrop_cpu.median:.0f} ms; {ratio(recrop_cpu, upload_cpu):.2f}× the upload's "
        f"CPU, {ratio(recrop, upload):.2f}× its time, and no file sent",
        f"CPU {upload_cpu.median:.0f} ms",
    ]
    rows = [
        Row(SECTION, case, name, sample, note)
        for (name, sample), note in zip(samples.items(), notes, strict=True)
    ]
    return rows, []
