"""The images Compose runs exist and are safe: pinned, MinIO built from source at or after its
security fix, supported Node and Python, dependencies in a layer code changes don't touch, and
a load balancer configuration HAProxy accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime

from infra.local import REPO_ROOT
from tests.unit.composefile import (
    APP_DOCKERFILE,
    HAPROXY_CFG,
    MINIO_DOCKERFILE,
    active,
    runs_minio_init,
    runs_minio_server,
    services,
    tool,
)

# RELEASE.2025-10-15T17-29-55Z fixes CVE-2025-62506 (privilege escalation through service
# accounts); MinIO publishes no community binaries or images from then on.
MINIO_CVE_FIX = datetime(2025, 10, 15, 17, 29, 55, tzinfo=UTC)
RELEASE = re.compile(r"^RELEASE\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$")
# MinIO's go.mod at that release asks for Go 1.24.
MINIO_GO = (1, 24)
# Node.js LTS lines and the day each leaves support (nodejs.org/en/about/previous-releases).
NODE_LTS_END = {22: date(2027, 4, 30), 24: date(2028, 4, 30)}
GONE = ("minio/minio", "minio/mc", "quay.io/minio/", "bitnami/minio")


def stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile)
    found: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            found.append([])
        found[-1].append((instruction.upper(), arguments.strip()))
    return found


def args(stage: list[tuple[str, str]]) -> dict[str, str]:
    return dict(a.split("=", 1) for i, a in stage if i == "ARG" and "=" in a)


def release_time(tag: str) -> datetime:
    matched = RELEASE.match(tag)
    assert matched, f"{tag} is not a MinIO release tag"
    return datetime.strptime(matched[1], "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=UTC)


# --- MinIO --------------------------------------------------------------------------------------


def test_minio_and_mc_are_built_from_source_at_pinned_releases_with_a_pinned_go() -> None:
    build, runtime = stages(MINIO_DOCKERFILE.read_text(encoding="utf-8"))
    pinned = args(build)

    image = build[0][1].split()[0]
    go = re.fullmatch(r"golang:(\d+)\.(\d+)\.(\d+)-\w+", image)
    assert go, f"{image}: a Go image pinned to the patch"
    assert (int(go[1]), int(go[2])) >= MINIO_GO
    environment = " ".join(a for i, a in build if i == "ENV")
    assert "GOTOOLCHAIN=local" in environment and "CGO_ENABLED=0" in environment
    installs = " ".join(a for i, a in build if i == "RUN")
    assert '"github.com/minio/minio@${MINIO_RELEASE}"' in installs
    assert '"github.com/minio/mc@${MC_RELEASE}"' in installs
    assert release_time(pinned["MINIO_RELEASE"]) >= MINIO_CVE_FIX
    release_time(pinned["MC_RELEASE"])
    assert ("USER", "minio") in runtime


def test_every_minio_service_runs_the_image_built_here_tagged_with_its_release() -> None:
    (build, _) = stages(MINIO_DOCKERFILE.read_text(encoding="utf-8"))
    release = args(build)["MINIO_RELEASE"]
    minio = [s for s in services().values() if runs_minio_server(s) or runs_minio_init(s)]

    assert len(minio) == 7
    for service in minio:
        assert service["build"] == {"context": "infra/compose", "dockerfile": "minio.Dockerfile"}
        assert service["image"] == f"profilepics-minio:{release}"
        assert service["healthcheck" if runs_minio_server(service) else "entrypoint"]


def test_images_pulled_are_pinned_and_none_is_a_withdrawn_or_unfixed_minio() -> None:
    for name, service in services().items():
        image = str(service["image"])
        assert not image.startswith(GONE), f"{name}: {image}"
        if "build" in service:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.match(r"\d", tag), f"{name}: {image}"


# --- the app image ------------------------------------------------------------------------------


def test_the_app_image_uses_a_supported_node_lts_and_pythons_lambda_minor() -> None:
    web, app = stages(APP_DOCKERFILE.read_text(encoding="utf-8"))
    template = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    runtimes = set(re.findall(r"Runtime: (python3\.\d+)$", template, re.MULTILINE))

    node = re.fullmatch(r"node:(\d+)-\w+-slim AS web", web[0][1])
    assert node, web[0][1]
    end = NODE_LTS_END.get(int(node[1]))
    assert end, f"Node {node[1]} is not an LTS line"
    assert date.today() < end, f"Node {node[1]} left support on {end}"
    python = re.fullmatch(r"python:(3\.\d+)-slim-\w+", app[0][1])
    assert python, app[0][1]
    assert runtimes == {f"python{python[1]}"}


def test_the_app_image_installs_dependencies_before_any_code_is_copied() -> None:
    _, app = stages(APP_DOCKERFILE.read_text(encoding="utf-8"))
    steps = [(i, a) for i, a in app if i in ("COPY", "RUN")]
    installs = next(n for n, (i, a) in enumerate(steps) if i == "RUN" and "pip install -r" in a)

    assert [a for i, a in steps[:installs] if i == "COPY"] == ["pyproject.toml ./"]
    assert any(i == "RUN" and "pip install --no-deps ." in a for i, a in steps[installs:])


def test_the_dependency_layer_installs_exactly_the_runtime_and_invoker_dependencies() -> None:
    """The functions' runtime dependencies and the invoker's (`serve`): no dev or local extras."""
    _, app = stages(APP_DOCKERFILE.read_text(encoding="utf-8"))
    step = next(a for i, a in app if i == "RUN" and "tomllib" in a)
    script = re.search(r'python -c "([^"]+)"', step)
    assert script, step

    printed = subprocess.run(
        [sys.executable, "-c", script[1]],  # sh passes "\n" in double quotes on as is
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=True,
    ).stdout.splitlines()  # fmt: skip

    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        project = tomllib.load(pyproject)["project"]
    assert printed == project["dependencies"] + project["optional-dependencies"]["invoker"]


# --- the load balancer --------------------------------------------------------------------------


def test_haproxy_accepts_the_balancer_configuration() -> None:
    checked = subprocess.run(
        [tool("haproxy", "haproxy"), "-c", "-f", str(HAPROXY_CFG)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_balancer_fronts_every_minio_node_and_the_app_replicas() -> None:
    cfg = HAPROXY_CFG.read_text(encoding="utf-8")
    running = active("distributed")
    nodes = {name for name, s in running.items() if runs_minio_server(s)}
    lb = running["lb"]

    backends = dict(re.findall(r"^backend (\w+)\n((?:    .*\n)+)", cfg, re.MULTILINE))
    assert set(re.findall(r"server (minio\d) \1:9000", backends["minio"])) == nodes
    assert set(re.findall(r"server (minio\d) \1:9001", backends["console"])) == nodes
    slots = re.search(r"server-template app (\d+) app-replicas:3000", backends["app"])
    assert slots and int(slots[1]) >= running["app-replicas"]["deploy"]["replicas"]
    for backend in backends.values():
        assert "option httpchk GET /" in backend
    assert re.search(r"default-server .*\bcheck\b", cfg)
    binds = set(re.findall(r"^    bind :(\d+)$", cfg, re.MULTILINE))
    assert {port.rsplit(":", 1)[1] for port in lb["ports"]} | {"8404"} == binds
    monitor = re.search(r"bind :8404\n    monitor-uri (\S+)", cfg)
    assert monitor and f"http://127.0.0.1:8404{monitor[1]}" in lb["healthcheck"]["test"]
