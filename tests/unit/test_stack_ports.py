"""The ports a test stack is given: all free, and none where outgoing connections take theirs."""

from __future__ import annotations

from infra.stack.objectstore import WeedPorts
from infra.stack.process import EPHEMERAL_START
from infra.stack.stack import free_stack_ports


def test_every_port_of_a_stack_lies_below_the_ephemeral_range() -> None:
    for _ in range(20):
        s3_port, dynamodb_port = free_stack_ports()
        ports = (*WeedPorts.from_s3_port(s3_port).all(), dynamodb_port)
        assert 20_000 <= min(ports) and max(ports) < EPHEMERAL_START
        assert len(set(ports)) == len(ports)
