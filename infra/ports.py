"""Is a TCP port taken, does something answer on it: the standard library only, so the CLI's
quick commands need not load the stack (minio and all) to ask."""

from __future__ import annotations

import socket


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(host: str, port: int) -> bool:
    """True unless something listens on host:port. Probed as the servers bind (SO_REUSEADDR),
    so the closed connections a just-stopped stack leaves in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
