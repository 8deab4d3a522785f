"""Where UNIX sockets live: `<TRAP_SOCKET_DIR or /tmp>/trap-<name>.sock`, for the `u:`
interfaces and the service endpoints alike."""

from __future__ import annotations

import contextlib
import os

from .errors import TrapError
from .ifc_spec import IfcSpec


def socket_dir() -> str:
    return os.environ.get("TRAP_SOCKET_DIR", "/tmp")


def unix_socket_path(name: str) -> str:
    return os.path.join(socket_dir(), f"trap-{name}.sock")


def remove_socket_file(path: str) -> None:
    """Remove the socket file at `path` if there is one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def check_socket_dir(spec: IfcSpec) -> None:
    directory = socket_dir()
    if not os.path.isdir(directory):
        raise TrapError(f"{spec.label}: socket directory {directory} does not exist "
                        "(set TRAP_SOCKET_DIR)")
    if spec.is_output and not os.access(directory, os.W_OK):
        raise TrapError(f"{spec.label}: socket directory {directory} is not writable "
                        "(set TRAP_SOCKET_DIR)")
