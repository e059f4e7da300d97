"""The read path's baselines: the least a server can do to answer GET /users/{id}/picture.

`python -m bench.readbase MODE PORT` reads the stack's settings as JSON on stdin and serves
until killed, printing "ready" once it listens:

- `same`: what the picture-URL function does, and nothing else: one strongly consistent
  GetItem on the profile table (boto3, as the table adapter calls it) and one presigned GET URL
  for the picture's key (minio, region set, so no request), answered as JSON;
- `presign`: the presigned URL alone, for a fixed key: the floor of any server that signs.

Each is Python's ThreadingHTTPServer (HTTP/1.1 keep-alive, Nagle off, a deep backlog): no
framework, no validation, no logging, no workers.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from minio import Minio

KEY = "originals/bench/0123456789abcdef0123456789abcdef.jpg"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, *_: Any) -> None:
        return  # a load generator hanging up at the end of its run


def _handler(answer: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    return Handler


def _signer(config: dict[str, Any]) -> Any:
    endpoint = str(config["s3_endpoint"])
    client = Minio(
        endpoint.split("://", 1)[1],
        access_key=config["s3_access_key"],
        secret_key=config["s3_secret_key"],
        secure=endpoint.startswith("https"),
        region="us-east-1",
    )
    expiry = timedelta(seconds=3600)
    return lambda key: client.presigned_get_object(config["bucket"], key, expires=expiry)


def answers(mode: str, config: dict[str, Any]) -> Any:
    sign = _signer(config)
    if mode == "presign":
        return lambda _path: (200, json.dumps({"url": sign(KEY)}).encode())
    table = boto3.client(
        "dynamodb",
        endpoint_url=config["dynamodb_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def same(path: str) -> tuple[int, bytes]:
        user_id = path.split("/")[2]
        item = table.get_item(
            TableName=config["table"], Key={"user_id": {"S": user_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return 404, b'{"code": "user_not_found"}'
        key = item.get("picture", {}).get("M", {}).get("key", {}).get("S", KEY)
        return 200, json.dumps({"url": sign(key)}).encode()

    return same


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    server = _Server(("127.0.0.1", port), _handler(answers(mode, json.load(sys.stdin))))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
