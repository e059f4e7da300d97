"""docker-compose.yml read as Compose reads it: services, their profiles, their environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
COMPOSE_DIR = REPO_ROOT / "infra" / "compose"
INIT_SCRIPT = COMPOSE_DIR / "minio-init.sh"
HAPROXY_CFG = COMPOSE_DIR / "haproxy.cfg"
MINIO_DOCKERFILE = COMPOSE_DIR / "minio.Dockerfile"
APP_DOCKERFILE = REPO_ROOT / "Dockerfile"

Service = dict[str, Any]


def tool(name: str, package: str) -> str:
    """A Debian tool the tests need: missing fails (never skips), saying how to install it."""
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")
    if found is None:
        hint = f"`apt-get install -y {package}` (make test does it)"
        pytest.fail(f"{name} is missing: {hint}", pytrace=False)
    return found


def config(compose: Path, env_file: Path, *profiles: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q`: parses, interpolates and validates; needs no engine."""
    flags = [arg for profile in profiles for arg in ("--profile", profile)]
    return subprocess.run(
        [tool("docker-compose", "docker-compose"), "--env-file", str(env_file),
         "-f", str(compose), *flags, "config", "-q"],
        capture_output=True,
        text=True,
        # Only the env file supplies variables, never the caller's environment.
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        cwd=compose.parent,
        timeout=60,
        check=False,
    )  # fmt: skip


def load(path: Path = COMPOSE) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, Service]:
    found: dict[str, Service] = load()["services"]
    return found


def example_env() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assignments = (line.partition("=") for line in lines if line.strip() and line[0] != "#")
    return {key: value for key, _, value in assignments}


def active(profile: str) -> dict[str, Service]:
    """The services `--profile <profile>` runs: Compose starts every service without
    `profiles`, and those that list the profile."""
    return {
        name: service
        for name, service in services().items()
        if profile in service.get("profiles", [profile])
    }


def environment(service: Service) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so it can be checked"
    return {str(key): str(value) for key, value in env.items()}


def runs_minio_init(service: Service) -> bool:
    return "/init/minio-init.sh" in service.get("entrypoint", [])


def runs_minio_server(service: Service) -> bool:
    command = service.get("command", [])
    return isinstance(command, list) and command[:1] == ["server"]
