"""The scheduled sweep function: run by its EventBridge event, it deletes old orphans only."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import settle
from tests.stackrun import RunningStack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 2  # long enough to spare other tests' objects in flight, short to wait out


def test_the_scheduled_sweep_deletes_old_orphans_and_keeps_current_pictures(
    stack: RunningStack,
) -> None:
    # Given a user's current picture and an orphan original no profile refers to
    user = new_user(stack.api, "sweepfn")
    assert put_picture(stack.api, user, jpeg(80, 60)).status_code == 201
    settle(stack, [user])
    kept = stack.keys(f"originals/{user}/") + stack.keys(f"thumbnails/{user}/")
    orphan = f"originals/{user}/{uuid.uuid4().hex}.jpg"
    stack.minio().put_object(stack.bucket, orphan, io.BytesIO(b"orphan"), 6)
    time.sleep(GRACE_SECONDS + 1.5)  # S3 reports whole seconds: the sweep allows one more

    # When EventBridge's schedule invokes the function
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "invoke",
            "SweepFunction",
            "--event",
            str(REPO / "tests" / "events" / "scheduled_sweep.json"),
        ],
        env={**stack.env, "PROFILEPICS_SWEEP_GRACE_SECONDS": str(GRACE_SECONDS)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then the orphan is gone and every object of the current picture is still there
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"deleted"' in done.stdout
    assert orphan not in stack.keys(f"originals/{user}/")
    assert sorted(stack.keys(f"originals/{user}/") + stack.keys(f"thumbnails/{user}/")) == sorted(
        kept
    )
    assert len(kept) == 1 + stack.stills()  # the original and its variants
