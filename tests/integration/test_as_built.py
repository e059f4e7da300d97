"""The artifact that deploys is the artifact tested: `sam build`, then every function of
.aws-sam/build run with only its folder and the layer on the path (`python3.12 -I -S`), the
template's production environment (TLS to the store, no configured API URL, the role's keys),
against the real local stack."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from profilepics.config import Settings

from infra.bootstrap import ensure_bucket, ensure_table
from infra.invoker import events
from infra.invoker.template import Template, load
from tests import asbuilt
from tests.api_client import jpeg
from tests.stackrun import RunningStack
from tests.unit import imagegen as gen

# A cold `sam build` (no cache yet, as on a fresh CI machine) takes minutes, not seconds.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

BUCKET, TABLE = "asbuilt-pictures", "asbuilt-profiles"  # apart from the stack's own functions'
DOMAIN = asbuilt.DOMAIN
STDLIB = re.compile(r"/lib/python3\.12/")


@pytest.fixture(scope="module")
def build() -> float:
    return asbuilt.sam_build()


@pytest.fixture(scope="module")
def template(build: float) -> Template:
    return asbuilt.built_template()


@pytest.fixture(scope="module")
def keys(https_stack: RunningStack) -> tuple[str, str]:
    """The built functions sign with the stack's admin identity: the app's is scoped to the
    stack's own bucket, and these use a bucket of their own (see tls_stack)."""
    return https_stack.admin_keys()


@pytest.fixture(scope="module")
def tls_stack(https_stack: RunningStack, keys: tuple[str, str]) -> RunningStack:
    """The session's HTTPS stack, with a bucket and a table of the built functions' own."""
    settings = Settings(
        s3_endpoint=https_stack.info["s3_endpoint"],
        s3_access_key=keys[0],
        s3_secret_key=keys[1],
        s3_ca_bundle=Path(https_stack.info["ca_bundle"]),
        dynamodb_endpoint=https_stack.info["dynamodb_endpoint"],
        dynamodb_access_key="local",
        dynamodb_secret_key="local",
        bucket=BUCKET,
        table=TABLE,
    )
    ensure_bucket(settings)
    ensure_table(settings, load(asbuilt.REPO / "template.yaml"))
    return https_stack


@pytest.fixture(scope="module")
def instances(
    template: Template,
    tls_stack: RunningStack,
    keys: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, asbuilt.Instance]]:
    layer = asbuilt.runnable_layer(asbuilt.layer_dir())
    resolver = asbuilt.resolver(
        {"S3Endpoint": tls_stack.info["s3_endpoint"], "BucketName": BUCKET, "TableName": TABLE}
    )
    logs = tmp_path_factory.mktemp("asbuilt-logs")
    started: dict[str, asbuilt.Instance] = {}
    try:
        for name, function in template.functions.items():
            stand_ins = asbuilt.lambda_environment(
                function,
                *keys,
                str(tls_stack.info["dynamodb_endpoint"]),
                str(tls_stack.info["ca_bundle"]),
            )
            env = {**resolver.environment(function), **stand_ins}
            started[name] = asbuilt.Instance.start(function, layer, env, logs)
        for instance in started.values():
            instance.wait_ready()
        yield started
    finally:
        for instance in started.values():
            instance.close()


def s3_event(key: str, size: int) -> dict[str, Any]:
    return {"Records": [events.s3_record("ObjectCreated:Put", BUCKET, key, size)]}


def ok(reply: dict[str, Any], status: int) -> dict[str, Any]:
    assert "errorType" not in reply, reply
    result: dict[str, Any] = reply["result"]
    assert result["statusCode"] == status, result
    return result


def body_of(reply: dict[str, Any], status: int) -> Any:
    return json.loads(ok(reply, status)["body"])


# --- the artifact ------------------------------------------------------------------------------


def test_the_layer_is_built_for_lambdas_architecture_and_precompiled(build: float) -> None:
    site = asbuilt.layer_dir()
    natives = asbuilt.native_distributions(site)

    # Every compiled extension is for arm64, the template's architecture, whatever built it.
    names = {spec.split("==")[0].lower().replace("-", "_") for spec in natives}
    assert {"pillow", "pydantic_core", "pi_heif"} <= names
    assert {asbuilt.elf_architecture(f) for files in natives.values() for f in files} == {"arm64"}
    # Each module has its unchecked-hash .pyc beside it; nothing compiles on a cold start.
    sources = list(site.rglob("*.py"))
    missing = [
        p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-312.pyc").is_file()
    ]
    assert sources and missing == []
    pyc = site / "profilepics" / "__pycache__" / "config.cpython-312.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    # Only what the functions import: no local tooling, only the botocore models used.
    for tooling in ("jwt", "yaml", "cryptography", "bin"):
        assert not (site / tooling).exists(), tooling
    models = {p.name for p in (site / "botocore" / "data").iterdir() if p.is_dir()}
    assert models == {"dynamodb", "secretsmanager", "sts"}
    # Lambda's limit for a function and its layers, unzipped, is 250 MB.
    unzipped = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())
    assert unzipped < 250_000_000, f"{unzipped:,} bytes"


def test_every_function_starts_from_its_folder_and_the_layer_alone(
    instances: dict[str, asbuilt.Instance], template: Template
) -> None:
    assert set(instances) == set(template.functions)
    layer = str(asbuilt.runnable_layer(asbuilt.layer_dir()))
    for name, instance in instances.items():
        reply = instance.invoke({"warm": "up"} if name != "SweepFunction" else {})
        code_dir = str(instance.function.code_dir)
        for module, path in reply["modules"].items():
            if not path or path == str(asbuilt.RUNNER):
                continue  # built into the interpreter; the runtime stand-in itself
            assert path.startswith((code_dir, layer)) or STDLIB.search(path), (
                f"{name} imported {module} from {path}"
            )
        assert str(asbuilt.REPO / "layers") not in json.dumps(reply["modules"]), name


# --- the functions, invoked as AWS would invoke them -------------------------------------------


def test_profiles_pictures_and_events_work_as_built(
    instances: dict[str, asbuilt.Instance], template: Template, tls_stack: RunningStack
) -> None:
    user = f"built-{uuid.uuid4().hex[:10]}"
    profiles, upload = instances["ProfilesFunction"], instances["UploadFunction"]
    created = {"user_id": user, "display_name": "Ada Lovelace", "email": f"{user}@example.com"}
    new = asbuilt.http_event(template, "POST", "/users", {}, user, json.dumps(created).encode())
    assert body_of(profiles.invoke(new), 201)["user_id"] == user

    # No ApiBaseUrl: the default picture's URL is the request's own API Gateway domain.
    got = body_of(
        profiles.invoke(asbuilt.http_event(template, "GET", "/users/{user_id}", {"user_id": user})),
        200,
    )
    assert got["profile_picture_url"].startswith(f"https://{DOMAIN}/pictures/default?")
    default = asbuilt.http_event(
        template, "GET", "/pictures/default", {}, query="name=Ada+Lovelace&size=64"
    )
    png = ok(instances["DefaultPictureFunction"].invoke(default), 200)
    assert Image.open(io.BytesIO(base64.b64decode(png["body"]))).size == (64, 64)

    # A picture through the API: stored over TLS with the role's keys, then its variants.
    put = asbuilt.http_event(
        template,
        "PUT",
        "/users/{user_id}/picture",
        {"user_id": user},
        user,
        jpeg(320, 240),
        "image/jpeg",
    )
    picture = body_of(upload.invoke(put), 201)
    key = f"originals/{user}/{picture['id']}.jpg"
    made = instances["ThumbnailsFunction"].invoke(s3_event(key, picture["bytes"]))
    assert made["result"]["outcomes"] == {key: "ready"}

    url = body_of(
        instances["GetUrlFunction"].invoke(
            asbuilt.http_event(
                template, "GET", "/users/{user_id}/picture", {"user_id": user}, query="size=128"
            )
        ),
        200,
    )["url"]
    assert url.startswith(f"{tls_stack.info['s3_endpoint']}/{BUCKET}/thumbnails/{user}/")
    fetched = requests.get(url, verify=tls_stack.info["ca_bundle"], timeout=10)
    assert fetched.status_code == 200
    assert Image.open(io.BytesIO(fetched.content)).size == (128, 128)

    # A direct upload: the policy, a browser's POST to the store, then the ingest event.
    start = asbuilt.http_event(
        template, "POST", "/users/{user_id}/picture/uploads", {"user_id": user}, user
    )
    policy = body_of(upload.invoke(start), 201)
    form = {**policy["fields"], "Content-Type": "image/jpeg"}
    data = jpeg(200, 150, "navy")
    posted = requests.post(
        policy["url"],
        data=form,
        files={"file": ("p.jpg", data)},
        verify=tls_stack.info["ca_bundle"],
        timeout=30,
    )
    assert posted.status_code in (201, 204), posted.text
    ingested = instances["IngestFunction"].invoke(s3_event(policy["key"], len(data)))
    assert ingested["result"]["outcomes"] == {policy["key"]: "ingested"}
    after = body_of(
        profiles.invoke(asbuilt.http_event(template, "GET", "/users/{user_id}", {"user_id": user})),
        200,
    )
    assert (after["picture"]["width"], after["upload"]["state"]) == (200, "done")

    # A bad upload is a precise 4xx, as in development.
    bad = asbuilt.http_event(
        template,
        "PUT",
        "/users/{user_id}/picture",
        {"user_id": user},
        user,
        data[:300],
        "image/jpeg",
    )
    assert body_of(upload.invoke(bad), 422)["code"] == "image_corrupt"

    # A phone's HEIC, decoded by the layer's pi-heif: stored upright as JPEG.
    heic = asbuilt.http_event(
        template,
        "PUT",
        "/users/{user_id}/picture",
        {"user_id": user},
        user,
        gen.heic_oriented(gen.marked(160, 80), 6),
        "image/heic",
    )
    phone = body_of(upload.invoke(heic), 200)
    assert (phone["format"], phone["width"], phone["height"]) == ("jpeg", 160, 80)

    # The scheduled sweep runs, and keeps what profiles refer to.
    swept = instances["SweepFunction"].invoke(
        json.loads((asbuilt.REPO / "tests" / "events" / "scheduled_sweep.json").read_text())
    )
    assert "errorType" not in swept, swept
    assert swept["result"]["referenced"] >= 1


def test_the_functions_emit_metrics_and_no_secret(
    instances: dict[str, asbuilt.Instance], keys: tuple[str, str]
) -> None:
    upload_log = instances["UploadFunction"].log()
    documents = [json.loads(line) for line in upload_log.splitlines() if line.startswith('{"_aws"')]
    outcomes = {d.get("outcome") for d in documents if "Uploads" in d}
    assert {"created", "image_corrupt"} <= outcomes
    for instance in instances.values():
        log = instance.log()
        assert keys[1] not in log, instance.function.name
        assert "Traceback" not in log, instance.function.name
