"""infra/compose/minio-init.sh, Compose's MinIO init job, run with a recording stand-in for `mc`.

No MinIO binary can be had on these machines (MinIO ships source only), so this checks the
script's own logic: the calls it makes and their order, what it refuses, that it stops at the
first failure, that it can run again, and the policy it gives the app's user.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from profilepics import keys

from tests.unit.composefile import INIT_SCRIPT

ROOT_USER, ROOT_PASSWORD = "root-user", "root-password-0123456789"
APP_KEY, APP_SECRET = "app-user", "app-secret-0123456789abcdef"
BUCKET = "pictures"
ARN = "arn:minio:sqs::PROFILEPICS:webhook"

# Records each call (one line, arguments separated by tabs) and the policy file it is given;
# FAIL_ON names a subcommand ("mb", "event rm", ...) to fail, as a broken server would.
FAKE_MC = r"""#!/bin/sh
all=" $* "
printf '%s' "$1" >>"$MC_LOG"; shift
for arg in "$@"; do printf '\t%s' "$arg" >>"$MC_LOG"; last="$arg"; done
printf '\n' >>"$MC_LOG"
case "$all" in *" policy create "*) cp "$last" "$MC_POLICY" ;; esac
if [ -n "${FAIL_ON:-}" ]; then
  case "$all" in *" $FAIL_ON "*) echo "mc: <ERROR> failed" >&2; exit 1 ;; esac
fi
"""


def run_init(tmp_path: Path, **overrides: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    mc = bin_dir / "mc"
    mc.write_text(FAKE_MC)
    mc.chmod(0o755)
    log = tmp_path / "mc.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "MC_LOG": str(log),
        "MC_POLICY": str(tmp_path / "policy.json"),
        "MINIO_URL": "http://minio:9000",
        "MINIO_ROOT_USER": ROOT_USER,
        "MINIO_ROOT_PASSWORD": ROOT_PASSWORD,
        "PROFILEPICS_BUCKET": BUCKET,
        "WEBHOOK_ARN": ARN,
        "APP_ACCESS_KEY": APP_KEY,
        "APP_SECRET_KEY": APP_SECRET,
        **overrides,
    }
    done = subprocess.run(
        ["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done, log


def calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split("\t") for line in log.read_text().splitlines()]


EXPECTED = [
    ["alias", "set", "store", "http://minio:9000", ROOT_USER, ROOT_PASSWORD],
    ["mb", "--ignore-existing", f"store/{BUCKET}"],
    ["anonymous", "set", "none", f"store/{BUCKET}"],
    ["event", "rm", "--force", f"store/{BUCKET}"],
    ["event", "add", f"store/{BUCKET}", ARN, "--event", "put", "--prefix", "originals/"],
    ["event", "add", f"store/{BUCKET}", ARN, "--event", "put", "--prefix", "uploads/"],
    ["event", "ls", f"store/{BUCKET}"],
]


def test_the_script_is_valid_shell() -> None:
    result = subprocess.run(
        ["sh", "-n", str(INIT_SCRIPT)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_it_makes_the_private_bucket_its_events_and_the_apps_own_user(tmp_path: Path) -> None:
    done, log = run_init(tmp_path)

    assert done.returncode == 0, done.stderr
    made = calls(log)
    assert made[: len(EXPECTED)] == EXPECTED
    policy_create = made[len(EXPECTED)]
    assert policy_create[:4] == ["admin", "policy", "create", "store"]
    assert policy_create[4] == "profilepics-app"
    assert made[len(EXPECTED) + 1 :] == [
        ["admin", "user", "add", "store", APP_KEY, APP_SECRET],
        ["admin", "policy", "attach", "store", "profilepics-app", "--user", APP_KEY],
    ]
    assert APP_SECRET not in done.stdout + done.stderr
    assert ROOT_PASSWORD not in done.stdout + done.stderr


def test_the_apps_policy_allows_only_the_calls_it_makes_on_its_prefixes(tmp_path: Path) -> None:
    done, _ = run_init(tmp_path)
    assert done.returncode == 0, done.stderr

    policy: dict[str, Any] = json.loads((tmp_path / "policy.json").read_text())

    granted = {
        (action, resource)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    bucket = f"arn:aws:s3:::{BUCKET}"
    objects = {f"{bucket}/{prefix}*" for prefix in keys.PREFIXES}  # the service's own list
    assert granted == {
        *((action, bucket) for action in ("s3:ListBucket", "s3:GetBucketLocation")),
        *(
            (action, resource)
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                           "s3:AbortMultipartUpload")
            for resource in objects
        ),
    }  # fmt: skip
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])


def test_it_can_run_again_and_tolerates_a_bucket_without_rules(tmp_path: Path) -> None:
    first, log = run_init(tmp_path, FAIL_ON="rm")
    second, _ = run_init(tmp_path, FAIL_ON="rm")

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    made = calls(log)
    policy_files = [call.pop() for call in made if call[:3] == ["admin", "policy", "create"]]
    assert made[: len(made) // 2] == made[len(made) // 2 :]
    assert len(policy_files) == 2
    assert not any(Path(name).exists() for name in policy_files), "temporary file left behind"


@pytest.mark.parametrize("failing", ["mb", "anonymous", "add", "create"])
def test_a_failing_step_stops_it_before_the_app_user_is_made(tmp_path: Path, failing: str) -> None:
    done, log = run_init(tmp_path, FAIL_ON=failing)

    assert done.returncode != 0
    assert ["admin", "user", "add", "store", APP_KEY, APP_SECRET] not in calls(log)


def test_it_refuses_to_give_the_app_the_root_user(tmp_path: Path) -> None:
    done, log = run_init(tmp_path, APP_ACCESS_KEY=ROOT_USER)

    assert done.returncode == 1
    assert "PROFILEPICS_S3_ACCESS_KEY must differ from MINIO_ROOT_USER" in done.stderr
    assert calls(log) == []


@pytest.mark.parametrize("missing", ["APP_ACCESS_KEY", "APP_SECRET_KEY", "MINIO_ROOT_PASSWORD"])
def test_it_refuses_to_start_without_a_key(tmp_path: Path, missing: str) -> None:
    done, log = run_init(tmp_path, **{missing: ""})

    assert done.returncode != 0
    assert missing in done.stderr
    assert calls(log) == []
