"""Frames between a socket output (ZeroMQ ROUTER, the server) and its inputs (DEALER clients).

Client -> server: HELLO {pid, credits}, CREDIT n (batches consumed), BYE.
Server -> client: FORMAT [type, spec], DATA payload, EOF, PING (liveness probe), REFUSED.
A server sends a DATA frame to a client only against a credit, so a slow reader makes the writer
wait (timeout=WAIT) instead of anything being dropped in a queue.
"""

from __future__ import annotations

import os
from pathlib import Path

import zmq

from .errors import TrapError
from .ifc_spec import IfcKind, IfcSpec

HELLO, CREDIT, BYE = b"H", b"C", b"B"
FORMAT, DATA, EOF, PING, REFUSED = b"F", b"D", b"E", b"P", b"R"
CLIENT_WINDOW = 32            # batches a reader lets the writer send ahead
RECONNECT_INTERVAL_MS = 20     # a reader started before its writer connects quickly


def socket_dir() -> Path:
    return Path(os.environ.get("TRAP_SOCKET_DIR", "/tmp"))


def unix_socket_path(name: str) -> Path:
    return socket_dir() / f"trap-{name}.sock"


def endpoint(spec: IfcSpec) -> str:
    if spec.kind == IfcKind.TCP:
        host = "*" if spec.is_output else spec.host
        return f"tcp://{host}:{spec.port}"
    if spec.kind == IfcKind.UNIX:
        return f"ipc://{unix_socket_path(spec.name)}"
    raise TrapError(f"{spec.label}: not a socket interface")


def check_socket_dir(spec: IfcSpec) -> None:
    directory = socket_dir()
    if not directory.is_dir():
        raise TrapError(f"{spec.label}: socket directory {directory} does not exist "
                        "(set TRAP_SOCKET_DIR)")
    if spec.is_output and not os.access(directory, os.W_OK):
        raise TrapError(f"{spec.label}: socket directory {directory} is not writable "
                        "(set TRAP_SOCKET_DIR)")


def context() -> zmq.Context:
    return zmq.Context.instance()
