"""Where UNIX sockets live: `<TRAP_SOCKET_DIR or /tmp>/trap-<name>.sock`, for the `u:`
interfaces and the service endpoints alike."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TrapError
from .ifc_spec import IfcSpec


def socket_dir() -> Path:
    return Path(os.environ.get("TRAP_SOCKET_DIR", "/tmp"))


def unix_socket_path(name: str) -> Path:
    return socket_dir() / f"trap-{name}.sock"


def check_socket_dir(spec: IfcSpec) -> None:
    directory = socket_dir()
    if not directory.is_dir():
        raise TrapError(f"{spec.label}: socket directory {directory} does not exist "
                        "(set TRAP_SOCKET_DIR)")
    if spec.is_output and not os.access(directory, os.W_OK):
        raise TrapError(f"{spec.label}: socket directory {directory} is not writable "
                        "(set TRAP_SOCKET_DIR)")
