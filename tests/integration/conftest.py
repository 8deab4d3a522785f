"""Real processes for the integration tests: each in its own session (process group), unix
sockets under the test's tmp dir, every wait bounded, everything killed at teardown."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, wait_until

NEMEA = str(Path(sys.executable).with_name("nemea"))
PEER = [sys.executable, "-m", "tests.integration.trap_peer"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A started process; its stdout lines are collected by a thread (JSON lines of trap_peer
    become `events`), its stderr goes to a file."""

    def __init__(self, args: list[str], env: dict, stderr_path: Path):
        self.args = args
        self.stderr_path = stderr_path
        with open(stderr_path, "wb") as stderr:
            self.popen = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=stderr,
                                          start_new_session=True)
        self.pid = self.popen.pid
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        for raw in self.popen.stdout:  # type: ignore[union-attr]
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def event(self, name: str, timeout: float = 10.0, where=lambda e: True) -> dict:
        """The first event `name` satisfying `where`, waiting for it (bounded)."""
        def find():
            for event in self.events:
                if event["event"] == name and where(event):
                    return event
            if self.popen.poll() is not None:
                self._reader.join(2)
                for event in self.events:
                    if event["event"] == name and where(event):
                        return event
                raise AssertionError(f"{self.args[2:]} exited ({self.popen.returncode}) without "
                                     f"event {name!r}; stderr: {self.stderr[-2000:]}")
            return None
        return wait_until(find, timeout)

    def last(self, name: str) -> dict | None:
        found = [event for event in self.events if event["event"] == name]
        return found[-1] if found else None

    def wait(self, timeout: float = 10.0) -> int:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.args} still running after {timeout} s; "
                                 f"stderr: {self.stderr[-2000:]}") from None
        self._reader.join(5)
        return code

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.pid, sig)

    @property
    def stdout(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@pytest.fixture
def socket_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "sock"
    directory.mkdir()
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(directory))
    return directory


@pytest.fixture
def start_process(socket_dir, tmp_path):
    """start_process(argv) starts a process in its own session, with the test's socket
    directory; every one is killed at teardown."""
    started: list[Proc] = []
    env = {**os.environ, "TRAP_SOCKET_DIR": str(socket_dir), "TZ": "UTC",
           "PYTHONUNBUFFERED": "1"}

    def start(argv: list[str]) -> Proc:
        proc = Proc(list(argv), env, tmp_path / f"stderr-{len(started)}.txt")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(5)
        if proc.popen.stdout is not None:
            proc.popen.stdout.close()


@pytest.fixture
def spawn(start_process):
    """spawn(*args) starts a process (args[0] "peer" = trap_peer, "nemea" = the nemea CLI)."""
    def start(*args: str) -> Proc:
        head = {"peer": PEER, "nemea": [NEMEA]}[args[0]]
        return start_process([*head, *args[1:]])
    return start
