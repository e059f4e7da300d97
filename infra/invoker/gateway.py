"""What API Gateway's HTTP API answers when its Lambda integration fails.

An HTTP API answers 500 {"message":"Internal Server Error"} for every function error (an
unhandled exception, an instance stopped at its timeout or memory size, a crashed runtime) and
503 {"message":"Service Unavailable"} when its integration timeout (30 s, the most it allows)
passes first. The local invoker answers the same statuses as problem+json, with a code that says
which failure it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.invoker.workers import GATEWAY_TIMEOUT, OUT_OF_MEMORY, TIMED_OUT

INTEGRATION_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    title: str


_ANSWERS = {
    GATEWAY_TIMEOUT: Answer(503, "integration_timeout", "The function did not answer in time"),
    TIMED_OUT: Answer(500, "function_timeout", "The function ran past its timeout and was stopped"),
    OUT_OF_MEMORY: Answer(
        500, "function_out_of_memory", "The function ran out of memory and was stopped"
    ),
}
_FAILED = Answer(500, "function_error", "The function failed")
ANSWERS = (*_ANSWERS.values(), _FAILED)  # every answer, for the /problems pages


def answer_for(error: str) -> Answer:
    """The answer to a client whose invocation failed with Lambda's error type `error`."""
    return _ANSWERS.get(error, _FAILED)
