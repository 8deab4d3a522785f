"""Frames between a socket output (ZeroMQ ROUTER, the server) and its inputs (DEALER clients).

Client -> server: HELLO {pid, credits}, CREDIT n (batches consumed), BYE.
Server -> client: FORMAT [type, spec], DATA payload, EOF, PING (liveness probe), REFUSED.
A server sends a DATA frame to a client only against a credit, so a slow reader makes the writer
wait (timeout=WAIT) instead of anything being dropped in a queue.
"""

from __future__ import annotations

import zmq

from .errors import TrapError
from .ifc_spec import IfcKind, IfcSpec
from .socket_paths import unix_socket_path

HELLO, CREDIT, BYE = b"H", b"C", b"B"
FORMAT, DATA, EOF, PING, REFUSED = b"F", b"D", b"E", b"P", b"R"
CLIENT_WINDOW = 32            # batches a reader lets the writer send ahead
RECONNECT_INTERVAL_MS = 20     # a reader started before its writer connects quickly


def endpoint(spec: IfcSpec) -> str:
    if spec.kind == IfcKind.TCP:
        host = "*" if spec.is_output else spec.host
        return f"tcp://{host}:{spec.port}"
    if spec.kind == IfcKind.UNIX:
        return f"ipc://{unix_socket_path(spec.name)}"
    raise TrapError(f"{spec.label}: not a socket interface")


def context() -> zmq.Context:
    return zmq.Context.instance()


def wait_readable(sockets: list, timeout_ms: int) -> None:
    """Returns when one of the sockets has something to read, or after timeout_ms."""
    poller = zmq.Poller()
    for sock in sockets:
        poller.register(sock, zmq.POLLIN)
    poller.poll(timeout_ms)


def end_context() -> None:
    """Ends the ZeroMQ context once the sockets are closed; those still lingering get 2 s to
    deliver what is in flight."""
    context().destroy(linger=2000)
