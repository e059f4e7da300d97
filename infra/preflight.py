"""Checks the CLI makes before it starts or uses the stack, so a user's mistake reads as a
sentence that says what to do, never as a traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

from infra.ports import port_accepts, port_free

START_IT = "start it with `make run` (or `.venv/bin/profilepics up`) in another terminal"


class CliError(Exception):
    """A problem the user can fix; the CLI prints it and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_ports_free(host: str, api_port: int, s3_port: int, dynamodb_port: int) -> None:
    """Raise CliError naming the first busy port and the variable that moves it."""
    from infra.stack.objectstore import WeedPorts

    if not port_free(host, api_port):
        raise CliError(
            f"port {api_port} on {host} is in use (the API): is another `profilepics up` "
            "running? Stop it, or set PROFILEPICS_API_PORT to a free port."
        )
    weed = WeedPorts.from_s3_port(s3_port)
    busy = [port for port in weed.all() if not port_free(host, port)]
    if busy:
        raise CliError(
            f"port {busy[0]} on {host} is in use: the object store (SeaweedFS) takes a block of "
            f"ports, PROFILEPICS_S3_PORT ({s3_port}) and the 8 above it ({weed.master}-"
            f"{weed.filer_grpc}), and {weed.admin_grpc}. Set PROFILEPICS_S3_PORT to the start "
            "of a free block."
        )
    if not port_free(host, dynamodb_port):
        raise CliError(
            f"port {dynamodb_port} on {host} is in use (the table, dynalite): set "
            "PROFILEPICS_DYNAMODB_PORT to a free port."
        )


def _host_port(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "127.0.0.1", parts.port or default


def require_answering(endpoints: dict[str, str | None], advice: str = START_IT) -> None:
    """Raise CliError unless something accepts connections at each named endpoint."""
    for name, endpoint in endpoints.items():
        if endpoint is None:
            continue  # the SDK's own default (AWS): nothing local to check
        host, port = _host_port(endpoint)
        if not port_accepts(host, port, timeout=1.0):
            raise CliError(f"nothing answers at {endpoint} ({name}): {advice}.")


def require_local_stack(s3_endpoint: str, dynamodb_endpoint: str | None) -> None:
    """Raise CliError saying how to start it unless the embedded stack answers."""
    try:
        require_answering({"the store": s3_endpoint, "the table": dynamodb_endpoint})
    except CliError as exc:
        raise CliError(f"the local stack is not running: {exc}") from None
