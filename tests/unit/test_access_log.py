"""The invoker's access log: a line per request, the store's webhook calls summarised."""

from __future__ import annotations

import logging

import pytest

from infra.invoker.access_log import AccessLog


def test_a_request_is_one_line_and_webhook_calls_one_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    access = AccessLog(summary_seconds=60)
    with caplog.at_level(logging.INFO, logger="profilepics.invoker.access"):
        access("PUT", "/users/ada/picture", 201, 61.24, "UploadFunction")
        access("GET", "/nowhere", 404, 0.4, None)
        for status in (204, 204, 204, 401):
            access("POST", "/_events/seaweedfs", status, 1.0, None)
        access.close()

    assert [r.getMessage() for r in caplog.records] == [
        "PUT /users/ada/picture 201 61.2 ms UploadFunction",
        "GET /nowhere 404 0.4 ms -",
        "bucket events: 4 webhook calls in 60 s (3 x 204, 1 x 401)",
    ]


def test_a_long_path_is_cut_short(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="profilepics.invoker.access"):
        AccessLog()("GET", "/" + "a" * 5000, 414, 0.1, None)
    assert len(caplog.records[0].getMessage()) < 300
