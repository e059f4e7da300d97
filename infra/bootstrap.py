"""Creates the private bucket and the profile table, the table's schema read from template.yaml."""

from __future__ import annotations

from typing import Any

from minio.error import S3Error
from profilepics.adapters.dynamodb_table import dynamodb_client
from profilepics.adapters.minio_store import guard, minio_client
from profilepics.config import Settings

from infra.invoker.template import Template

_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


def table_definition(template: Template, name: str) -> dict[str, Any]:
    """CreateTable arguments from the template's AWS::DynamoDB::Table, so the two can't drift."""
    props = {k: v for k, v in template.table.items() if k in _TABLE_KEYS}
    props.setdefault("BillingMode", "PAY_PER_REQUEST")
    return {"TableName": name, **props}


def ensure_table(settings: Settings, template: Template) -> bool:
    """Create the table unless it exists; True when it was created."""
    client = dynamodb_client(settings, attempts=5)
    if settings.table in client.list_tables().get("TableNames", []):
        return False
    client.create_table(**table_definition(template, settings.table))
    client.get_waiter("table_exists").wait(
        TableName=settings.table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return True


def ensure_bucket(settings: Settings) -> bool:
    """Create the private bucket unless it exists; True when this call created it.

    Another creator may get in between the check and the create (init jobs or instances
    starting together): the store then answers BucketAlreadyOwnedByYou, which is success.
    """
    client = minio_client(settings)

    def make() -> bool:
        if client.bucket_exists(settings.bucket):
            return False
        try:
            client.make_bucket(settings.bucket, location=settings.region)
        except S3Error as exc:
            if exc.code == "BucketAlreadyOwnedByYou":
                return False
            raise
        return True

    return guard("create bucket", make)
