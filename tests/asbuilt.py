"""Runs what `sam build` made, as Lambda would: the artifact that deploys is the artifact tested.

- `sam_build()` runs `sam build --cached` (the Python 3.12 it needs found by
  infra.runtime_python, never assumed) into .aws-sam/build.
- `runnable_layer()` is the built layer, or, on a machine of another architecture than the
  template's (x86_64 here, arm64 on Lambda), a copy in which only the compiled extensions are
  swapped for the same releases' wheels for this machine: every Python file and .pyc is the
  artifact's own.
- `Instance` is one function instance: `python3.12 -I -S -B` with only the function's folder
  and the layer importable (no site-packages, nothing of this checkout), the template's
  production environment, one invocation at a time (tests/asbuilt_runner.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra import runtime_python
from infra.invoker import events
from infra.invoker.template import Function, Template, load, read

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO / ".aws-sam" / "build"
HOST_LAYERS = REPO / ".aws-sam" / "host-layer"
TOOLS_BIN = REPO / ".tools" / "bin"
RUNNER = Path(__file__).with_name("asbuilt_runner.py")
DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
ELF_MACHINES = {62: "x86_64", 183: "arm64"}  # e_machine -> Lambda's architecture names
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def python312() -> Path:
    return runtime_python.find()


def sam_build() -> float:
    """`sam build --cached` into .aws-sam/build; the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="sam-app-dir-") as app_dir:
        # SAM's own settings: no telemetry, and a version check it believes it just made.
        metadata = {"telemetryEnabled": False, "lastVersionCheck": time.time()}
        (Path(app_dir) / "metadata.json").write_text(json.dumps(metadata))
        env = {
            **os.environ,
            "PATH": os.pathsep.join([str(python312().parent), str(TOOLS_BIN), "/usr/bin", "/bin"]),
            "SAM_CLI_TELEMETRY": "0",
            "__SAM_CLI_APP_DIR": app_dir,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        began = time.monotonic()
        done = subprocess.run(
            [str(TOOLS_BIN / "sam"), "build", "--cached"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        raise AssertionError(f"sam build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.monotonic() - began


def built_template() -> Template:
    return load(BUILD_DIR / "template.yaml")


def layer_dir() -> Path:
    return BUILD_DIR / "CoreLayer" / "python"


def elf_architecture(path: Path) -> str | None:
    """The architecture an ELF file is built for, or None if it isn't ELF."""
    with path.open("rb") as handle:
        head = handle.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(head[18:20], "little"), "other")


def host_architecture() -> str:
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
        platform.machine().lower()
    ]


def native_distributions(site: Path) -> dict[str, list[Path]]:
    """name==version -> the ELF files its RECORD installed into site."""
    found: dict[str, list[Path]] = {}
    for dist in sorted(site.glob("*.dist-info")):
        files = [
            site / line.split(",", 1)[0] for line in (dist / "RECORD").read_text().splitlines()
        ]
        elves = [f for f in files if f.is_file() and elf_architecture(f) is not None]
        if elves:
            meta = dict(
                line.split(": ", 1)
                for line in (dist / "METADATA").read_text().splitlines()
                if line.startswith(("Name: ", "Version: "))
            )
            found[f"{meta['Name']}=={meta['Version']}"] = elves
    return found


@functools.cache
def runnable_layer(site: Path) -> Path:
    """site itself if this machine runs its extensions, else a fresh copy (once per process)
    with the same releases' extensions for this machine, from wheels cached by their names."""
    host = host_architecture()
    natives = native_distributions(site)
    if all(elf_architecture(f) == host for files in natives.values() for f in files):
        return site
    wheels = _host_wheels(sorted(natives), host)
    copy = HOST_LAYERS / "python"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(site, copy, symlinks=True)
    for files in natives.values():
        for file in files:
            (copy / file.relative_to(site)).unlink()
    for file in sorted(wheels.rglob("*")):
        if file.is_file() and elf_architecture(file) is not None:
            target = copy / file.relative_to(wheels)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
    return copy


def _host_wheels(specs: list[str], arch: str) -> Path:
    """The distributions specs (name==version) installed for arch, kept between runs."""
    key = hashlib.sha256("\n".join([arch, *specs]).encode()).hexdigest()[:16]
    wheels = HOST_LAYERS / f"wheels-{key}"
    if not wheels.is_dir():
        for stale in HOST_LAYERS.glob("wheels-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = wheels.with_name(wheels.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        _pip_install_host(staging, arch, specs)
        staging.rename(wheels)
    return wheels


def _pip_install_host(target: Path, arch: str, requirements: list[str]) -> None:
    # The layer build's own pip call, for this machine: the same releases, the same tags.
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "import build_layer; "
        "build_layer.pip_install(Path(sys.argv[2]), sys.argv[3], '--no-deps', *sys.argv[4:])"
    )
    subprocess.run(
        [str(python312()), "-c", code, str(REPO / "layers" / "core"), str(target), arch]
        + requirements,
        check=True,
        timeout=600,
    )


# --- the template's environment, resolved as CloudFormation would ---------------------------


class Resolver:
    def __init__(self, document: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
        defaults = {k: str(v.get("Default", "")) for k, v in document["Parameters"].items()}
        self.parameters = {**defaults, **parameters}
        self.conditions = document.get("Conditions", {})
        # Physical names of the resources functions refer to (the table is named by a parameter).
        self.resources = {"ProfilesTable": self.parameters["TableName"]}

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::If":
            name, yes, no = argument
            return self.value(yes if self.condition(name) else no)
        if function == "Fn::Not":
            return not self.value(argument[0])
        if function == "Fn::Equals":
            return self.value(argument[0]) == self.value(argument[1])
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            names = {
                **self.parameters,
                **PSEUDO,
                **{k: self.value(v) for k, v in variables.items()},
            }
            for name, value in names.items():
                text = text.replace("${" + name + "}", str(value))
            return text
        raise AssertionError(f"no resolver for {function}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None
        for table in (self.parameters, PSEUDO, self.resources):
            if name in table:
                return table[name]
        raise AssertionError(f"unresolved Ref {name}")

    def environment(self, function: Function) -> dict[str, str]:
        resolved = {k: self.value(v) for k, v in function.environment.items()}
        return {k: str(v) for k, v in resolved.items() if v is not None}


def resolver(parameters: Mapping[str, str]) -> Resolver:
    return Resolver(read(BUILD_DIR / "template.yaml"), parameters)


def lambda_environment(
    function: Function, access_key: str, secret_key: str, dynamodb_endpoint: str, ca_bundle: str
) -> dict[str, str]:
    """What Lambda sets for every function, and this machine's stand-ins for AWS."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        # The execution role's keys, as Lambda hands them over (S3: no secret name is set).
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Not AWS here: the table is dynalite, and the store's certificate is the stack's CA's.
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "SSL_CERT_FILE": ca_bundle,
    }


def http_event(
    template: Template,
    method: str,
    path: str,
    params: Mapping[str, str],
    user: str | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
    query: str = "",
) -> dict[str, Any]:
    """An API Gateway HTTP API v2.0 event for the route, received on an execute-api domain."""
    route = next(r for r in template.routes if r.route_key == f"{method} {path}")
    concrete = path
    for name, value in params.items():
        concrete = concrete.replace("{" + name + "}", value)
    headers = [("host", DOMAIN), ("content-type", content_type), ("user-agent", "as-built")]
    claims = None
    if user is not None:
        claims = {"sub": user, "iss": "https://issuer.example", "aud": "profilepics"}
    return events.http_event(
        route, method, concrete, query, headers, body, params, "1.2.3.4", claims
    )


# --- one function instance ---------------------------------------------------------------------


@dataclass
class Instance:
    function: Function
    process: subprocess.Popen[bytes]
    replies: IO[str]
    output: Path
    import_ms: float = 0.0

    @classmethod
    def start(cls, function: Function, layer: Path, env: Mapping[str, str], logs: Path) -> Instance:
        read_fd, write_fd = os.pipe()
        output = logs / f"{function.name}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [
                    str(python312()),
                    "-I",  # no PYTHON* variables, no user site, no script folder on the path
                    "-S",  # no site-packages: the layer must carry every dependency
                    "-B",  # /var/task and /opt are read-only on Lambda: nothing is written
                    str(RUNNER),
                    str(function.code_dir),
                    str(layer),
                    function.handler,
                    str(write_fd),
                ],
                env=dict(env),
                cwd=function.code_dir,
                stdin=subprocess.PIPE,
                stdout=sink,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )
        os.close(write_fd)
        return cls(function, process, os.fdopen(read_fd, "r"), output)

    def wait_ready(self) -> float:
        """The milliseconds its cold start took to import the handler's module."""
        ready = self.replies.readline()
        if not ready:
            self.process.wait(10)
            raise AssertionError(f"{self.function.name} did not start:\n{self.log()[-3000:]}")
        self.import_ms = float(json.loads(ready)["import_ms"])
        return self.import_ms

    def invoke(self, event: Mapping[str, Any]) -> dict[str, Any]:
        request = {
            "event": event,
            "name": self.function.name,
            "memory": self.function.memory,
            "timeout": self.function.timeout,
        }
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        line = self.replies.readline()
        assert line, f"{self.function.name} died:\n{self.output.read_text()[-3000:]}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.replies.close()
