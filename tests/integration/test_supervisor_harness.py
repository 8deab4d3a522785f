"""Harness (no tests here) for test_supervisor*.py: a real supervisor with its configuration,
control socket, logs and pid file under the test's tmp dir, the modules' sockets in
TRAP_SOCKET_DIR (the `socket_dir` fixture), a fast service cycle, every wait bounded, every
process killed at teardown."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from supervisor.client import SupervisorClient
from supervisor.errors import SupervisorError
from tests.conftest import PROJECT_ROOT, wait_until
from tests.integration.conftest import Proc

SUPERVISOR = [sys.executable, "-m", "supervisor.cli", "supervisor"]
SUPCLI = [sys.executable, "-m", "supervisor.cli", "supcli"]
CYCLE = 0.05


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Supervisor:
    def __init__(self, tmp_path: Path, socket_dir: Path):
        self.dir = tmp_path
        self.socket_dir = socket_dir
        self.config = tmp_path / "sup.toml"
        self.socket = tmp_path / "sup.sock"
        self.pid_file = tmp_path / "sup.pid"
        self.log_dir = tmp_path / "logs"
        self.proc: Proc | None = None
        self.seen: set[int] = set()
        self.env = {**os.environ, "TRAP_SOCKET_DIR": str(socket_dir), "TZ": "UTC",
                    "PYTHONUNBUFFERED": "1"}

    # --- configuration --------------------------------------------------------------------
    def write(self, profiles: str, **settings) -> Path:
        values = {"log-dir": "logs", "socket": "sup.sock", "pid-file": "sup.pid",
                  "trap-socket-dir": str(self.socket_dir), "cycle": CYCLE,
                  "stop-timeout": 0.5, **settings}
        head = "[supervisor]\n" + "".join(
            f"{key} = {value!r}\n".replace("'", '"') for key, value in values.items())
        self.config.write_text(head + textwrap.dedent(profiles))
        return self.config

    # --- processes ------------------------------------------------------------------------
    def start(self, *options: str, wait: bool = True) -> Proc:
        self.proc = Proc([*SUPERVISOR, "-c", str(self.config), *options], self.env,
                         self.dir / "supervisor-stderr.txt")
        if wait:
            wait_until(self.reachable, 15)
        return self.proc

    def reachable(self) -> bool:
        if self.proc is not None and self.proc.popen.poll() is not None:
            raise AssertionError(f"supervisor exited ({self.proc.popen.returncode}): "
                                 f"{self.proc.stderr[-2000:]}")
        try:
            self.call("ping")
            return True
        except SupervisorError:
            return False

    def call(self, command: str, **args):
        with SupervisorClient(self.socket, timeout=15) as client:
            return client.call(command, **args)

    def modules(self) -> dict[str, dict]:
        snapshot = self.call("status")
        rows = {m["name"]: m for p in snapshot["profiles"] for m in p["modules"]}
        self.seen.update(m["pid"] for m in rows.values() if m["pid"])
        return rows

    def wait_for(self, predicate, timeout: float = 10.0) -> dict[str, dict]:
        """Wait until predicate(modules) holds; returns the modules then."""
        return wait_until(lambda: (lambda rows: rows if predicate(rows) else None)(
            self.modules()), timeout)

    def running(self, *names: str, timeout: float = 10.0) -> dict[str, dict]:
        return self.wait_for(lambda rows: all(rows[n]["status"] == "running" for n in names),
                             timeout)

    def supcli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([*SUPCLI, "-s", str(self.socket), *args], cwd=PROJECT_ROOT,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def kill_all(self) -> None:
        daemon_pid = 0
        with contextlib.suppress(OSError, ValueError, IndexError):
            daemon_pid = int(self.pid_file.read_text().split()[0])
        for pid in [daemon_pid, self.proc.pid if self.proc else 0]:
            if pid and alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.popen.wait(5)
            if self.proc.popen.stdout is not None:
                self.proc.popen.stdout.close()
        for pid in self.seen:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(name="supervisor")
def supervisor_fixture(tmp_path, socket_dir):
    """A Supervisor (not started yet): write() its configuration, then start()."""
    sup = Supervisor(tmp_path, socket_dir)
    yield sup
    sup.kill_all()
