"""GET /metrics: the functions' EMF documents as Prometheus text, the same numbers as CloudWatch."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from profilepics.metrics import EmfMeter, Metric
from prometheus_client.parser import text_string_to_metric_families

from infra.invoker.metrics import MAX_SERIES, Registry, capturing_emf


def _emf(
    capsys: pytest.CaptureFixture[str], *records: tuple[Metric, float, dict[str, str]]
) -> list[dict[str, Any]]:
    for metric, value, dims in records:
        EmfMeter().record(metric, value, **dims)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_become_counters_by_label(capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry()
    registry.observe_all(
        _emf(
            capsys,
            (Metric.UPLOADS, 1, {"outcome": "created", "path": "api"}),
            (Metric.UPLOADS, 1, {"outcome": "created", "path": "api"}),
            (Metric.UPLOADS, 1, {"outcome": "file_too_large", "path": "api"}),
            (Metric.EVENTS_FAILED, 1, {"function": "thumbnails", "kind": "retry"}),
        )
    )

    samples = _samples(registry.render())

    created = (("outcome", "created"), ("path", "api"))
    assert samples[("profilepics_uploads_total", created)] == 2
    too_large = (("outcome", "file_too_large"), ("path", "api"))
    assert samples[("profilepics_uploads_total", too_large)] == 1
    failed = (("function", "thumbnails"), ("kind", "retry"))
    assert samples[("profilepics_events_failed_total", failed)] == 1


def test_timings_become_histograms_in_seconds_and_bytes_in_bytes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = Registry()
    registry.observe_all(
        _emf(
            capsys,
            (Metric.VALIDATION_TIME, 40.0, {"path": "api"}),
            (Metric.VALIDATION_TIME, 600.0, {"path": "api"}),
            (Metric.UPLOAD_BYTES, 3000, {"path": "api"}),
            (Metric.UPLOAD_TO_READY, 1500.0, {}),
        )
    )

    samples = _samples(registry.render())

    api = (("path", "api"),)
    assert samples[("profilepics_validation_time_seconds_count", api)] == 2
    assert samples[("profilepics_validation_time_seconds_sum", api)] == pytest.approx(0.64)
    assert samples[("profilepics_validation_time_seconds_bucket", (("le", "0.05"), *api))] == 1
    assert samples[("profilepics_validation_time_seconds_bucket", (("le", "1.0"), *api))] == 2
    assert samples[("profilepics_upload_bytes_bucket", (("le", "1024.0"), *api))] == 0
    assert samples[("profilepics_upload_bytes_bucket", (("le", "16384.0"), *api))] == 1
    assert samples[("profilepics_upload_to_ready_seconds_sum", ())] == pytest.approx(1.5)


def test_label_values_are_escaped() -> None:
    registry = Registry()
    odd = 'a "quoted" \\ value\nwith a newline'
    document: dict[str, Any] = {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "profilepics",
                    "Dimensions": [["odd"]],
                    "Metrics": [{"Name": "Uploads", "Unit": "Count"}],
                }
            ]
        },
        "odd": odd,
        "Uploads": 1,
    }

    registry.observe(document)

    samples = _samples(registry.render())
    assert samples[("profilepics_uploads_total", (("odd", odd),))] == 1


def test_what_is_not_emf_is_ignored_and_series_are_bounded() -> None:
    registry = Registry()
    registry.observe({"message": "a log line"})
    registry.observe(
        {
            "_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "X", "Unit": "Count"}]}]},
            "X": "NaN?",
        }
    )
    assert registry.render() == ""

    for i in range(MAX_SERIES + 10):
        registry.observe(
            {
                "_aws": {
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "p",
                            "Dimensions": [["id"]],
                            "Metrics": [{"Name": "N", "Unit": "Count"}],
                        }
                    ]
                },
                "id": str(i),
                "N": 1,
            }
        )
    assert registry.render().count("p_n_total{") == MAX_SERIES


def test_a_worker_keeps_emf_documents_and_passes_other_output_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capturing_emf() as documents:
        EmfMeter().record(Metric.UPLOADS, 1, outcome="created", path="api")
        sys.stdout.write("an ordinary line\n")

    assert [d["outcome"] for d in documents] == ["created"]
    assert capsys.readouterr().out == "an ordinary line\n"
