"""The control socket: a unix stream socket served from the daemon's own loop (no threads).

Clients send JSON lines (protocol.py); each request is handed to `dispatch` and its reply
written back at once. The socket file is 0600 in a 0700 directory: only the supervisor's user
can control it."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ControlError, SupervisorError
from .protocol import (
    MAX_LINE,
    ErrorCode,
    Request,
    decode_request,
    encode_error,
    encode_result,
    request_id_of,
)

log = logging.getLogger("supervisor")
MAX_CLIENTS = 16
SEND_TIMEOUT = 5.0


class ControlServer:
    def __init__(self, path: Path, dispatch: Callable[[Request], Any],
                 selector: selectors.BaseSelector):
        self.path = path
        self.dispatch = dispatch
        self.selector = selector
        self.listener: socket.socket | None = None
        self.clients: dict[socket.socket, bytearray] = {}
        self._inode: int | None = None

    def open(self) -> None:
        if len(os.fsencode(self.path)) >= 108:
            raise SupervisorError(f"control socket path too long for a unix socket "
                                  f"(max 107 bytes): {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists() or self.path.is_symlink():
            if _answers(self.path):
                raise SupervisorError(f"another supervisor is already listening on {self.path}")
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            os.chmod(self.path, 0o600)
            listener.listen(MAX_CLIENTS)
        except OSError as exc:
            listener.close()
            raise SupervisorError(f"cannot listen on {self.path}: {exc.strerror or exc}") \
                from None
        listener.setblocking(False)
        self._inode = self.path.stat().st_ino
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)

    def _accept(self, listener: socket.socket, mask: int) -> None:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if len(self.clients) >= MAX_CLIENTS:
            self._send(conn, encode_error(0, ErrorCode.BUSY,
                                          f"too many clients (at most {MAX_CLIENTS})"))
            conn.close()
            return
        conn.setblocking(False)
        self.clients[conn] = bytearray()
        self.selector.register(conn, selectors.EVENT_READ, self._readable)

    def _readable(self, conn: socket.socket, mask: int) -> None:
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buffer = self.clients[conn]
        buffer += data
        while conn in self.clients and b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            if line.strip():
                self._handle(conn, line)
        if conn in self.clients and len(buffer) > MAX_LINE:
            self._send(conn, encode_error(0, ErrorCode.BAD_REQUEST, "request line too long"))
            self._drop(conn)

    def _handle(self, conn: socket.socket, line: bytes) -> None:
        request_id = request_id_of(line)
        try:
            request = decode_request(line)
            request_id = request.id
            reply = encode_result(request_id, self.dispatch(request))
        except ControlError as exc:
            reply = encode_error(request_id, exc.code, str(exc))
        except Exception as exc:                   # a handler bug must not kill the daemon
            log.exception("control request failed: %s", line[:200])
            reply = encode_error(request_id, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
        self._send(conn, reply)

    def _send(self, conn: socket.socket, data: bytes) -> None:
        try:
            conn.settimeout(SEND_TIMEOUT)
            conn.sendall(data)
            conn.setblocking(False)
        except OSError:
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        if self.clients.pop(conn, None) is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
        conn.close()

    def close(self) -> None:
        for conn in list(self.clients):
            self._drop(conn)
        if self.listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
            with contextlib.suppress(OSError):
                if self.path.stat().st_ino == self._inode:     # still ours
                    self.path.unlink()


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()
