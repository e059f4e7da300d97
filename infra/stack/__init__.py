"""The embedded local stack: SeaweedFS and dynalite on 127.0.0.1, no Docker; the CLI drives it."""

from infra.stack.objectstore import StoreConfig, StoreServer, WeedPorts, find_weed
from infra.stack.process import ManagedProcess, StackError, free_port, free_port_block, reaped
from infra.stack.stack import LocalStack, StackConfig, free_stack_ports
from infra.stack.table import TableConfig, TableServer, ensure_installed
from infra.stack.tls import TlsFiles, ensure_tls
from infra.stack.weed_config import WebhookConfig

__all__ = [
    "LocalStack",
    "ManagedProcess",
    "StoreServer",
    "StoreConfig",
    "StackConfig",
    "StackError",
    "TableConfig",
    "TableServer",
    "TlsFiles",
    "WebhookConfig",
    "WeedPorts",
    "ensure_installed",
    "ensure_tls",
    "find_weed",
    "free_port",
    "free_port_block",
    "free_stack_ports",
    "reaped",
]
