"""The DynamoDB adapter's requests and error translation, offline: what it asks of the table
(read consistency, the exact update expressions, no empty attributes), how its client is
bounded, and which failures are the caller's (400), a conflict, or the table's (503)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError, EndpointConnectionError
from profilepics.adapters.dynamodb_table import DynamoDBTable, _guard, dynamodb_client
from profilepics.config import Settings
from profilepics.errors import BadRequest, Conflict, TableUnavailable, UserNotFound
from profilepics.models import Crop, DirectUpload, Profile
from pydantic import SecretStr

from tests.contract.test_profile_table import _moto, picture

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SETTINGS = Settings(
    dynamodb_endpoint="http://127.0.0.1:9",
    dynamodb_access_key=SecretStr("unit-key"),
    dynamodb_secret_key=SecretStr("unit-secret"),
    dynamodb_timeout_seconds=3.5,
)
PICTURE = picture("ada")


class Recording:
    """Stands in for the boto3 client: records each call, answers from `answers`."""

    def __init__(self, **answers: dict[str, Any]) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._answers = answers

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            return self._answers.get(operation, {})

        return call


def recording(**answers: dict[str, Any]) -> tuple[DynamoDBTable, Recording]:
    table = DynamoDBTable(SETTINGS)
    client = Recording(**answers)
    table._client = client  # type: ignore[assignment]
    return table, client


def test_a_profile_is_read_consistently_unless_asked_otherwise() -> None:
    table, client = recording()

    assert table.get("ada") is None
    table.get("ada", consistent=False)

    assert [kwargs["ConsistentRead"] for _, kwargs in client.calls] == [True, False]
    assert client.calls[0][1]["Key"] == {"user_id": {"S": "ada"}}


def test_a_scan_page_without_items_is_empty() -> None:
    table, _ = recording(scan={"Count": 0})

    assert table.scan(10, None) == ([], None)


def test_an_update_sets_exactly_its_assignments_and_removes_nothing_else() -> None:
    table, client = recording()
    upload = DirectUpload(id="u1", key="uploads/ada/u1", created_at=NOW)

    table.start_upload("ada", upload, NOW)
    table.set_picture("ada", PICTURE, 3, NOW)
    table.set_picture("ada", None, 4, NOW)

    expressions = [kwargs["UpdateExpression"] for _, kwargs in client.calls]
    assert expressions == [
        "SET upload = :u, updated_at = :now",
        "SET version = version + :one, picture = :p, updated_at = :now",
        "SET version = version + :one, updated_at = :now REMOVE picture",
    ]
    assert all("ReturnValues" not in kwargs for _, kwargs in client.calls)


def test_fields_are_updated_in_one_expression_that_returns_the_profile() -> None:
    stored = {
        "user_id": {"S": "ada"},
        "display_name": {"S": "Countess"},
        "email": {"S": "ada@example.com"},
        "created_at": {"S": NOW.isoformat()},
        "updated_at": {"S": NOW.isoformat()},
    }
    table, client = recording(update_item={"Attributes": stored})

    updated = table.update_fields("ada", {"display_name": "Countess", "bio": "maths"}, NOW)

    [(_, kwargs)] = client.calls
    assert kwargs["UpdateExpression"] == "SET #f0 = :f0, #f1 = :f1, updated_at = :now"
    assert kwargs["ExpressionAttributeNames"] == {"#f0": "display_name", "#f1": "bio"}
    assert kwargs["ReturnValues"] == "ALL_NEW"
    assert updated.display_name == "Countess"


def test_a_picture_is_stored_without_empty_attributes() -> None:
    """A field with no value is left out, not stored as NULL: nothing has to tell the two apart
    when an item is read, filtered or compared in a condition."""
    table, client = recording()

    table.swap_picture("ada", PICTURE, PICTURE.revision, NOW)

    [(_, kwargs)] = client.calls
    stored = kwargs["ExpressionAttributeValues"][":v"]["M"]
    assert "crop" not in stored and "placeholder" not in stored
    assert not any("NULL" in value for value in stored.values())


def client_error(code: str | None) -> ClientError:
    answer: dict[str, Any] = {"Error": {"Code": code, "Message": "no"}} if code else {}
    return ClientError(answer, "UpdateItem")  # type: ignore[arg-type]


def raising(error: Exception) -> Callable[[], None]:
    def call() -> None:
        raise error

    return call


@pytest.mark.parametrize(
    ("error", "expected", "logged"),
    [
        (client_error("ConditionalCheckFailedException"), Conflict, None),
        (client_error("ValidationException"), BadRequest, None),
        (client_error("ThrottlingException"), TableUnavailable, "table refused a request: "
         "ThrottlingException"),
        (client_error(None), TableUnavailable, "table refused a request: "),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), TableUnavailable,
         "table unreachable: EndpointConnectionError"),
    ],
    ids=["conflict", "invalid", "refused", "no-code", "unreachable"],
)  # fmt: skip
def test_each_table_failure_is_translated_and_only_the_tables_own_are_logged(
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    expected: type[Exception],
    logged: str | None,
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(expected) as raised:
        _guard(raising(error))

    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert [r.getMessage() for r in caplog.records] == ([logged] if logged else [])


def test_a_value_the_table_cannot_store_is_the_callers_400() -> None:
    with pytest.raises(BadRequest) as raised:
        _guard(raising(client_error("ValidationException")))

    assert (raised.value.status, raised.value.code) == (400, "bad_request")
    assert str(raised.value) == "The request has a value the table cannot store"


@pytest.mark.parametrize("number", [10**41 + 1, 10**126], ids=["42-digits", "past-10**125"])
def test_a_number_the_table_cannot_hold_is_the_callers_400_and_sends_nothing(number: int) -> None:
    table, client = recording()
    crop = Crop(x=0, y=0, w=number, h=number)
    upload = DirectUpload(id="u1", key="uploads/ada/u1", crop=crop, created_at=NOW)

    with pytest.raises(BadRequest) as refused:  # boto3's serialiser raised decimal's
        table.start_upload("ada", upload, NOW)

    assert refused.value.detail == "The request has a value the table cannot store"
    assert client.calls == []


def test_a_conflict_is_the_callers_own_kind() -> None:
    with pytest.raises(UserNotFound):
        _guard(raising(client_error("ConditionalCheckFailedException")), UserNotFound)


def test_each_table_call_is_bounded_by_the_configured_timeout_and_attempts() -> None:
    config: Any = dynamodb_client(SETTINGS, attempts=3).meta.config
    default: Any = dynamodb_client(SETTINGS).meta.config

    assert (config.connect_timeout, config.read_timeout) == (3.5, 3.5)
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert default.retries["total_max_attempts"] == 2


def signing_keys(client: Any) -> Any:
    """The credentials the client signs with (botocore keeps them on its signer)."""
    return client._request_signer._credentials


def test_the_client_signs_with_the_configured_keys_or_else_the_default_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    keyless = SETTINGS.model_copy(update={"dynamodb_access_key": None, "dynamodb_secret_key": None})

    given = signing_keys(dynamodb_client(SETTINGS))
    chained = signing_keys(dynamodb_client(keyless))

    assert (given.access_key, given.secret_key) == ("unit-key", "unit-secret")
    assert chained.access_key == "from-the-environment"


def profile(user_id: str) -> Profile:
    return Profile(
        user_id=user_id,
        display_name=user_id.title(),
        email=f"{user_id}@example.com",
        created_at=NOW,
        updated_at=NOW,
    )


def profile_item(user_id: str) -> dict[str, Any]:
    plain = profile(user_id).model_dump(mode="json", exclude_none=True)
    return {k: TypeSerializer().serialize(v) for k, v in plain.items()}


class Batches:
    """Stands in for the boto3 client's BatchGetItem: answers `answers` in turn, records each
    request's keys and read consistency."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answers = list(answers)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.requests.append(RequestItems[SETTINGS.table])
        if self._answers:
            return self._answers.pop(0)
        keys = RequestItems[SETTINGS.table]["Keys"]
        return {"Responses": {SETTINGS.table: [profile_item(k["user_id"]["S"]) for k in keys]}}


def batches(*answers: dict[str, Any]) -> tuple[DynamoDBTable, Batches]:
    table = DynamoDBTable(SETTINGS)
    client = Batches(*answers)
    table._client = client  # type: ignore[assignment]
    return table, client


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The adapter's backoff pauses, recorded instead of slept."""
    pauses: list[float] = []
    monkeypatch.setattr("profilepics.adapters.dynamodb_table.time.sleep", pauses.append)
    return pauses


def test_get_many_reads_consistently_at_most_a_hundred_keys_a_call() -> None:
    table, client = batches()
    wanted = [f"user{n}" for n in range(250)]

    found = table.get_many(wanted)

    assert sorted(found) == sorted(wanted)
    assert [len(request["Keys"]) for request in client.requests] == [100, 100, 50]
    assert all(request["ConsistentRead"] is True for request in client.requests)


def test_keys_the_table_left_unprocessed_are_asked_again_with_a_doubling_backoff(
    slept: list[float],
) -> None:
    ada, bob = {"user_id": {"S": "ada"}}, {"user_id": {"S": "bob"}}
    left = {SETTINGS.table: {"Keys": [bob], "ConsistentRead": True}}
    table, client = batches(
        {"UnprocessedKeys": {SETTINGS.table: {"Keys": [ada, bob], "ConsistentRead": True}}},
        {"Responses": {}, "UnprocessedKeys": left},  # throttled: nothing read this time
        {"Responses": {SETTINGS.table: [profile_item("ada")]}, "UnprocessedKeys": left},
    )

    found = table.get_many(["ada", "bob"])

    assert sorted(found) == ["ada", "bob"]
    assert [r["Keys"] for r in client.requests] == [[ada, bob], [ada, bob], [bob], [bob]]
    assert slept == [0.05, 0.1, 0.2]


def test_keys_left_unprocessed_every_time_are_503_and_logged_once(
    caplog: pytest.LogCaptureFixture, slept: list[float]
) -> None:
    stuck = {"UnprocessedKeys": {SETTINGS.table: {"Keys": [{"user_id": {"S": "ada"}}]}}}
    table, client = batches(*[stuck] * 6)

    with caplog.at_level(logging.WARNING), pytest.raises(TableUnavailable):
        table.get_many(["ada"])

    assert len(client.requests) == 5
    assert slept == [0.05, 0.1, 0.2, 0.4, 0.8]
    assert caplog.messages == ["table left keys unprocessed 5 times"]


@pytest.fixture
def moto_table() -> Iterator[DynamoDBTable]:
    for table, _ in _moto():
        assert isinstance(table, DynamoDBTable)
        yield table


def test_a_picture_stored_before_revisions_is_swapped_only_from_revision_zero(
    moto_table: DynamoDBTable,
) -> None:
    table = moto_table
    table.create(profile("ada"))
    legacy = picture("ada")
    stored = legacy.model_dump(mode="json", exclude_none=True)
    del stored["revision"]
    table._client.update_item(
        TableName=SETTINGS.table,
        Key={"user_id": {"S": "ada"}},
        UpdateExpression="SET picture = :p",
        ExpressionAttributeValues={":p": TypeSerializer().serialize(stored)},
    )
    added = legacy.model_copy(update={"revision": 1, "on_demand": ["200.webp"]})

    with pytest.raises(Conflict):  # it has no revision 1
        table.swap_picture("ada", added, 1, NOW)
    table.swap_picture("ada", added, 0, NOW)

    found = table.get("ada")
    assert found is not None and found.picture == added
