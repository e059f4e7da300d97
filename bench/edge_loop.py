"""A prototype edge for issue 15's hot read path: one thread, one selector, no thread per
connection, driving the same h11 parsing, the same worker processes (infra/invoker/workers.py's
Worker, over its pipe) and the same access log as the project's edge, so that the two can be
measured side by side (bench/edge_cpu.py).

It tests one hypothesis: that most of the invoker's CPU a hot request beyond its steps' own
(h11, the event, the pickle, the pipe) is thread wake-ups and GIL hand-overs among the edge's
connection threads. It is a prototype, not an edge: it answers GET-sized requests, takes a
function's answer whenever its pipe is readable, and leaves out what the real edge adds on top
(body ceilings while streaming, 408s and idle timeouts, lingering, the framing checks, the
memory watch and the timeouts of workers). Requests with no function behind them (/health,
pages) are the invoker's own answers (Invoker.prepare), as with the threaded edge.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from typing import Any

import h11

from infra.invoker.access_log import AccessLog
from infra.invoker.edge import BACKLOG, MAX_HEAD, READ_SIZE, Connection, edge_problem
from infra.invoker.gateway import answer_for
from infra.invoker.replies import Reply, problem
from infra.invoker.server import Invoker, to_reply
from infra.invoker.workers import Worker


class _Client:
    def __init__(self, sock: socket.socket, ip: str) -> None:
        self.sock = sock
        self.ip = ip
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.request: h11.Request | None = None
        self.body: list[bytes] = []
        self.busy = False
        self.began = 0.0


class LoopEdge:
    """The listening socket, every client and every worker pipe on one selector."""

    def __init__(self, invoker: Invoker, host: str, port: int) -> None:
        self._invoker = invoker
        self._access = AccessLog()
        self._selector = selectors.DefaultSelector()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(BACKLOG)
        self._socket.setblocking(False)
        self._selector.register(self._socket, selectors.EVENT_READ, self._accept)
        self._idle: dict[str, list[Worker]] = {}
        self._started: dict[str, int] = {}
        self._queued: dict[str, deque[tuple[_Client, dict[str, Any]]]] = {}
        self._stop = False

    def serve_forever(self) -> None:
        while not self._stop:
            for key, _ in self._selector.select(0.5):
                key.data(key.fileobj)

    def shutdown(self) -> None:
        self._stop = True

    def server_close(self) -> None:
        self._socket.close()
        self._access.close()

    def _accept(self, _: Any) -> None:
        try:
            sock, peer = self._socket.accept()
        except OSError:
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)  # sendall of an answer may wait; recv runs only when readable
        client = _Client(sock, str(peer[0]))
        self._selector.register(sock, selectors.EVENT_READ, lambda _: self._readable(client))

    def _readable(self, client: _Client) -> None:
        try:
            data = client.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data and (client.busy or client.h11.their_state is h11.IDLE):
            self._close(client)  # gone: an answer still owed to it fails to send
            return
        if not client.began:
            client.began = time.monotonic()
        client.h11.receive_data(data)
        self._pump(client)

    def _pump(self, client: _Client) -> None:
        while not client.busy:
            try:
                event = client.h11.next_event()
            except h11.RemoteProtocolError:
                self._answer(client, edge_problem(400), close=True)
                return
            if isinstance(event, h11.Request):
                client.request, client.body = event, []
            elif isinstance(event, h11.Data):
                client.body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                client.busy = True
                self._dispatch(client)
            elif event is h11.NEED_DATA or event is h11.PAUSED:
                return
            else:
                self._close(client)
                return

    def _dispatch(self, client: _Client) -> None:
        assert client.request is not None
        method = client.request.method.decode("ascii")
        target = client.request.target.decode("ascii")
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in client.request.headers]
        body = b"".join(client.body)
        header_map = {name.lower(): value for name, value in headers}
        routed = self._invoker.prepare(method, target, headers, header_map, body, client.ip)
        if isinstance(routed, Reply):
            self._answer(client, routed)
            return
        function, event = routed
        idle = self._idle.setdefault(function, [])
        if idle:
            self._start(idle.pop(), client, function, event)
        elif self._started.get(function, 0) < self._invoker._instances:
            self._started[function] = self._started.get(function, 0) + 1
            pool = self._invoker.pool(function)
            worker = Worker(pool.function, pool._environment)
            self._start(worker, client, function, event)
        else:
            self._queued.setdefault(function, deque()).append((client, event))

    def _start(self, worker: Worker, client: _Client, function: str, event: dict[str, Any]) -> None:
        if not worker.ready:  # a new instance: its "ready" comes through the loop too
            self._selector.register(
                worker._conn,
                selectors.EVENT_READ,
                lambda _: self._ready(worker, client, function, event),
            )
            return
        error = worker.start(event, time.monotonic() + 30)
        if error is not None:
            self._started[function] -= 1
            self._answer(client, self._failed(error))
            return
        conn = worker._conn
        self._selector.register(
            conn, selectors.EVENT_READ, lambda _: self._finished(worker, client, function, event)
        )

    def _ready(self, worker: Worker, client: _Client, function: str, event: dict[str, Any]) -> None:
        self._selector.unregister(worker._conn)
        try:
            worker.ready = worker._conn.recv() == ("ready", None)
        except (EOFError, OSError):
            pass
        if not worker.ready:
            worker.kill()
            self._started[function] -= 1
            self._answer(client, self._failed("Runtime.ImportModuleError"))
            return
        self._start(worker, client, function, event)

    def _finished(
        self, worker: Worker, client: _Client, function: str, event: dict[str, Any]
    ) -> None:
        conn = worker._conn
        self._selector.unregister(conn)
        try:
            kind, value, metrics = conn.recv()
        except (EOFError, OSError):
            worker.kill()
            self._started[function] -= 1
            reply = self._failed("Runtime.ExitError")
        else:
            self._invoker.metrics.observe_all(metrics)
            reply = to_reply(value) if kind == "result" else self._failed(str(value))
            self._idle[function].append(worker)
        reply.function = function
        reply.headers.append(("Apigw-Requestid", event["requestContext"]["requestId"]))
        self._answer(client, reply)
        queued = self._queued.get(function)
        if queued and self._idle[function]:
            waiting, waiting_event = queued.popleft()
            self._start(self._idle[function].pop(), waiting, function, waiting_event)

    @staticmethod
    def _failed(error: str) -> Reply:
        answer = answer_for(error)
        return problem(answer.status, answer.code, answer.title)

    def _answer(self, client: _Client, reply: Reply, close: bool = False) -> None:
        request = client.request
        method = request.method.decode("ascii") if request else "-"
        target = request.target.decode("ascii") if request else "-"
        conn = client.h11
        try:
            response = h11.Response(
                status_code=reply.status, headers=Connection._headers(reply, close)
            )
            out = conn.send(response) or b""
            if reply.body and method != "HEAD":
                out += conn.send(h11.Data(data=reply.body)) or b""
            out += conn.send(h11.EndOfMessage()) or b""
            client.sock.sendall(out)
        except (OSError, h11.LocalProtocolError):
            close = True
        millis = (time.monotonic() - client.began) * 1000
        self._access(method, target.split("?", 1)[0], reply.status, millis, reply.function)
        if close or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            self._close(client)
            return
        conn.start_next_cycle()
        client.busy, client.request, client.began = False, None, 0.0
        self._pump(client)  # a pipelined request may already be in h11's buffer

    def _close(self, client: _Client) -> None:
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()
