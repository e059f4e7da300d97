"""docker-compose.yml: valid without a Docker engine, local-only, and free of secrets.

Validated twice: by Debian's `docker-compose config` (apt package docker-compose, which
.ci/run installs; a missing binary fails, never skips), and by the compose-spec JSON
schema in data/compose-spec.json, copied unchanged from that Debian package
(/usr/lib/python3/dist-packages/compose/config/compose_spec.json, docker-compose 1.29.2,
Apache-2.0), the schema docker-compose validates with.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
INIT_SCRIPT = REPO / "infra" / "compose" / "minio-init.sh"
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
DEBIAN_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")

SERVICES = {"minio", "dynamodb", "init", "init-table", "app"}
ONE_SHOT = {"init", "init-table"}
# DynamoDB Local wants a signature but checks nothing: these two may be literal placeholders.
PLACEHOLDERS = {
    "PROFILEPICS_DYNAMODB_ACCESS_KEY": "dynamodb-local",
    "PROFILEPICS_DYNAMODB_SECRET_KEY": "dynamodb-local",
}
SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|ROOT_USER")
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]*\}$")
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)")


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(
            "docker-compose is missing: `apt-get install -y docker-compose` (.ci/run does it)",
            pytrace=False,
        )
    return found


def _config(compose: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q`: parses, interpolates and validates; needs no engine."""
    return subprocess.run(
        [_docker_compose(), "--env-file", str(env_file), "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
        # Only the env file supplies variables, never the caller's environment.
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        cwd=compose.parent,
        timeout=60,
        check=False,
    )


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so it can be checked"
    return {str(key): str(value) for key, value in env.items()}


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)  # as docker-compose itself validates
    return [error.message for error in validator.iter_errors(document)]


# --- validity -----------------------------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    result = _config(COMPOSE, ENV_EXAMPLE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")

    result = _config(COMPOSE, empty)

    assert result.returncode != 0
    assert ".env.example" in result.stdout + result.stderr


def test_the_file_matches_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    assert _schema_errors(compose) == []


def test_the_vendored_schema_is_debians_copy() -> None:
    if not DEBIAN_SCHEMA.exists():
        pytest.fail(
            f"{DEBIAN_SCHEMA} is missing: `apt-get install -y docker-compose` (.ci/run does it)",
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

    result = _config(broken, empty)

    assert result.returncode != 0, f"docker-compose config accepted {breakage}"
    assert _schema_errors(_load(broken)), f"the schema accepted {breakage}"


def test_env_example_sets_exactly_the_variables_the_file_uses() -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text(encoding="utf-8")))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert used == example


# --- shape and safety ---------------------------------------------------------------------------


def test_long_running_services_have_healthchecks_and_one_shots_run_once(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == SERVICES
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            assert "healthcheck" not in service, name
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition == {"condition": wanted}, f"{name} -> {dependency}"


def test_ports_are_published_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    published = {
        name: [str(port) for port in service.get("ports", [])] for name, service in services.items()
    }

    assert published == {
        "minio": ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"],
        "dynamodb": ["127.0.0.1:8000:8000"],
        "init": [],
        "init-table": [],
        "app": ["127.0.0.1:3000:3000"],
    }


def test_minio_posts_bucket_events_to_the_apps_event_endpoint(
    services: dict[str, dict[str, Any]],
) -> None:
    minio = _environment(services["minio"])
    targets = {
        key.removeprefix("MINIO_NOTIFY_WEBHOOK_ENABLE_")
        for key, value in minio.items()
        if key.startswith("MINIO_NOTIFY_WEBHOOK_ENABLE_") and value == "on"
    }
    assert targets == {"PROFILEPICS"}
    endpoint = urlsplit(minio["MINIO_NOTIFY_WEBHOOK_ENDPOINT_PROFILEPICS"])
    assert (endpoint.scheme, endpoint.hostname, endpoint.path) == ("http", "app", "/_events/s3")
    app_command = services["app"]["command"]
    assert app_command[app_command.index("--port") + 1] == str(endpoint.port)
    assert app_command[:2] == ["profilepics", "serve"]
    assert services["minio"]["command"].split() == [
        "server",
        "/data",
        "--console-address",
        ":9001",
    ]

    arn = "arn:minio:sqs::PROFILEPICS:webhook"
    assert _environment(services["init"])["WEBHOOK_ARN"] == arn
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    for prefix in ("originals/", "uploads/"):
        assert f'"$WEBHOOK_ARN" --event put --prefix {prefix}\n' in script
    assert "thumbnails/" not in re.findall(r"--prefix (\S+)", script)


def test_init_script_is_valid_shell() -> None:
    result = subprocess.run(
        ["sh", "-n", str(INIT_SCRIPT)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_the_app_points_at_minio_and_dynamodb(services: dict[str, dict[str, Any]]) -> None:
    for name in ("app", "init-table"):
        env = _environment(services[name])
        assert env["PROFILEPICS_S3_ENDPOINT"] == "http://minio:9000", name
        assert env["PROFILEPICS_PUBLIC_S3_ENDPOINT"] == "http://127.0.0.1:9000", name
        assert env["PROFILEPICS_DYNAMODB_ENDPOINT"] == "http://dynamodb:8000", name
        assert env["PROFILEPICS_API_BASE_URL"] == "http://127.0.0.1:3000", name
        # The app signs with the same credentials MinIO was started with.
        for app_key, minio_key in (
            ("PROFILEPICS_S3_ACCESS_KEY", "MINIO_ROOT_USER"),
            ("PROFILEPICS_S3_SECRET_KEY", "MINIO_ROOT_PASSWORD"),
        ):
            assert env[app_key] == _environment(services["minio"])[minio_key], name
    assert services["app"]["build"] == {"context": ".", "dockerfile": "Dockerfile"}


def test_no_literal_secrets(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in _environment(service).items():
            if not SECRETISH.search(key):
                continue
            if key in PLACEHOLDERS:
                assert value == PLACEHOLDERS[key], f"{name}.{key}"
            else:
                assert REQUIRED_VARIABLE.match(value), f"{name}.{key} must be ${{VAR:?...}}"
    assert "minioadmin" not in COMPOSE.read_text(encoding="utf-8")


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
