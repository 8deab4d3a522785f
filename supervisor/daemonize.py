"""Going into the background: fork, new session, fork again; the original process waits until
the daemon reports that it is ready (control socket listening) or why it failed, so
`nemea supervisor -d` exits 0 only when `nemea supcli` can talk to it."""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time

READY_TIMEOUT = 30.0


class Notifier:
    """In the daemon: tell the waiting parent how the start went (once)."""

    def __init__(self, fd: int):
        self.fd = fd

    def _send(self, text: str) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.write(self.fd, text.encode()[:4000])
        os.close(self.fd)
        self.fd = -1

    def ready(self) -> None:
        self._send("ok\n")

    def failed(self, message: str) -> None:
        self._send(message + "\n")


def daemonize() -> Notifier:
    """Returns in the daemon (grandchild) only; the parent exits with 0 when the daemon says
    ready, 1 (printing the daemon's error) otherwise."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os.close(write_end)
        os._exit(_wait_for_daemon(read_end))
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.close(read_end)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return Notifier(write_end)


def _wait_for_daemon(fd: int) -> int:
    deadline = time.monotonic() + READY_TIMEOUT
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    text = data.decode(errors="replace").strip()
    if text == "ok":
        return 0
    message = text or "the daemon ended without reporting (see the supervisor log)"
    if not message.startswith("error:"):
        message = f"error: {message}"
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return 1
