"""Redriving failed bucket events: each queued record's event goes back to its function, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import cli
from infra.redrive import parse, redrive

RECORD = (Path(__file__).resolve().parents[1] / "events" / "failed_event_record.json").read_text()
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:profilepics-ThumbnailsFunction-AbC123:$LATEST"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


def _queue(sqs: Any, *bodies: str) -> str:
    url: str = sqs.create_queue(QueueName="failed-events")["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return url


def _left(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_destination_record_names_the_function_the_event_and_the_error() -> None:
    failed = parse(RECORD)

    assert failed is not None
    assert failed.function_arn == ARN
    assert failed.event == json.loads(RECORD)["requestPayload"]
    assert failed.error == "StorageUnavailable"


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", "{}", json.dumps({"requestContext": {"functionArn": "x"}})],
)
def test_anything_else_is_not_a_failed_event(body: str) -> None:
    assert parse(body) is None


def test_each_failed_event_is_invoked_again_then_deleted(sqs: Any) -> None:
    url = _queue(sqs, RECORD, RECORD.replace("0b7c6a4e", "1c8d7b5f"))
    invoked: list[tuple[str, dict[str, Any]]] = []

    report = redrive(sqs, lambda arn, payload: invoked.append((arn, json.loads(payload))), url, 10)

    assert len(report.redriven) == 2
    assert [arn for arn, _ in invoked] == [ARN, ARN]
    keys = sorted(event["Records"][0]["s3"]["object"]["key"] for _, event in invoked)
    assert keys[0].endswith("0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg")
    assert keys[1].startswith("originals/event-sample-user/1c8d7b5f")
    assert _left(sqs, url) == 0


def test_an_unreadable_message_stays_and_the_rest_are_redriven(sqs: Any) -> None:
    url = _queue(sqs, "garbage", RECORD)
    invoked: list[str] = []

    report = redrive(sqs, lambda arn, _: invoked.append(arn), url, 10)

    assert (len(report.redriven), report.unreadable) == (1, 1)
    assert invoked == [ARN]
    assert _left(sqs, url) == 1


def test_a_failed_invocation_keeps_its_message(sqs: Any) -> None:
    url = _queue(sqs, RECORD)

    def refuse(arn: str, payload: bytes) -> None:
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError):
        redrive(sqs, refuse, url, 10)
    assert _left(sqs, url) == 1


def test_a_dry_run_invokes_and_deletes_nothing(sqs: Any) -> None:
    url = _queue(sqs, RECORD)
    invoked: list[str] = []

    report = redrive(sqs, lambda arn, _: invoked.append(arn), url, 10, dry_run=True)

    assert len(report.redriven) == 1
    assert invoked == []
    assert _left(sqs, url) == 1
    assert report.lines(dry_run=True)[0].startswith("would redrive: profilepics-Thumbnails")


def test_at_most_max_events_are_redriven(sqs: Any) -> None:
    url = _queue(sqs, RECORD, RECORD, RECORD)
    invoked: list[str] = []

    report = redrive(sqs, lambda arn, _: invoked.append(arn), url, limit=2)

    assert len(report.redriven) == len(invoked) == 2


def test_the_command_reports_an_unreachable_queue_without_a_trace(
    sqs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "https://sqs.eu-west-1.amazonaws.com/123456789012/nope"

    code = cli.main(["redrive", "--queue-url", missing])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("redrive stopped:")
    assert "Traceback" not in err
