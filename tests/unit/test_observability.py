"""Function logs: JSON for production, one readable line of text on the local stack."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from profilepics.config import Settings, get_settings
from profilepics.observability import TextFormatter, function_logger

from infra import local
from infra.local import LocalSettings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def captured(service: str) -> tuple[logging.Logger, io.StringIO]:
    logger = function_logger(service)
    out = io.StringIO()
    logger.registered_handler.setStream(out)  # type: ignore[attr-defined]
    return logger, out  # type: ignore[return-value]


def test_function_logs_are_json_by_default(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.delenv("PROFILEPICS_LOG_FORMAT", raising=False)
    logger, out = captured("json-service")

    logger.info("picture stored", extra={"user_id": "ada"})

    record = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (record["message"], record["user_id"], record["service"]) == (
        "picture stored",
        "ada",
        "json-service",
    )


def test_text_logs_are_one_line_a_person_reads(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("PROFILEPICS_LOG_FORMAT", "text")
    logger, out = captured("text-service")

    logger.info("picture stored", extra={"user_id": "ada", "replaced": None, "sizes": [64]})
    try:
        raise ValueError("secret detail")
    except ValueError:
        logger.exception("it failed")

    first, second = out.getvalue().strip().splitlines()[-2:]
    assert first.split(" ", 1)[1] == "INFO text-service: picture stored user_id=ada sizes=[64]"
    assert first[:8].count(":") == 2  # HH:MM:SS
    assert second.endswith("ERROR text-service: it failed error=ValueError")
    assert "secret detail" not in out.getvalue() and "Traceback" not in out.getvalue()


def test_the_local_stack_logs_text_unless_told_otherwise(
    settings_env: pytest.MonkeyPatch,
) -> None:
    settings_env.delenv("PROFILEPICS_LOG_FORMAT", raising=False)
    keys = ("access", "secret")
    assert local.local_settings(Settings(), LocalSettings(), keys, None).log_format == "text"
    settings_env.setenv("PROFILEPICS_LOG_FORMAT", "json")
    assert local.local_settings(Settings(), LocalSettings(), keys, None).log_format == "json"
    assert Settings.model_validate({}).log_format == "json"


def test_the_text_formatter_keeps_the_correlation_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    formatter = TextFormatter()
    formatter.append_keys(correlation_id="req-1", service="s")
    assert formatter.format(record).endswith("INFO s: hello correlation_id=req-1")
