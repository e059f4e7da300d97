"""Each function's structured logger, shared by the core's own loggers."""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

TEXT_TIME = "%H:%M:%S"
# Keys every record carries that a person reading a terminal does not need on each line.
_ROUTINE = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "sampling_rate",
        "xray_trace_id",
        "exception",
        "stack_trace",
        "name",
    }
)


class TextFormatter(LambdaPowertoolsFormatter):
    """One line per record for a person at a terminal: `12:00:01 INFO upload: message k=v`.

    Exceptions show their type only, as in the JSON logs' policy: never a trace.
    """

    def __init__(self) -> None:
        super().__init__(datefmt=TEXT_TIME)

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        line = f"{log.get('timestamp', '')} {log.get('level', '')} {log.get('service', '')}: "
        line += str(log.get("message", ""))
        extras = [
            f"{key}={value if isinstance(value, str) else json.dumps(value, default=str)}"
            for key, value in log.items()
            if key not in _ROUTINE and key != "exception_name" and value is not None
        ]
        if "exception_name" in log:
            extras.append(f"error={log['exception_name']}")
        return " ".join([line, *extras])


class SettingsFormatter(TextFormatter):
    """Powertools' JSON, or TextFormatter's line when settings ask for text: chosen at the first
    record, so that importing a function validates no settings (pydantic and its plugin loader
    cost a cold start ~60-80 ms of CPU, docs/benchmarks.md section 4)."""

    def __init__(self) -> None:
        LambdaPowertoolsFormatter.__init__(self)
        self._text: bool | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._text is None:
            from profilepics.config import get_settings

            try:
                self._text = get_settings().log_format == "text"
            except ValueError:  # invalid settings: the function's own call reports them
                self._text = False
            if self._text:
                self.datefmt = TEXT_TIME
        return super().format(record)

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        if self._text:
            return super().serialize(log)
        return LambdaPowertoolsFormatter.serialize(self, log)


def function_logger(service: str) -> Logger:
    """A logger for one function, JSON unless settings ask for text (the local stack does);
    the core's log lines carry the same correlation id."""
    logger = Logger(service=service, logger_formatter=SettingsFormatter())
    copy_config_to_registered_loggers(source_logger=logger, include={"profilepics"})
    return logger
