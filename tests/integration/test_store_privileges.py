"""Least privilege on the real local store: the functions' (app) identity may use its bucket's
prefixes and nothing else, the admin identity stays with the bootstrap, and the functions never
see the admin's keys. The rest of the suite is the proof that the whole flow works with it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.client import Config
from botocore.exceptions import ClientError
from profilepics import keys
from profilepics.adapters.minio_store import MinioStore
from profilepics.errors import StorageUnavailable

from infra.bootstrap import bucket_policy
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack, _descendants

pytestmark = pytest.mark.integration

OUTSIDE = ("elsewhere/x.jpg", "originalsX/u/x.jpg", "x.jpg", "sweeps/x")


def s3(stack: RunningStack, access: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.info["s3_endpoint"],
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
        ),
    )


@pytest.fixture(scope="module")
def app(stack: RunningStack) -> Any:
    return s3(stack, ACCESS_KEY, SECRET_KEY)


@pytest.fixture(scope="module")
def admin(stack: RunningStack) -> Any:
    return s3(stack, *stack.admin_keys())


@pytest.fixture(scope="module")
def other_bucket(stack: RunningStack, admin: Any) -> Iterator[str]:
    """A second bucket, with an object in it, made by the admin."""
    name = f"other-{uuid.uuid4().hex[:10]}"
    admin.create_bucket(Bucket=name)
    admin.put_object(Bucket=name, Key="secret.txt", Body=b"not the app's")
    yield name
    admin.delete_object(Bucket=name, Key="secret.txt")
    admin.delete_bucket(Bucket=name)


def refused(call: Callable[[], object]) -> str:
    """The store's error code for a call that must fail."""
    with pytest.raises(ClientError) as error:
        call()
    code: str = error.value.response["Error"]["Code"]
    return code


def test_the_app_cannot_create_or_delete_buckets(
    stack: RunningStack, app: Any, admin: Any, other_bucket: str
) -> None:
    name = f"evil-{uuid.uuid4().hex[:10]}"

    assert refused(lambda: app.create_bucket(Bucket=name)) == "AccessDenied"
    assert refused(lambda: app.delete_bucket(Bucket=stack.bucket)) == "AccessDenied"
    assert refused(lambda: app.delete_bucket(Bucket=other_bucket)) == "AccessDenied"

    buckets = {b["Name"] for b in admin.list_buckets()["Buckets"]}
    assert {stack.bucket, other_bucket} <= buckets and name not in buckets


def test_the_app_cannot_change_the_bucket_policy_or_the_buckets_settings(
    stack: RunningStack, app: Any, admin: Any
) -> None:
    bucket = stack.bucket
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
    expire_all = {
        "Rules": [
            {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
        ]
    }
    cors = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    calls: dict[str, Callable[[], object]] = {
        "put policy": lambda: app.put_bucket_policy(Bucket=bucket, Policy=public),
        "delete policy": lambda: app.delete_bucket_policy(Bucket=bucket),
        "lifecycle": lambda: app.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration=expire_all
        ),
        "delete lifecycle": lambda: app.delete_bucket_lifecycle(Bucket=bucket),
        "versioning": lambda: app.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        ),
        "cors": lambda: app.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors),
    }

    codes = {name: refused(call) for name, call in calls.items()}

    assert codes == dict.fromkeys(calls, "AccessDenied")
    stored = json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"])
    assert stored == bucket_policy(bucket)
    assert admin.get_bucket_versioning(Bucket=bucket).get("Status") is None


@pytest.mark.parametrize("key", OUTSIDE)
def test_the_app_cannot_write_or_delete_outside_the_services_prefixes(
    stack: RunningStack, app: Any, key: str
) -> None:
    bucket = stack.bucket

    assert refused(lambda: app.put_object(Bucket=bucket, Key=key, Body=b"x")) == "AccessDenied"
    assert refused(lambda: app.delete_object(Bucket=bucket, Key=key)) == "AccessDenied"
    batch = app.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]})
    assert [e["Code"] for e in batch.get("Errors", [])] == ["AccessDenied"]
    assert stack.keys(key) == []


def test_a_post_policy_the_app_signs_for_a_key_outside_its_prefixes_is_refused(
    stack: RunningStack,
) -> None:
    """The app's signature makes a POST policy; SeaweedFS checks the signer's bucket-wide
    Write, and the bucket's policy then refuses a key outside the prefixes."""
    store = MinioStore(stack.settings())
    expires = datetime.now(UTC) + timedelta(minutes=5)
    inside, outside = f"{keys.UPLOADS}priv/{uuid.uuid4().hex}", f"elsewhere/{uuid.uuid4().hex}"

    answers = {}
    for key in (inside, outside):
        url, fields = store.presign_post(key, 1000, expires)
        form = {**fields, "Content-Type": "image/jpeg"}
        answers[key] = requests.post(url, data=form, files={"file": ("f", b"img")}, timeout=10)

    assert answers[inside].status_code == 204, answers[inside].text
    assert answers[outside].status_code == 403
    assert "<Code>AccessDenied</Code>" in answers[outside].text
    assert stack.keys(outside) == []
    store.delete([inside])


def test_the_app_reads_and_lists_only_its_prefixes_of_its_own_bucket(
    stack: RunningStack, app: Any, other_bucket: str
) -> None:
    bucket = stack.bucket

    assert refused(lambda: app.get_object(Bucket=bucket, Key="elsewhere/x.jpg")) == "AccessDenied"
    assert refused(lambda: app.list_objects_v2(Bucket=bucket)) == "AccessDenied"
    assert refused(lambda: app.list_objects_v2(Bucket=bucket, Prefix="else")) == "AccessDenied"
    assert refused(lambda: app.get_object(Bucket=other_bucket, Key="secret.txt")) in {
        "AccessDenied",
        "NoSuchBucket",
    }
    assert refused(lambda: app.list_objects_v2(Bucket=other_bucket)) == "AccessDenied"
    missing = refused(lambda: app.get_object(Bucket=bucket, Key=f"{keys.ORIGINALS}u/none.jpg"))
    assert missing == "NoSuchKey"  # inside its prefixes, a missing key is a 404, not a 403
    listed = app.list_objects_v2(Bucket=bucket, Prefix=keys.THUMBNAILS, MaxKeys=1)
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_ping_tells_a_missing_bucket_from_a_missing_key(stack: RunningStack) -> None:
    MinioStore(stack.settings()).ping()

    elsewhere = stack.settings().model_copy(update={"bucket": f"absent-{uuid.uuid4().hex[:8]}"})
    with pytest.raises(StorageUnavailable):
        MinioStore(elsewhere).ping()


def test_the_functions_hold_the_apps_keys_and_nothing_holds_the_admins(
    stack: RunningStack,
) -> None:
    """The admin's keys are made at each start and kept in SeaweedFS's config (0600) only: no
    process of the invoker, no worker's environment (as the kernel shows it: a worker clears
    its environment, but /proc keeps the one it started with) and no log line has them."""
    admin_access, admin_secret = stack.admin_keys()
    workers = [pid for pid in _descendants(stack.process.pid) if pid not in _servers(stack)]
    environments = {
        pid: env for pid in [stack.process.pid, *workers] if (env := _environ(pid)) is not None
    }

    assert len(environments) > 2, "the invoker and its workers"
    for env in environments.values():
        assert admin_secret not in env and admin_access not in env
        assert ACCESS_KEY in env
    assert admin_secret not in stack.log()
    identities = stack.data_dir / "conf" / "seaweedfs" / "s3-identities.json"
    assert identities.stat().st_mode & 0o777 == 0o600


def _servers(stack: RunningStack) -> set[int]:
    """SeaweedFS and dynalite, and whatever runs under them: they are not the functions."""
    leaders = [int(pid) for pid in stack.info["pids"].values()]
    return {*leaders, *(pid for leader in leaders for pid in _descendants(leader))}


def _environ(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode()
    except OSError:
        return None  # it ended meanwhile
