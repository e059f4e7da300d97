"""The local table (dynalite) outlives a client that goes away in the middle of a request.

Found by killing an app instance under load (test_two_instances.py): dynalite 4.0.0 rethrows
the request's 'aborted' error, and the whole table server exited. A client that gives up after
its timeout (2 s in the app) does the same to it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from infra.stack import TableConfig, TableServer, free_port

pytestmark = pytest.mark.integration

HALF_A_REQUEST = (
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-amz-json-1.0\r\n"
    b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)


def test_clients_gone_mid_request_leave_the_table_serving(tmp_path: Path) -> None:
    server = TableServer(TableConfig(data_dir=tmp_path, port=free_port()))
    server.start()
    try:
        server.wait_ready(30)

        for _ in range(3):  # each sends a tenth of its body and hangs up
            with socket.create_connection((server.config.host, server.config.port)) as client:
                client.sendall(HALF_A_REQUEST)
                client.shutdown(socket.SHUT_WR)  # the body ends there, as the server reads it
                client.settimeout(10)
                while client.recv(4096):  # until the server, having seen it, closes its side
                    pass

        process = server.process
        assert process is not None
        assert process.running, process.log_tail()
        assert server.client().list_tables()["TableNames"] == []
    finally:
        server.stop()
