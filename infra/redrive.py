"""Redrives bucket events that failed every attempt: `profilepics redrive --queue-url URL`.

Lambda sends each asynchronous invocation that still fails after its retries to the function's
on-failure destination (FailedEventsQueue in template.yaml) as a record holding the function's
ARN, the original event and the error. SQS's own redrive moves messages back to a source queue,
and there is none here: redriving is invoking the function again with the original event,
asynchronously, so a run that fails again lands back in the queue. The handlers are idempotent
(an event for a picture already processed, superseded or gone is a no-op).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Invoke = Callable[[str, bytes], None]
_BATCH = 10  # SQS's ReceiveMessage ceiling


@dataclass(frozen=True)
class FailedEvent:
    function_arn: str
    event: dict[str, Any]
    error: str


@dataclass
class RedriveReport:
    redriven: list[FailedEvent] = field(default_factory=list)
    unreadable: int = 0

    def lines(self, dry_run: bool) -> list[str]:
        done = "would redrive" if dry_run else "redriven"
        return [
            *(f"{done}: {e.function_arn.split(':')[6]} ({e.error})" for e in self.redriven),
            f"{len(self.redriven)} {done}, {self.unreadable} unreadable (left in the queue)",
        ]


def parse(body: str) -> FailedEvent | None:
    """The failed invocation in an on-failure destination record, or None if it isn't one."""
    try:
        record = json.loads(body)
        arn = record["requestContext"]["functionArn"]
        event = record["requestPayload"]
        error = (record.get("responsePayload") or {}).get("errorType") or record[
            "requestContext"
        ].get("condition", "unknown")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(arn, str) or not arn.startswith("arn:") or arn.count(":") < 6:
        return None
    if not isinstance(event, dict):
        return None
    return FailedEvent(arn, event, str(error))


def _messages(sqs: Any, queue_url: str, visibility: int) -> Iterator[dict[str, Any]]:
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=_BATCH,
            WaitTimeSeconds=1,
            VisibilityTimeout=visibility,
        ).get("Messages", [])
        if not got:
            return
        yield from got


def redrive(
    sqs: Any, invoke: Invoke, queue_url: str, limit: int, dry_run: bool = False
) -> RedriveReport:
    """Invoke each failed event's function again, then delete its message; at most limit.

    Unreadable messages stay, hidden for the visibility timeout so one pass sees each once; a
    dry run hides what it reads the same way and changes nothing.
    """
    report = RedriveReport()
    seen: set[str] = set()
    for message in _messages(sqs, queue_url, visibility=120):
        if message["MessageId"] in seen or len(report.redriven) >= limit:
            break
        seen.add(message["MessageId"])
        failed = parse(message.get("Body", ""))
        if failed is None:
            report.unreadable += 1
            continue
        report.redriven.append(failed)
        if not dry_run:
            invoke(failed.function_arn, json.dumps(failed.event).encode())
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return report


def lambda_invoker(client: Any) -> Invoke:
    """Asynchronous invocation, as S3 made the first one: a new failure is queued again."""

    def invoke(function_arn: str, payload: bytes) -> None:
        client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)

    return invoke
