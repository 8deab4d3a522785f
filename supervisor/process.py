"""Starting and stopping module processes.

Each module runs in its own session and process group, stdin from /dev/null, stdout and stderr
appended to its log files (each start headed by `---> <date>` and the command line). The child
asks the kernel for SIGKILL when the supervisor dies (PR_SET_PDEATHSIG), so a crashed
supervisor leaves no orphan behind. Stopping is SIGINT to the group, then SIGKILL to the group
after a grace period."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .model import ModuleConfig

PR_SET_PDEATHSIG = 1
KILL_WAIT = 2.0               # after SIGKILL, how long to wait for the exit to be visible

try:                          # resolved here: the child must not look symbols up after fork
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
    _PRCTL.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]
    _PRCTL.restype = ctypes.c_int
except (OSError, AttributeError):     # pragma: no cover - not Linux
    _PRCTL = None


def _die_with_parent(parent: int):
    """Runs in the child between fork and exec: as little as possible."""
    def setup() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:          # the supervisor died before prctl
            os._exit(127)
    return setup


def describe_exit(code: int | None) -> str:
    """Popen's returncode in words: `exit code 3`, `killed by SIGKILL`."""
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class ModuleProcess:
    """One started instance of a module."""

    popen: subprocess.Popen
    command_line: str
    started: float = field(default_factory=time.time)       # wall clock, for display
    started_mono: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def signal_group(self, sig: int) -> bool:
        """Send `sig` to the module's process group (its children too); False if gone."""
        try:
            os.killpg(self.popen.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False


def spawn(config: ModuleConfig, stdout_log: Path, stderr_log: Path) -> ModuleProcess:
    """Start the module; raises OSError when it cannot be executed."""
    stamp = time.strftime("%a %b %e %H:%M:%S %Y")
    header = f"---> {stamp}\n{config.command_line}\n".encode()
    stdout_log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dict(config.env)}
    with open(stdout_log, "ab") as out, open(stderr_log, "ab") as err:
        out.write(header)
        err.write(header)
        out.flush()
        err.flush()
        popen = subprocess.Popen(
            list(config.argv), executable=config.executable, stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, env=env, start_new_session=True, close_fds=True,
            preexec_fn=_die_with_parent(os.getpid()))
    return ModuleProcess(popen, config.command_line)


def stop(processes: Iterable[ModuleProcess], grace: float) -> dict[int, str]:
    """Stop them all at once: SIGINT to every group, wait up to `grace` seconds, SIGKILL the
    groups still alive, wait (bounded) for the exits. Returns pid -> how it was stopped
    ("SIGINT", "SIGKILL", or "still running" if even SIGKILL did not end it in time)."""
    procs = [p for p in processes if p.poll() is None]
    how = {}
    for proc in procs:
        proc.signal_group(signal.SIGINT)
        how[proc.pid] = "SIGINT"
    _wait_all(procs, grace)
    for proc in procs:
        if proc.poll() is None:
            proc.signal_group(signal.SIGKILL)
            how[proc.pid] = "SIGKILL"
    _wait_all(procs, KILL_WAIT)
    for proc in procs:
        if proc.poll() is None:
            how[proc.pid] = "still running"
        else:                     # the leader is gone: finish off what is left of its group
            proc.signal_group(signal.SIGKILL)
    return how


def _wait_all(procs: list[ModuleProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)


def remove_sockets(socket_dir: Path, names: Iterable[str]) -> list[Path]:
    """Remove the unix socket files `trap-<name>.sock` left behind; returns those removed."""
    removed = []
    for name in names:
        path = socket_dir / f"trap-{name}.sock"
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            if path.is_socket() or path.exists():
                path.unlink()
                removed.append(path)
    return removed
