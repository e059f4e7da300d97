"""Redriving failed bucket events: each queued record's event goes back to its function, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra import cli
from infra.redrive import lambda_invoker, parse, redrive

RECORD = (Path(__file__).resolve().parents[1] / "events" / "failed_event_record.json").read_text()
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:profilepics-ThumbnailsFunction-AbC123:$LATEST"
URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/failed-events"


class FakeQueue:
    """SQS as redrive uses it: a received message is hidden until deleted (or its timeout)."""

    def __init__(self, *bodies: str) -> None:
        self.messages = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body}
            for i, body in enumerate(bodies)
        ]
        self.hidden: set[str] = set()

    def receive_message(self, **call: Any) -> dict[str, Any]:
        assert call["QueueUrl"] == URL and call["VisibilityTimeout"] > 0
        visible = [m for m in self.messages if m["MessageId"] not in self.hidden]
        batch = visible[: call["MaxNumberOfMessages"]]
        self.hidden.update(m["MessageId"] for m in batch)
        return {"Messages": batch} if batch else {}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803 - boto3's
        self.messages = [m for m in self.messages if m["ReceiptHandle"] != ReceiptHandle]


def _client(service: str) -> Any:
    make: Any = boto3.client  # the stubs type each service by its literal name
    return make(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
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


def test_each_failed_event_is_invoked_again_then_deleted() -> None:
    queue = FakeQueue(RECORD, RECORD.replace("0b7c6a4e", "1c8d7b5f"))
    invoked: list[tuple[str, dict[str, Any]]] = []

    report = redrive(
        queue, lambda arn, payload: invoked.append((arn, json.loads(payload))), URL, 10
    )

    assert len(report.redriven) == 2
    assert [arn for arn, _ in invoked] == [ARN, ARN]
    keys = sorted(event["Records"][0]["s3"]["object"]["key"] for _, event in invoked)
    assert keys[0].endswith("0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg")
    assert keys[1].startswith("originals/event-sample-user/1c8d7b5f")
    assert queue.messages == []


def test_an_unreadable_message_stays_and_the_rest_are_redriven() -> None:
    queue = FakeQueue("garbage", RECORD)
    invoked: list[str] = []

    report = redrive(queue, lambda arn, _: invoked.append(arn), URL, 10)

    assert (len(report.redriven), report.unreadable) == (1, 1)
    assert invoked == [ARN]
    assert [m["Body"] for m in queue.messages] == ["garbage"]


def test_a_failed_invocation_keeps_its_message() -> None:
    queue = FakeQueue(RECORD)

    def refuse(arn: str, payload: bytes) -> None:
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError):
        redrive(queue, refuse, URL, 10)
    assert len(queue.messages) == 1


def test_a_dry_run_invokes_and_deletes_nothing() -> None:
    queue = FakeQueue(RECORD)
    invoked: list[str] = []

    report = redrive(queue, lambda arn, _: invoked.append(arn), URL, 10, dry_run=True)

    assert len(report.redriven) == 1
    assert invoked == []
    assert len(queue.messages) == 1
    assert report.lines(dry_run=True)[0].startswith("would redrive: profilepics-Thumbnails")


def test_at_most_max_events_are_redriven() -> None:
    queue = FakeQueue(RECORD, RECORD, RECORD)
    invoked: list[str] = []

    report = redrive(queue, lambda arn, _: invoked.append(arn), URL, limit=2)

    assert len(report.redriven) == len(invoked) == 2


def test_the_real_clients_are_called_as_sqs_and_lambda_define_the_calls() -> None:
    # botocore's Stubber checks every call's parameters against the services' own models.
    sqs, lam = _client("sqs"), _client("lambda")
    message = {"MessageId": "m0", "ReceiptHandle": "r0", "Body": RECORD}
    with Stubber(sqs) as queue, Stubber(lam) as functions:
        receive = {
            "QueueUrl": URL,
            "MaxNumberOfMessages": 10,
            "WaitTimeSeconds": 1,
            "VisibilityTimeout": 120,
        }
        queue.add_response("receive_message", {"Messages": [message]}, receive)
        payload = json.dumps(json.loads(RECORD)["requestPayload"]).encode()
        functions.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": ARN, "InvocationType": "Event", "Payload": payload},
        )
        queue.add_response("delete_message", {}, {"QueueUrl": URL, "ReceiptHandle": "r0"})
        queue.add_response("receive_message", {}, receive)

        report = redrive(sqs, lambda_invoker(lam), URL, 10)

        queue.assert_no_pending_responses()
        functions.assert_no_pending_responses()
    assert len(report.redriven) == 1


def test_the_command_reports_an_unreachable_queue_without_a_trace(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "https://sqs.eu-west-1.amazonaws.com/123456789012/nope"
    sqs = _client("sqs")
    stubber = Stubber(sqs)
    stubber.add_client_error(
        "receive_message",
        service_error_code="AWS.SimpleQueueService.NonExistentQueue",
        http_status_code=400,
    )
    stubber.activate()
    clients = {"sqs": sqs, "lambda": _client("lambda")}
    monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])

    code = cli.main(["redrive", "--queue-url", missing])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("redrive stopped:")
    assert "Traceback" not in err
