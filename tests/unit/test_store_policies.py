"""What the local store's identities and the bucket's policy grant, as files: the app's
identity only its prefixes of its bucket (writes narrowed by the policy), the admin all.
tests/integration/test_store_privileges.py checks that SeaweedFS enforces them."""

from __future__ import annotations

import json
from pathlib import Path

from profilepics import keys

from infra.bootstrap import bucket_policy
from infra.stack.weed_config import (
    IDENTITIES_FILE,
    admin_identity,
    app_identity,
    write_config_dir,
)


def test_the_app_identity_reads_and_lists_each_prefix_and_writes_only_its_bucket() -> None:
    app = app_identity("app-key", "app-secret", "pics")

    assert sorted(app.actions) == sorted(
        [
            *(f"List:pics/{prefix}*" for prefix in keys.PICTURES),
            *(f"Read:pics/{prefix}*" for prefix in keys.PREFIXES),
            "Write:pics",
        ]
    )
    # A prefix grant keeps its slash: "Read:pics/originals*" would also match originalsX/.
    assert all(a.endswith("/*") for a in app.actions if a.startswith(("Read", "List")))
    assert not any(a.startswith(("Admin", "Tagging")) or a in {"Read", "List"} for a in app.actions)


def test_the_config_file_holds_both_identities_privately_and_hides_secrets_from_repr(
    tmp_path: Path,
) -> None:
    admin = admin_identity("admin-key", "admin-secret")
    app = app_identity("app-key", "app-secret", "pics")

    path = write_config_dir(tmp_path / "conf", (admin, app), None)

    assert path.name == IDENTITIES_FILE and path.stat().st_mode & 0o777 == 0o600
    written = {i["name"]: i for i in json.loads(path.read_text())["identities"]}
    assert written["admin"]["actions"] == ["Admin"]
    assert written["app"]["actions"] == list(app.actions)
    assert written["app"]["credentials"] == [{"accessKey": "app-key", "secretKey": "app-secret"}]
    assert "admin-secret" not in repr(admin) and "app-secret" not in repr(app)


def test_the_bucket_policy_only_denies_writes_outside_the_prefixes_and_bucket_settings() -> None:
    policy = bucket_policy("pics")

    statements = policy["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}
    assert all(s["Principal"] == "*" for s in statements)
    objects, settings = statements
    assert objects["Action"] == ["s3:PutObject", "s3:DeleteObject"]
    assert objects["NotResource"] == [f"arn:aws:s3:::pics/{p}*" for p in keys.PREFIXES]
    assert settings["Resource"] == "arn:aws:s3:::pics"
    assert "s3:PutLifecycleConfiguration" in settings["Action"]
    # The admin re-applies the policy at every start: it must never deny that to itself.
    assert not {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"} & {
        action for s in statements for action in s["Action"]
    }
