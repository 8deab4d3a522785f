"""Shared fixtures: where the shared captures live, bounded waiting, child processes."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll `predicate` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass(frozen=True)
class ChildProcess:
    pid: int
    state: str      # as /proc says: R running, S sleeping, Z exited but not yet waited for
    command: str    # its arguments, space-separated


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/PID/stat after the command name: state, parent pid, ..."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def process_state(pid: int) -> str:
    """The state /proc gives `pid` (Z: exited, not yet waited for), or "gone"."""
    try:
        return _stat_fields(pid)[0]
    except OSError:
        return "gone"


def child_processes(parent: int | None = None) -> list[ChildProcess]:
    """The children of `parent` (this process by default), read from /proc."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        try:
            fields = _stat_fields(entry)
            if int(fields[1]) != parent:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        found.append(ChildProcess(int(entry), fields[0], command))
    return found
