"""`python -m bench.edge_server EDGE PORT`: the invoker of a running local stack behind one HTTP
edge ("http.server", the one before issue 11, or "h11", the project's), for bench/http_load.py.

It reads the stack's PROFILEPICS_* environment as `profilepics up` does and builds the invoker
the same way, so the two edges differ in nothing else.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from http.server import ThreadingHTTPServer

from profilepics.config import Settings

from bench import legacy_edge
from bench.edge_loop import LoopEdge
from infra import local
from infra.invoker.delivery import Ack
from infra.invoker.edge import EdgeServer
from infra.invoker.pages import Pages
from infra.invoker.template import load
from infra.local import LocalSettings
from infra.runner import build_invoker

EDGES = ("http.server", "h11", "h11-switch", "loop")
# "h11-switch": the project's edge with the interpreter's switch interval 10x its default.
# "loop": bench/edge_loop.py's prototype, one thread for every connection.


def main(argv: list[str]) -> int:
    edge, port = argv[0], int(argv[1])
    if edge not in EDGES:
        raise SystemExit(f"edge is one of {EDGES}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = LocalSettings()
    service = local.stack_settings(Settings(), cfg)
    secret = local.jwt_secret(cfg, local.data_dir(cfg))
    token = cfg.events_token.get_secret_value() if cfg.events_token else None
    # The load sends no bucket event that names an object, and this invoker never starts
    # delivering: the stack's own invoker keeps the spool they share.
    invoker = build_invoker(
        load(local.template_path()), service, cfg, secret, Pages(service), token, Ack.PERSIST
    )
    server: EdgeServer | LoopEdge | ThreadingHTTPServer
    if edge == "loop":
        server = LoopEdge(invoker, cfg.host, port)
    elif edge.startswith("h11"):
        if edge == "h11-switch":
            sys.setswitchinterval(10 * sys.getswitchinterval())
        server = EdgeServer(invoker.handle, cfg.host, port)
    else:
        server = legacy_edge.serve(invoker, cfg.host, port)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    finally:
        server.server_close()
        invoker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
