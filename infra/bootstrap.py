"""Creates the private bucket (with its policy) and the profile table, the table's schema read
from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from minio.error import S3Error
from profilepics import keys
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


# What an identity allowed to write a bucket may also change on it, on SeaweedFS (measured):
# an expiry rule would delete every picture. SeaweedFS matches action names as written, and
# spells one of them its own way, so both spellings are here.
BUCKET_SETTINGS = (
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketCORS",
    "s3:PutBucketCors",
    "s3:PutBucketObjectLockConfiguration",
)


def bucket_policy(bucket: str, prefixes: Sequence[str] = keys.PREFIXES) -> dict[str, Any]:
    """Denials for everyone, the admin included, that narrow what a bucket-wide write grant
    allows: no object written or deleted outside the service's prefixes (by PUT, DELETE or a
    POST policy), and none of the bucket settings above. Nothing is allowed by it."""
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ObjectsOnlyUnderTheServicesPrefixes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "NotResource": [f"{arn}/{prefix}*" for prefix in prefixes],
            },
            {
                "Sid": "NoBucketSettings",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(BUCKET_SETTINGS),
                "Resource": arn,
            },
        ],
    }


def ensure_bucket_policy(settings: Settings) -> None:
    """Set the bucket's policy (bucket_policy): the store's admin only may."""
    client = minio_client(settings)
    document = json.dumps(bucket_policy(settings.bucket))
    guard("set bucket policy", lambda: client.set_bucket_policy(settings.bucket, document))
