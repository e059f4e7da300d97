"""The profile table adapter: DynamoDB via boto3, conditional writes, item <-> model mapping."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import DecimalException
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from profilepics import cursor as cursor_codec
from profilepics.config import Settings
from profilepics.errors import BadRequest, Conflict, TableUnavailable, UserExists, UserNotFound
from profilepics.models import DirectUpload, Picture, Profile, UploadState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)
T = TypeVar("T")
_BATCH_GET = 100  # BatchGetItem's ceiling of keys per call
_BATCH_ATTEMPTS = 5
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}
    except DecimalException:
        # A number of more than 38 digits, or past 10**125: DynamoDB's Number can't hold it.
        raise BadRequest("The request has a value the table cannot store") from None


def _plain(model: Picture | DirectUpload) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _from_item(item: Mapping[str, Any]) -> Profile:
    return Profile.model_validate({k: _deserializer.deserialize(v) for k, v in item.items()})


def _upload_is(upload: DirectUpload) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that the stored direct upload is still this one: id, state and claim."""
    names = {"#u": "upload", "#uid": "id", "#ust": "state", "#ucl": "claimed_at"}
    values: dict[str, Any] = {":uid": upload.id, ":ust": upload.state.value}
    condition = "#u.#uid = :uid AND #u.#ust = :ust AND "
    claimed_at = _plain(upload).get("claimed_at")
    if claimed_at is None:
        condition += "attribute_not_exists(#u.#ucl)"
    else:
        # The same serialiser wrote it, so equal instants are equal strings.
        condition += "#u.#ucl = :ucl"
        values[":ucl"] = claimed_at
    return condition, names, values


def _guard(call: Callable[[], T], conflict: type[Exception] = Conflict) -> T:
    try:
        return call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise conflict() from None
        if code == "ValidationException":
            # A key or value the table cannot take (e.g. an id over its key size): bad input.
            raise BadRequest("The request has a value the table cannot store") from None
        log.warning("table refused a request: %s", code)
        raise TableUnavailable() from None
    except BotoCoreError as exc:
        log.warning("table unreachable: %s", type(exc).__name__)
        raise TableUnavailable() from None


def dynamodb_client(settings: Settings, attempts: int = 2) -> DynamoDBClient:
    key, secret = settings.dynamodb_access_key, settings.dynamodb_secret_key
    return boto3.client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.dynamodb_endpoint,
        aws_access_key_id=key.get_secret_value() if key else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            connect_timeout=settings.dynamodb_timeout_seconds,
            read_timeout=settings.dynamodb_timeout_seconds,
            # total_max_attempts counts the first try; botocore's max_attempts does not.
            retries={"total_max_attempts": attempts, "mode": "standard"},
        ),
    )


class DynamoDBTable:
    """ProfileTable on DynamoDB (or dynalite, DynamoDB Local)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.table
        self._client = dynamodb_client(settings)

    def create(self, profile: Profile) -> None:
        _guard(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=_to_item(profile.model_dump(mode="json")),
                ConditionExpression="attribute_not_exists(user_id)",
            ),
            conflict=UserExists,
        )

    def get(self, user_id: str, *, consistent: bool = True) -> Profile | None:
        key = _to_item({"user_id": user_id})
        response = _guard(
            lambda: self._client.get_item(TableName=self._table, Key=key, ConsistentRead=consistent)
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def get_many(self, user_ids: Iterable[str]) -> dict[str, Profile]:
        found: dict[str, Profile] = {}
        wanted = list(dict.fromkeys(user_ids))  # BatchGetItem refuses a repeated key
        for start in range(0, len(wanted), _BATCH_GET):
            keys = [_to_item({"user_id": u}) for u in wanted[start : start + _BATCH_GET]]
            for item in self._batch_get({self._table: {"Keys": keys, "ConsistentRead": True}}):
                profile = _from_item(item)
                found[profile.user_id] = profile
        return found

    def _batch_get(self, request: dict[str, Any]) -> Iterator[Mapping[str, Any]]:
        """The items of one BatchGetItem, asking again for the keys it left unprocessed (a
        throttled or oversized answer), with backoff."""
        for attempt in range(_BATCH_ATTEMPTS):
            response = _guard(partial(self._client.batch_get_item, RequestItems=request))
            yield from response.get("Responses", {}).get(self._table, [])
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return
            time.sleep(0.05 * 2**attempt)
        log.warning("table left keys unprocessed %d times", _BATCH_ATTEMPTS)
        raise TableUnavailable()

    def scan(self, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        args: dict[str, Any] = {"TableName": self._table, "Limit": limit}
        if cursor:
            args["ExclusiveStartKey"] = _to_item({"user_id": cursor_codec.decode(cursor)})
        response = _guard(lambda: self._client.scan(**args))
        last = response.get("LastEvaluatedKey")
        next_cursor = (
            cursor_codec.encode(_deserializer.deserialize(last["user_id"])) if last else None
        )
        return [_from_item(item) for item in response.get("Items", [])], next_cursor

    def update_fields(self, user_id: str, fields: Mapping[str, str], now: datetime) -> Profile:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        response = self._update(
            user_id,
            ", ".join(f"#f{i} = :f{i}" for i in range(len(names))),
            "attribute_exists(user_id)",
            {f":f{i}": value for i, value in enumerate(fields.values())},
            now,
            names=names,
            conflict=UserNotFound,
            returns=True,
        )
        return _from_item(response["Attributes"])

    def set_picture(
        self,
        user_id: str,
        picture: Picture | None,
        expected_version: int,
        now: datetime,
        *,
        claim: DirectUpload | None = None,
    ) -> None:
        values: dict[str, Any] = {":expected": expected_version, ":one": 1}
        names: dict[str, str] = {}
        assignments = "version = version + :one"
        condition = "version = :expected"
        if picture is not None:
            assignments += ", picture = :p"
            values[":p"] = _plain(picture)
        if claim is not None:
            done = claim.model_copy(update={"state": UploadState.DONE, "error_code": None})
            assignments += ", #u = :done"
            values[":done"] = _plain(done)
            claimed, claim_names, claim_values = _upload_is(claim)
            condition += f" AND {claimed}"
            names |= claim_names
            values |= claim_values
        remove = "picture" if picture is None else ""
        self._update(
            user_id, assignments, condition, values, now, remove=remove, names=names or None
        )

    def swap_picture(
        self, user_id: str, picture: Picture, expected_revision: int, now: datetime
    ) -> None:
        values = {":v": _plain(picture), ":id": picture.id, ":rev": expected_revision}
        names = {"#p": "picture", "#id": "id", "#rev": "revision"}
        condition = "#p.#id = :id AND #p.#rev = :rev"
        if expected_revision == 0:  # pictures written before revisions had none
            condition = "#p.#id = :id AND (#p.#rev = :rev OR attribute_not_exists(#p.#rev))"
        self._update(user_id, "#p = :v", condition, values, now, names=names)

    def start_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        values = {":u": _plain(upload)}
        condition = "attribute_exists(user_id)"
        self._update(user_id, "upload = :u", condition, values, now, conflict=UserNotFound)

    def swap_upload(
        self, user_id: str, expected: DirectUpload, new: DirectUpload, now: datetime
    ) -> None:
        condition, names, values = _upload_is(expected)
        self._update(
            user_id, "#u = :new", condition, {**values, ":new": _plain(new)}, now, names=names
        )

    def _update(
        self,
        user_id: str,
        assignments: str,
        condition: str,
        values: Mapping[str, Any],
        now: datetime,
        *,
        remove: str = "",
        names: Mapping[str, str] | None = None,
        conflict: type[Exception] = Conflict,
        returns: bool = False,
    ) -> Mapping[str, Any]:
        """One conditional UpdateItem of the profile, which also sets its updated_at."""
        args: dict[str, Any] = {
            "TableName": self._table,
            "Key": _to_item({"user_id": user_id}),
            "UpdateExpression": f"SET {assignments}, updated_at = :now"
            + (f" REMOVE {remove}" if remove else ""),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": _to_item({**values, ":now": now.isoformat()}),
        }
        if names:
            args["ExpressionAttributeNames"] = dict(names)
        if returns:
            args["ReturnValues"] = "ALL_NEW"
        return _guard(lambda: self._client.update_item(**args), conflict)

    def ping(self) -> None:
        _guard(lambda: self._client.describe_table(TableName=self._table))
