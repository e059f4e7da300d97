"""Creating the bucket and the table: safe when several creators start at once."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import pytest
from profilepics.errors import ProblemError

from infra.bootstrap import ensure_bucket
from infra.local import REPO_ROOT
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack

pytestmark = pytest.mark.integration
CREATORS = 8


def test_creators_racing_for_one_new_bucket_all_succeed(stack: RunningStack) -> None:
    """Given eight creators released together on a bucket that does not exist yet, when each
    ensures it, then none fails: the store's BucketAlreadyOwnedByYou counts as success."""
    settings = stack.admin_settings().model_copy(update={"bucket": f"race-{uuid.uuid4().hex[:10]}"})
    start = threading.Barrier(CREATORS)
    outcomes: list[bool | str] = []

    def create() -> None:
        start.wait()
        try:
            outcomes.append(ensure_bucket(settings))
        except ProblemError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=create) for _ in range(CREATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(outcomes) == CREATORS
    assert all(isinstance(outcome, bool) for outcome in outcomes), outcomes
    assert True in outcomes
    assert stack.admin_minio().bucket_exists(settings.bucket)


def test_bootstrap_table_only_makes_the_table_and_leaves_the_bucket_alone(
    stack: RunningStack,
) -> None:
    suffix = uuid.uuid4().hex[:10]
    bucket, table = f"absent-{suffix}", f"profiles-{suffix}"
    env = {
        **stack.env,
        "PROFILEPICS_S3_ENDPOINT": str(stack.info["s3_endpoint"]),
        "PROFILEPICS_S3_ACCESS_KEY": ACCESS_KEY,
        "PROFILEPICS_S3_SECRET_KEY": SECRET_KEY,
        "PROFILEPICS_DYNAMODB_ENDPOINT": str(stack.info["dynamodb_endpoint"]),
        "PROFILEPICS_DYNAMODB_ACCESS_KEY": "local",
        "PROFILEPICS_DYNAMODB_SECRET_KEY": "local",
        "PROFILEPICS_BUCKET": bucket,
        "PROFILEPICS_TABLE": table,
    }

    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "bootstrap", "--table-only"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"table {table}: created"]
    assert table in stack.dynamodb().list_tables()["TableNames"]
    assert not stack.admin_minio().bucket_exists(bucket)
