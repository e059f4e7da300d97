"""The `profilepics` command as a user meets it: what they can get wrong reads as a sentence
with an exit code, never a traceback; Ctrl-C is quiet; the README's invoke example works."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.stack import free_port
from infra.stack.stack import free_stack_ports
from tests.stackrun import wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PROFILEPICS = [sys.executable, "-m", "infra.cli"]


def quiet_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A data dir and ports where no stack runs; none of the session stack's variables."""
    s3_port, dynamodb_port = free_stack_ports()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILEPICS_")}
    return {
        **env,
        "PROFILEPICS_DATA_DIR": str(data_dir),
        "PROFILEPICS_API_PORT": str(free_port()),
        "PROFILEPICS_S3_PORT": str(s3_port),
        "PROFILEPICS_DYNAMODB_PORT": str(dynamodb_port),
        **extra,
    }


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*PROFILEPICS, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return quiet_env(tmp_path / "data")


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A socket listening on a port of its own, as another program would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_version_prints_the_package_version(env: dict[str, str]) -> None:
    done = run(env, "--version")
    assert done.returncode == 0
    assert re.fullmatch(r"profilepics \d+\.\d+\.\d+\n", done.stdout)


def test_up_on_a_busy_api_port_names_the_port_and_its_variable(
    env: dict[str, str], listening: socket.socket
) -> None:
    port = listening.getsockname()[1]

    done = run({**env, "PROFILEPICS_API_PORT": str(port)}, "up")

    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use (the API)" in done.stderr
    assert "PROFILEPICS_API_PORT" in done.stderr
    assert not (Path(env["PROFILEPICS_DATA_DIR"]) / "logs").exists()  # nothing was started


def test_up_on_a_busy_port_of_the_stores_block_says_the_store_takes_a_block(
    env: dict[str, str],
) -> None:
    s3_port = int(env["PROFILEPICS_S3_PORT"])
    busy = s3_port + 3  # the filer's port, inside the block above PROFILEPICS_S3_PORT
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", busy))
        listening.listen()

        done = run(env, "up")

    assert done.returncode == 1
    assert f"port {busy} on 127.0.0.1 is in use" in done.stderr
    assert f"PROFILEPICS_S3_PORT ({s3_port}) and the 8 above it" in done.stderr
    assert "a free block" in done.stderr


def test_up_on_a_busy_table_port_names_its_variable(
    env: dict[str, str], listening: socket.socket
) -> None:
    port = listening.getsockname()[1]

    done = run({**env, "PROFILEPICS_DYNAMODB_PORT": str(port)}, "up")

    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use (the table" in done.stderr
    assert "PROFILEPICS_DYNAMODB_PORT" in done.stderr


def test_up_with_ports_that_do_not_fit_is_a_usage_error(env: dict[str, str]) -> None:
    done = run({**env, "PROFILEPICS_S3_PORT": "65530"}, "up")

    assert done.returncode == 2
    assert "s3_port 65530" in done.stderr


def test_an_invalid_setting_names_its_variable(env: dict[str, str]) -> None:
    done = run({**env, "PROFILEPICS_MAX_BYTES": "-5"}, "demo")

    assert done.returncode == 2
    assert "invalid setting: PROFILEPICS_MAX_BYTES" in done.stderr
    assert "-5" not in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no event file"), ("{not json", "is not JSON"), ("[1, 2]", "a JSON object")],
    ids=["missing", "not-json", "not-an-object"],
)
def test_invoke_with_a_bad_event_file_says_what_is_wrong(
    env: dict[str, str], tmp_path: Path, content: str | None, message: str
) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content)

    done = run(env, "invoke", "ProfilesFunction", "--event", str(event))

    assert done.returncode == 2
    assert message in done.stderr and str(event) in done.stderr


def test_invoke_of_an_unknown_function_lists_the_known_ones(env: dict[str, str]) -> None:
    done = run(env, "invoke", "NoSuchFunction", "--event", "tests/events/get_user.json")

    assert done.returncode == 2
    assert "no function 'NoSuchFunction'; try one of: ProfilesFunction," in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["demo"],
        ["sweep", "--local", "--dry-run"],
        ["invoke", "ProfilesFunction", "--event", "tests/events/get_user.json"],
    ],
    ids=["demo", "sweep-local", "invoke"],
)
def test_commands_that_need_the_stack_say_to_start_it(env: dict[str, str], args: list[str]) -> None:
    done = run(env, *args)

    assert done.returncode == 1
    assert "the local stack is not running: nothing answers at http://127.0.0.1:" in done.stderr
    assert "start it with `make run`" in done.stderr
    assert done.stdout == ""


def test_sweep_without_local_against_nothing_suggests_local(env: dict[str, str]) -> None:
    nothing = f"http://127.0.0.1:{free_port()}"

    done = run({**env, "PROFILEPICS_S3_ENDPOINT": nothing}, "sweep", "--dry-run")

    assert done.returncode == 1
    assert f"nothing answers at {nothing} (the store)" in done.stderr
    assert "add --local" in done.stderr


def test_bootstrap_against_nothing_says_where_it_looked(env: dict[str, str]) -> None:
    nothing = f"http://127.0.0.1:{free_port()}"

    done = run({**env, "PROFILEPICS_S3_ENDPOINT": nothing}, "bootstrap")

    assert done.returncode == 1
    assert f"nothing answers at {nothing} (the store)" in done.stderr
    assert "PROFILEPICS_S3_ENDPOINT" in done.stderr


def test_sweep_refuses_a_negative_grace(env: dict[str, str]) -> None:
    done = run(env, "sweep", "--local", "--grace-seconds", "-1")
    assert done.returncode == 2 and "must not be negative" in done.stderr


def test_serve_without_its_secrets_says_which_variable(env: dict[str, str]) -> None:
    done = run(env, "serve")
    assert done.returncode == 2 and "set PROFILEPICS_JWT_SECRET" in done.stderr
    done = run({**env, "PROFILEPICS_JWT_SECRET": "x" * 32}, "serve")
    assert done.returncode == 2 and "set PROFILEPICS_EVENTS_TOKEN" in done.stderr


def test_token_without_a_running_stack_says_which_secret_signed_it(env: dict[str, str]) -> None:
    kept = run(env, "token", "ada")
    given = run({**env, "PROFILEPICS_JWT_SECRET": "s" * 40}, "token", "ada")

    secrets = Path(env["PROFILEPICS_DATA_DIR"]) / "secrets.json"
    assert kept.returncode == 0 and kept.stdout.count(".") == 2  # the JWT alone on stdout
    assert f"signed with the secret kept in {secrets}" in kept.stderr
    assert "no stack answers on 127.0.0.1:" in kept.stderr
    assert given.returncode == 0 and "signed with PROFILEPICS_JWT_SECRET" in given.stderr
    assert "s" * 40 not in given.stderr


def test_a_usage_mistake_is_argparses_exit_2(env: dict[str, str]) -> None:
    done = run(env, "invoke", "ProfilesFunction")
    assert done.returncode == 2 and "--event" in done.stderr


def readme_invoke_commands() -> list[list[str]]:
    commands = re.findall(r"^\s*\.venv/bin/profilepics (invoke .+?)(?:\s+#.*)?$", _readme(), re.M)
    return [command.split() for command in commands]


def _readme() -> str:
    return (REPO / "README.md").read_text()


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], Path]]:
    """`profilepics up` as a person runs it: a foreground process group of its own."""
    env = quiet_env(tmp_path / "data")
    log = tmp_path / "up.log"
    ready = tmp_path / "ready.json"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*PROFILEPICS, "up", "--ready-file", str(ready)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{env['PROFILEPICS_API_PORT']}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(f"{api}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(healthy, "a fresh stack", timeout=90)
        yield process, env, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            # The servers lead process groups of their own: a killed `up` cannot stop them.
            pids = json.loads(ready.read_text())["pids"] if ready.exists() else {}
            for pid in pids.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def test_readme_invoke_example_works_as_printed_and_ctrl_c_stops_quietly(
    fresh_stack: tuple[subprocess.Popen[str], dict[str, str], Path],
) -> None:
    process, env, log = fresh_stack
    commands = readme_invoke_commands()
    assert len(commands) >= 2, "the README's invoke example is gone"
    for command in commands:
        done = run(env, *command)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert 200 <= result["statusCode"] < 300, (command, result)
    api = f"http://127.0.0.1:{env['PROFILEPICS_API_PORT']}"
    assert requests.get(f"{api}/users/event-sample-user", timeout=10).status_code == 200
    # An idle keep-alive client, as the store's webhook sender is: it must not hold up the stop.
    idle = http.client.HTTPConnection("127.0.0.1", int(env["PROFILEPICS_API_PORT"]), timeout=10)
    idle.request("GET", "/health")
    assert idle.getresponse().read()

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole group
    try:
        code = process.wait(45)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 45 s after Ctrl-C:\n{log.read_text()[-3000:]}")
    finally:
        idle.close()

    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "stopping ..." in output
