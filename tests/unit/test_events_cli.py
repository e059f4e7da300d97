"""`profilepics events` on a real spool file, and `serve` refusing a data dir it can't spool in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from infra.invoker.events import s3_record
from infra.invoker.spool import Spool

KEY = "originals/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROFILEPICS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_an_empty_data_dir_has_no_events(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events"]) == 0
    assert "no events spooled" in capsys.readouterr().out


def test_events_are_listed_and_only_dead_ones_are_redriven(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = Spool.in_dir(data_dir)
    dead, waiting = spool.add(
        [
            ("ThumbnailsFunction", s3_record("ObjectCreated:Put", "b", KEY, 1)),
            ("IngestFunction", s3_record("ObjectCreated:Put", "b", "uploads/ada/x", 1)),
        ]
    )
    spool.failed(dead.id, "Conflict", retry_at=None)

    assert main(["events"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 waiting, 1 dead (--redrive replays them)"
    assert main(["events", "--redrive", str(waiting.id)]) == 0
    assert capsys.readouterr().out.startswith("0 dead event(s)")
    assert main(["events", "--redrive"]) == 0
    assert capsys.readouterr().out.startswith("1 dead event(s)")
    assert main(["events", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["key"], e["state"], e["attempts"]) for e in listed] == [
        (KEY, "pending", 0),
        ("uploads/ada/x", "pending", 0),
    ]


def test_event_ids_without_redrive_are_a_usage_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "3"]) == 2
    assert "--redrive" in capsys.readouterr().err


def test_serve_names_a_data_dir_it_cannot_spool_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PROFILEPICS_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("PROFILEPICS_JWT_SECRET", "x" * 32)
    monkeypatch.setenv("PROFILEPICS_EVENTS_TOKEN", "y" * 32)
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("profilepics serve: PROFILEPICS_DATA_DIR=")
    assert "is not a writable directory" in err and "Traceback" not in err
