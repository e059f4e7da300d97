"""Each function's structured logger, shared by the core's own loggers."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers


def function_logger(service: str) -> Logger:
    """A JSON logger for one function; the core's log lines carry the same correlation id."""
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"profilepics"})
    return logger
