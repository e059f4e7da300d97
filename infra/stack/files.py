"""Atomic writes of the stack's config and key files with their final permissions."""

from __future__ import annotations

import os
from pathlib import Path


def write_file(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    """Write data to path atomically; the file has `mode` from its first byte on."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        # O_CREAT's mode is filtered by the umask and ignored for an existing file.
        os.fchmod(handle.fileno(), mode)
        handle.write(payload)
    os.replace(tmp, path)


def private_dir(path: Path) -> Path:
    """Create path (and parents) and make it accessible to the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
