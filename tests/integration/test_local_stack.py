"""The embedded local stack against real SeaweedFS and dynalite on 127.0.0.1; nothing mocked."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import urllib3
from minio import Minio
from minio.error import S3Error

from infra.stack import (
    LocalStack,
    ManagedProcess,
    StackConfig,
    StackError,
    WeedPorts,
    free_port,
    free_stack_ports,
)
from infra.stack.process import port_accepts

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.integration

ACCESS_KEY = "AKPROFILEPICSLOCAL"
SECRET_KEY = "local-stack-test-secret-not-used-anywhere-else"
BUCKET = "pictures"
EVENT_PATH = "/_events/seaweedfs"


class EventSink:
    """A tiny webhook receiver that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink._changed:
                    sink.events.append({"path": self.path, "body": json.loads(body)})
                    sink._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{EVENT_PATH}"

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((e for e in self.events if match(e["body"])), None), timeout
            )
        assert found is not None, f"no matching event in {timeout} s; got {self.events}"
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def stack_config(data_dir: Path, **overrides: Any) -> StackConfig:
    s3_port, dynamodb_port = free_stack_ports()
    return StackConfig(
        data_dir=data_dir,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        bucket=BUCKET,
        s3_port=s3_port,
        dynamodb_port=dynamodb_port,
        **overrides,
    )


def s3_client(
    stack: LocalStack, *, access_key: str | None = ACCESS_KEY, secret_key: str | None = SECRET_KEY
) -> Minio:
    host = stack.s3_endpoint.split("://", 1)[1]
    http = urllib3.PoolManager(retries=False, ca_certs=str(stack.ca_bundle or "") or None)
    return Minio(
        host,
        access_key=access_key,
        secret_key=secret_key,
        secure=stack.ca_bundle is not None,
        region="us-east-1",
        http_client=http,
    )


def put(client: Minio, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
    client.put_object(BUCKET, key, io.BytesIO(data), len(data), content_type=content_type)


def create_table(stack: LocalStack, name: str) -> None:
    client = stack.table.client()
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # dynalite turns the table ACTIVE a tick after CreateTable answers (DESIGN: under load a
    # put right after it failed with ResourceNotFoundException), as the bootstrap waits too.
    client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by pid, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                address, port = fields[1].split(":")
                found.add((_proc_address(address), int(port, 16)))
    return found


def _proc_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp* prints each 32-bit word in host (little-endian) order.
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(swapped))


@pytest.fixture(scope="module")
def sink() -> Iterator[EventSink]:
    receiver = EventSink()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sink: EventSink) -> Iterator[LocalStack]:
    config = stack_config(tmp_path_factory.mktemp("stack"), webhook_url=sink.url)
    with LocalStack(config) as running:
        running.admin_client().make_bucket(BUCKET)
        yield running


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = stack_config(tmp_path_factory.mktemp("tls-stack"), tls=True)
    with pytest.MonkeyPatch.context() as env:
        # weed mini turns these into an admin identity when it sees them; the child must not.
        env.setenv("AWS_ACCESS_KEY_ID", "AKINTRUDER")
        env.setenv("AWS_SECRET_ACCESS_KEY", "intruder-secret-from-the-parent-env")
        running = LocalStack(config)
        running.start()
    try:
        yield running
    finally:
        running.stop()


def test_right_keys_put_and_get_an_object(stack: LocalStack) -> None:
    client = s3_client(stack)
    put(client, "originals/u1/a.jpg", b"jpeg bytes")

    assert client.get_object(BUCKET, "originals/u1/a.jpg").read() == b"jpeg bytes"


def test_wrong_secret_is_refused_and_writes_nothing(stack: LocalStack) -> None:
    intruder = s3_client(stack, secret_key="not-the-secret")

    with pytest.raises(S3Error) as refused:
        put(intruder, "originals/u1/forged.jpg", b"forged")

    assert refused.value.code in {"SignatureDoesNotMatch", "AccessDenied"}
    with pytest.raises(S3Error) as missing:
        s3_client(stack).stat_object(BUCKET, "originals/u1/forged.jpg")
    assert missing.value.code == "NoSuchKey"


def test_anonymous_get_of_an_object_is_refused(stack: LocalStack) -> None:
    put(s3_client(stack), "originals/u1/private.jpg", b"secret pixels")

    with pytest.raises(S3Error) as refused:
        s3_client(stack, access_key=None, secret_key=None).get_object(
            BUCKET, "originals/u1/private.jpg"
        )
    plain = urllib3.request("GET", f"{stack.s3_endpoint}/{BUCKET}/originals/u1/private.jpg")

    assert refused.value.code == "AccessDenied"
    assert plain.status == 403
    assert b"secret pixels" not in plain.data


def test_a_new_table_becomes_active_without_a_creation_delay_and_takes_writes(
    stack: LocalStack,
) -> None:
    # dynalite keeps a new table CREATING for --createTableMs (500 ms unless told); the stack
    # tells it 0, so the table turns ACTIVE on dynalite's next tick, not in the CreateTable
    # response itself: a put sent at once can still miss it, so the test waits for ACTIVE.
    process = stack.processes["dynalite"]
    assert process.pid is not None
    options = json.loads(Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[2])
    assert options["createTableMs"] == 0
    client = stack.table.client()
    create_table(stack, "profiles_now")
    while client.describe_table(TableName="profiles_now")["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.01)  # pytest's timeout is the hang guard

    client.put_item(TableName="profiles_now", Item={"pk": {"S": "u1"}, "name": {"S": "Ada"}})

    item = client.get_item(TableName="profiles_now", Key={"pk": {"S": "u1"}})["Item"]
    assert item["name"] == {"S": "Ada"}


def test_children_listen_on_loopback_only_and_only_on_their_ports(stack: LocalStack) -> None:
    weed_pid = stack.processes["seaweedfs"].pid
    dynalite_pid = stack.processes["dynalite"].pid
    assert weed_pid is not None and dynalite_pid is not None

    weed = listening_sockets(weed_pid)
    dynalite = listening_sockets(dynalite_pid)

    assert {address for address, _ in weed | dynalite} == {"127.0.0.1"}
    assert {port for _, port in weed} == set(WeedPorts.from_s3_port(stack.config.s3_port).all())
    assert {port for _, port in dynalite} == {stack.config.dynamodb_port}
    # WebDAV 7333, Iceberg 8181, Lance 9101, Admin UI 23646 by default: none of them open.
    assert not {7333, 8181, 9101, 23646} & {port for _, port in weed}
    admin = urllib3.request("GET", f"http://127.0.0.1:{stack.object_store.ports.admin}/")
    assert admin.status == 404


def test_config_logs_and_sockets_stay_in_the_private_data_dir(stack: LocalStack) -> None:
    data = stack.config.data_dir
    conf = data / "conf" / "seaweedfs"

    assert (data / "logs" / "weed.INFO").exists()
    assert (data / "logs" / "seaweedfs.log").exists()
    assert (data / "run" / "filer.sock").is_socket()
    assert data.stat().st_mode & 0o077 == 0
    for name in ("s3-identities.json", "security.toml", "notification.toml"):
        assert (conf / name).stat().st_mode & 0o777 == 0o600


def test_object_created_event_reaches_the_webhook(stack: LocalStack, sink: EventSink) -> None:
    key = f"originals/u2/{uuid.uuid4().hex}.png"
    path = f"/buckets/{BUCKET}/{key}"

    put(s3_client(stack), key, b"png bytes", content_type="image/png")

    event = sink.wait_for(lambda b: b["key"] == path and b["event_type"] == "create", 10)
    entry = event["body"]["message"]["new_entry"]
    assert event["path"] == EVENT_PATH
    assert event["body"]["message"]["new_parent_path"] == path.rsplit("/", 1)[0]
    assert entry["name"] == key.rsplit("/", 1)[1]
    assert entry["attributes"]["file_size"] == len(b"png bytes")
    assert entry["attributes"]["mime"] == "image/png"
    assert "is_directory" not in entry


def test_stop_closes_every_port_and_ends_the_children(stack: LocalStack) -> None:
    pids = [p.pid for p in stack.processes.values()]
    ports = [*WeedPorts.from_s3_port(stack.config.s3_port).all(), stack.config.dynamodb_port]

    stack.stop()
    try:
        assert stack.processes == {}
        assert [port for port in ports if port_accepts("127.0.0.1", port)] == []
        for pid in pids:
            assert pid is not None
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        stack.start()


def test_objects_and_items_survive_a_restart(stack: LocalStack) -> None:
    put(s3_client(stack), "originals/u3/kept.jpg", b"kept")
    create_table(stack, "profiles_kept")
    stack.table.client().put_item(TableName="profiles_kept", Item={"pk": {"S": "u3"}})

    stack.stop()
    stack.start()

    assert s3_client(stack).get_object(BUCKET, "originals/u3/kept.jpg").read() == b"kept"
    item = stack.table.client().get_item(TableName="profiles_kept", Key={"pk": {"S": "u3"}})
    assert item["Item"] == {"pk": {"S": "u3"}}


def test_tls_stack_serves_https_that_its_ca_vouches_for(tls_stack: LocalStack) -> None:
    assert tls_stack.s3_endpoint.startswith("https://127.0.0.1:")
    assert tls_stack.ca_bundle is not None
    client = s3_client(tls_stack)

    tls_stack.admin_client().make_bucket(BUCKET)
    put(client, "originals/u1/tls.jpg", b"over tls")

    assert client.get_object(BUCKET, "originals/u1/tls.jpg").read() == b"over tls"


def test_tls_stack_is_refused_without_its_ca(tls_stack: LocalStack) -> None:
    host = tls_stack.s3_endpoint.split("://", 1)[1]
    untrusting = Minio(
        host,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=True,
        region="us-east-1",
        http_client=urllib3.PoolManager(retries=False),
    )

    with pytest.raises(urllib3.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.list_buckets()


def test_aws_keys_in_the_parent_env_grant_nothing(tls_stack: LocalStack) -> None:
    intruder = s3_client(
        tls_stack, access_key="AKINTRUDER", secret_key="intruder-secret-from-the-parent-env"
    )

    with pytest.raises(S3Error) as refused:
        intruder.list_buckets()

    assert refused.value.code in {"InvalidAccessKeyId", "AccessDenied"}


def test_describe_says_what_runs_where(stack: LocalStack) -> None:
    text = "\n".join(stack.describe())

    assert stack.s3_endpoint in text
    assert stack.dynamodb_endpoint in text
    for secret in (SECRET_KEY, stack.config.admin_secret_key):
        assert secret not in text
        assert secret not in repr(stack.config)


def child(tmp_path: Path, code: str, stop_timeout: float = 5.0) -> ManagedProcess:
    return ManagedProcess(
        "child",
        [sys.executable, "-c", code],
        log_path=tmp_path / "child.log",
        env={},
        cwd=tmp_path,
        stop_timeout=stop_timeout,
    )


def test_a_child_that_dies_before_listening_is_reported_with_its_log(tmp_path: Path) -> None:
    process = child(tmp_path, "print('bad flag -s3.nope', flush=True); raise SystemExit(3)")
    process.start()

    with pytest.raises(StackError, match=r"(?s)exited with code 3.*bad flag -s3\.nope"):
        process.wait_for_port("127.0.0.1", free_port(), timeout=10)
    process.stop()


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    process = child(
        tmp_path,
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring', flush=True)\n"
        "time.sleep(60)\n",
        stop_timeout=0.5,
    )
    process.start()
    while "ignoring" not in process.log_tail():
        process.raise_if_exited()
    pid = process.pid
    assert pid is not None

    process.stop()
    process.stop()

    assert not process.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
