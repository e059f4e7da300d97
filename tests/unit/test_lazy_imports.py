"""Read-only functions start without Pillow or the SDKs, and HTTP functions without Powertools'
event handler: they load on first use, if ever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, sys\n"
    "import app\n"
    "print(json.dumps([m for m in ('PIL', 'boto3', 'minio') if m in sys.modules]))\n"
)


def _last_line(function: str, probe: str) -> str:
    """The last line probe prints, run as the function runs: its folder and the layer alone."""
    path = os.pathsep.join([str(REPO / "functions" / function), str(REPO / "layers" / "core")])
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO / "functions" / function,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("function", ["get_url", "profiles"])
def test_importing_a_read_only_function_loads_neither_pillow_nor_the_sdks(function: str) -> None:
    assert json.loads(_last_line(function, PROBE)) == []


@pytest.mark.parametrize("function", sorted(p.parent.name for p in REPO.glob("functions/*/app.py")))
def test_no_function_loads_pydantic_settings(function: str) -> None:
    """Reading a dozen variables is config.py's own work: pydantic-settings cost ~85 ms of CPU
    on every cold start (bench section 4)."""
    probe = "import sys\nimport app\nprint('pydantic_settings' in sys.modules)\n"
    assert _last_line(function, probe) == "False"


HTTP_FUNCTIONS = ["default_picture", "get_url", "profiles", "upload"]
RESOLVER_PROBE = (
    "import json, sys\n"
    "import app\n"
    "before = 'aws_lambda_powertools.event_handler' in sys.modules\n"
    "paths = sorted(app.app.get_openapi_schema().paths or {})\n"
    "after = 'aws_lambda_powertools.event_handler' in sys.modules\n"
    "print(json.dumps([before, after, paths]))\n"
)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_an_http_function_builds_its_resolver_when_first_needed(function: str) -> None:
    """Powertools' event handler (~60-80 ms of CPU, bench section 4) loads with the first
    request or the OpenAPI document, and the routes declared at import are all in it."""
    loaded_at_import, loaded_after, paths = json.loads(_last_line(function, RESOLVER_PROBE))
    assert not loaded_at_import
    assert loaded_after
    declared = (REPO / "functions" / function / "app.py").read_text(encoding="utf-8")
    assert paths and all(f'"{p.replace("{", "<").replace("}", ">")}"' in declared for p in paths)


FUNCTIONS = sorted(p.parent.name for p in REPO.glob("functions/*/app.py"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_validates_settings_or_builds_a_model_at_import(function: str) -> None:
    """Building a pydantic validator loads its plugin loader and importlib.metadata with it
    (~20 ms of a cold start, bench section 4): settings and models are built on first use."""
    probe = (
        "import json, sys\nimport app\n"
        "print(json.dumps([m for m in ('pydantic.plugin._loader', 'importlib.metadata', "
        "'pydantic.networks') if m in sys.modules]))\n"
    )
    assert json.loads(_last_line(function, probe)) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_imports_without_pydantic_or_the_use_cases(function: str) -> None:
    """pydantic alone is ~3x a bare interpreter's start (bench section 4): every function loads
    it, the settings, the models and the use cases with its first event or request (deps.build,
    lazy.py), and Powertools' event classes with the first bucket event (s3events.py)."""
    probe = (
        "import json, sys\nimport app\n"
        # The models may be in sys.modules as lazy.py's stand-in: without pydantic, unloaded.
        "print(json.dumps([m for m in ('pydantic', 'profilepics.config', "
        "'profilepics.processing', 'aws_lambda_powertools.utilities.data_classes') "
        "if m in sys.modules]))\n"
    )
    assert json.loads(_last_line(function, probe)) == []


def test_invalid_settings_fail_the_first_request_not_as_the_clients_fault() -> None:
    """Settings are validated when the resolver is built, before a route runs: a bad one is
    raised out of the invocation (as it was out of the import), never answered as a 4xx."""
    probe = (
        "import app\n"
        "event = {'version': '2.0', 'routeKey': 'GET /users', 'rawPath': '/users', "
        "'rawQueryString': '', 'headers': {'host': '127.0.0.1'}, "
        "'requestContext': {'http': {'method': 'GET', 'path': '/users'}, 'stage': '$default'}, "
        "'isBase64Encoded': False}\n"
        "try:\n    app.app.resolve(event, None)\nexcept ValueError as error:\n"
        "    print(type(error).__name__, 'url_window_seconds' in str(error))\n"
        "else:\n    print('answered')\n"
    )
    path = os.pathsep.join([str(REPO / "functions" / "profiles"), str(REPO / "layers" / "core")])
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": path,
        "AWS_REGION": "us-east-1",
        "PROFILEPICS_URL_WINDOW_SECONDS": "7200",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO / "functions" / "profiles",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "ValidationError True"
