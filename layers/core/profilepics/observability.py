"""Each function's structured logger, shared by the core's own loggers."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from profilepics.config import get_settings

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
        super().__init__(datefmt="%H:%M:%S")

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


def function_logger(service: str) -> Logger:
    """A logger for one function, JSON unless settings ask for text (the local stack does);
    the core's log lines carry the same correlation id."""
    formatter = TextFormatter() if get_settings().log_format == "text" else None
    logger = Logger(service=service, logger_formatter=formatter)
    copy_config_to_registered_loggers(source_logger=logger, include={"profilepics"})
    return logger
