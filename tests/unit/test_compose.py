"""docker-compose.yml: valid without a Docker engine, both profiles well formed, local-only,
free of secrets, and MinIO's root keys kept from the app.

Validated twice: by Debian's `docker-compose config` (apt package docker-compose, which
`make test` installs; a missing binary fails, never skips), and by the compose-spec JSON
schema in data/compose-spec.json, copied unchanged from that Debian package
(/usr/lib/python3/dist-packages/compose/config/compose_spec.json, docker-compose 1.29.2,
Apache-2.0), the schema docker-compose validates with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.unit.composefile import (
    COMPOSE,
    ENV_EXAMPLE,
    INIT_SCRIPT,
    Service,
    active,
    config,
    environment,
    example_env,
    load,
    runs_minio_init,
    runs_minio_server,
    services,
)

SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
DEBIAN_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")

PROFILES = {
    "single": {"dynamodb", "init-table", "minio", "init", "app"},
    "distributed": {
        "dynamodb", "init-table", "minio1", "minio2", "minio3", "minio4", "lb",
        "init-distributed", "app-replicas",
    },
}  # fmt: skip
APPS = {"app", "app-replicas", "init-table"}
# DynamoDB Local wants a signature but checks nothing: these two may be literal placeholders.
PLACEHOLDERS = {
    "PROFILEPICS_DYNAMODB_ACCESS_KEY": "dynamodb-local",
    "PROFILEPICS_DYNAMODB_SECRET_KEY": "dynamodb-local",
}
SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|ROOT_USER")
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]*\}$")
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)")


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)  # as docker-compose itself validates
    return [error.message for error in validator.iter_errors(document)]


def _one_shot(service: Service) -> bool:
    return service.get("restart") == "no"


# --- validity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(PROFILES))
def test_docker_compose_accepts_each_profile_with_the_example_env(profile: str) -> None:
    result = config(COMPOSE, ENV_EXAMPLE, profile)

    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")

    result = config(COMPOSE, empty)

    assert result.returncode != 0
    assert ".env.example" in result.stdout + result.stderr


def test_the_file_matches_the_compose_spec_schema() -> None:
    assert _schema_errors(load()) == []


def test_the_vendored_schema_is_debians_copy() -> None:
    if not DEBIAN_SCHEMA.exists():
        pytest.fail(
            f"{DEBIAN_SCHEMA} is missing: `apt-get install -y docker-compose` (make test does it)",
            pytrace=False,
        )
    assert json.loads(SCHEMA.read_text()) == json.loads(DEBIAN_SCHEMA.read_text())


BROKEN = {
    "unknown top-level key": "services:\n  app:\n    image: busybox:1.36\nservice: {}\n",
    "ports of the wrong type": "services:\n  app:\n    image: busybox:1.36\n    ports: 3000\n",
    "unknown service key": "services:\n  app:\n    image: busybox:1.36\n    helthcheck: {}\n",
}


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_a_broken_compose_file_fails(breakage: str, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(BROKEN[breakage])
    empty = tmp_path / "empty.env"
    empty.write_text("")

    result = config(broken, empty)

    assert result.returncode != 0, f"docker-compose config accepted {breakage}"
    assert _schema_errors(load(broken)), f"the schema accepted {breakage}"


def test_env_example_sets_exactly_the_variables_the_file_uses_and_the_default_profile() -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text(encoding="utf-8")))
    example = example_env()

    # COMPOSE_PROFILES is Compose's own: the profile `docker-compose up` runs without --profile.
    assert set(example) == used | {"COMPOSE_PROFILES"}
    assert example["COMPOSE_PROFILES"] == "single"


# --- profiles and topology ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_runs_its_own_stack_and_depends_only_on_its_services(profile: str) -> None:
    running = active(profile)

    assert set(running) == PROFILES[profile]
    for name, service in running.items():
        assert set(service.get("depends_on", {})) <= set(running), name


def test_every_service_is_shared_or_in_exactly_one_profile() -> None:
    for name, service in services().items():
        assert service.get("profiles", []) in ([], ["single"], ["distributed"]), name


@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_has_one_job_that_makes_the_bucket_and_the_table_job_leaves_it(
    profile: str,
) -> None:
    running = active(profile)

    assert len([s for s in running.values() if runs_minio_init(s)]) == 1
    assert running["init-table"]["command"] == ["profilepics", "bootstrap", "--table-only"]


def test_distributed_minio_is_one_erasure_set_of_four_nodes_with_two_drives_each() -> None:
    nodes = {name: s for name, s in active("distributed").items() if runs_minio_server(s)}

    assert set(nodes) == {"minio1", "minio2", "minio3", "minio4"}
    volumes: list[str] = []
    for name, node in nodes.items():
        # MinIO's documented expansion form; each node must find itself in it.
        assert node["command"] == [
            "server", "http://minio{1...4}/data{1...2}", "--console-address", ":9001",
        ]  # fmt: skip
        assert node["hostname"] == name
        mounts = dict(volume.rsplit(":", 1)[::-1] for volume in node["volumes"])
        assert set(mounts) == {"/data1", "/data2", "/events"}, name
        volumes += [mounts["/data1"], mounts["/data2"]]
        assert node["restart"] == "unless-stopped"
    assert len(set(volumes)) == 8, "every drive a volume of its own"


def test_distributed_apps_are_replicas_behind_the_balancer_and_publish_nothing() -> None:
    running = active("distributed")
    replicas = running["app-replicas"]

    assert replicas["deploy"]["replicas"] >= 2
    assert "ports" not in replicas
    assert environment(replicas)["PROFILEPICS_S3_ENDPOINT"] == "http://lb:9000"
    for node in ("minio1", "minio2", "minio3", "minio4"):
        endpoint = environment(running[node])["MINIO_NOTIFY_WEBHOOK_ENDPOINT_PROFILEPICS"]
        assert endpoint == "http://lb:3000/_events/s3", node


def test_minio_posts_bucket_events_to_the_apps_event_endpoint_in_both_profiles() -> None:
    for profile, app in (("single", "app"), ("distributed", "lb")):
        running = active(profile)
        for service in (s for s in running.values() if runs_minio_server(s)):
            minio = environment(service)
            targets = {
                key.removeprefix("MINIO_NOTIFY_WEBHOOK_ENABLE_")
                for key, value in minio.items()
                if key.startswith("MINIO_NOTIFY_WEBHOOK_ENABLE_") and value == "on"
            }
            assert targets == {"PROFILEPICS"}
            endpoint = urlsplit(minio["MINIO_NOTIFY_WEBHOOK_ENDPOINT_PROFILEPICS"])
            assert (endpoint.scheme, endpoint.hostname, endpoint.path, endpoint.port) == (
                "http", app, "/_events/s3", 3000,
            )  # fmt: skip
    for name in ("app", "app-replicas"):
        command = services()[name]["command"]
        assert command[:2] == ["profilepics", "serve"]
        assert command[command.index("--port") + 1] == "3000"
    arn = "arn:minio:sqs::PROFILEPICS:webhook"
    for job in (s for s in services().values() if runs_minio_init(s)):
        assert environment(job)["WEBHOOK_ARN"] == arn
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    for prefix in ("originals/", "uploads/"):
        assert f'"$WEBHOOK_ARN" --event put --prefix {prefix}\n' in script
    assert "thumbnails/" not in re.findall(r"--prefix (\S+)", script)


def test_minio_allows_cross_origin_uploads_from_the_page_only() -> None:
    for service in (s for s in services().values() if runs_minio_server(s)):
        origin = environment(service)["MINIO_API_CORS_ALLOW_ORIGIN"]
        assert origin == environment(services()["app"])["PROFILEPICS_API_BASE_URL"]


# --- health -------------------------------------------------------------------------------------


def test_long_running_services_have_healthchecks_and_one_shots_run_once() -> None:
    for name, service in services().items():
        if _one_shot(service):
            assert "healthcheck" not in service, name
            assert "ports" not in service, name
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
            assert service["restart"] == "unless-stopped", name
    for name, service in services().items():
        for dependency, condition in service.get("depends_on", {}).items():
            done = _one_shot(services()[dependency])
            wanted = "service_completed_successfully" if done else "service_healthy"
            assert condition == {"condition": wanted}, f"{name} -> {dependency}"


def test_apps_start_only_after_their_bucket_and_table_exist() -> None:
    for profile, app in (("single", "app"), ("distributed", "app-replicas")):
        running = active(profile)
        needs = set(running[app]["depends_on"])
        makers = {name for name, s in running.items() if _one_shot(s)}
        assert makers <= needs, f"{app} must wait for {makers - needs}"


# --- exposure and secrets -----------------------------------------------------------------------


def test_ports_are_published_on_loopback_only() -> None:
    published = {
        name: [str(port) for port in service.get("ports", [])]
        for name, service in services().items()
        if service.get("ports")
    }

    assert published == {
        "dynamodb": ["127.0.0.1:8000:8000"],
        "minio": ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"],
        "app": ["127.0.0.1:3000:3000"],
        "lb": ["127.0.0.1:3000:3000", "127.0.0.1:9000:9000", "127.0.0.1:9001:9001"],
    }


def test_no_literal_secrets() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if not SECRETISH.search(key):
                continue
            if key in PLACEHOLDERS:
                assert value == PLACEHOLDERS[key], f"{name}.{key}"
            else:
                assert REQUIRED_VARIABLE.match(value), f"{name}.{key} must be ${{VAR:?...}}"
    assert "minioadmin" not in COMPOSE.read_text(encoding="utf-8")


def test_the_app_never_sees_minios_root_keys() -> None:
    for name in APPS:
        env = environment(services()[name])
        assert not [key for key in env if key.startswith("MINIO_ROOT")], name
        assert "MINIO_ROOT" not in " ".join(env.values()), name
        assert env["PROFILEPICS_S3_ACCESS_KEY"].startswith("${PROFILEPICS_S3_ACCESS_KEY:?"), name
        assert env["PROFILEPICS_S3_SECRET_KEY"].startswith("${PROFILEPICS_S3_SECRET_KEY:?"), name
    example = example_env()
    assert example["PROFILEPICS_S3_ACCESS_KEY"] != example["MINIO_ROOT_USER"]
    assert example["PROFILEPICS_S3_SECRET_KEY"] != example["MINIO_ROOT_PASSWORD"]


def test_only_minio_and_its_init_jobs_hold_the_root_keys() -> None:
    holders = {
        name
        for name, service in services().items()
        if {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} & set(environment(service))
    }
    minio = {n for n, s in services().items() if runs_minio_server(s) or runs_minio_init(s)}

    assert holders == minio
    for name in minio - {n for n, s in services().items() if runs_minio_server(s)}:
        env = environment(services()[name])
        assert env["APP_ACCESS_KEY"] == environment(services()["app"])["PROFILEPICS_S3_ACCESS_KEY"]
        assert env["APP_SECRET_KEY"] == environment(services()["app"])["PROFILEPICS_S3_SECRET_KEY"]


def test_the_app_points_at_its_store_and_table() -> None:
    stores = {"app": "http://minio:9000", "init-table": "http://minio:9000"}
    stores["app-replicas"] = "http://lb:9000"
    for name, store in stores.items():
        env = environment(services()[name])
        assert env["PROFILEPICS_S3_ENDPOINT"] == store, name
        assert env["PROFILEPICS_PUBLIC_S3_ENDPOINT"] == "http://127.0.0.1:9000", name
        assert env["PROFILEPICS_DYNAMODB_ENDPOINT"] == "http://dynamodb:8000", name
        assert env["PROFILEPICS_API_BASE_URL"] == "http://127.0.0.1:3000", name
        assert services()[name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}


def test_services_drop_capabilities_and_privileges() -> None:
    for name, service in services().items():
        assert "no-new-privileges:true" in service["security_opt"], name
        if name != "dynamodb":  # its image needs root to open a fresh volume (see the file)
            assert service["cap_drop"] == ["ALL"], name
