"""Default places of the supervisor's files, shared by the daemon and the control client."""

from __future__ import annotations

import os
from pathlib import Path


def run_dir() -> Path:
    """$XDG_RUNTIME_DIR/nemea-supervisor, else /tmp/nemea-supervisor-<uid>."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "nemea-supervisor"
    return Path(f"/tmp/nemea-supervisor-{os.getuid()}")


def default_socket() -> Path:
    return run_dir() / "supervisor.sock"


def default_pid_file() -> Path:
    return run_dir() / "supervisor.pid"


def default_log_dir() -> Path:
    return run_dir() / "logs"


def resolve(value: str, base: Path) -> Path:
    """A path from the configuration: `~` expanded, relative to the file's directory."""
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))
