"""The service endpoint: every module answers statistics requests on
`<socket dir>/trap-service_<PID>.sock`, a plain UNIX stream socket served by a background
thread. A client sends one request word and a newline, and reads one JSON answer until the
module closes the connection. Standard library only: a module whose interfaces are files
never loads ZeroMQ."""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable

from .socket_paths import remove_socket_file, unix_socket_path

log = logging.getLogger(__name__)
REQUESTS = ("stats", "info")
CLIENT_SECONDS = 1.0       # a client's whole exchange (request and answer) must fit in this
MAX_REQUEST = 256


def service_path(pid: int) -> str:
    return unix_socket_path(f"service_{pid}")


class ServiceEndpoint:
    """Answers `stats` and `info` requests with what the callbacks return.

    The serving thread owns the listening socket and the read end of a pipe, and closes both
    when it ends; close() only closes the pipe's write end (the thread sees the pipe end and
    stops), waits for the thread, and removes the socket file."""

    def __init__(self, pid: int, answers: dict[str, Callable[[], dict]]):
        self._answers = answers
        self._path = service_path(pid)
        self._thread: threading.Thread | None = None
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            remove_socket_file(self._path)
            listener.bind(self._path)
            listener.listen(8)
        except OSError as exc:
            log.warning("service endpoint %s not available: %s", self._path, exc)
            listener.close()
            return
        wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, args=(listener, wake_read),
                                        name="service", daemon=True)
        self._thread.start()

    def _serve(self, listener: socket.socket, wake_read: int) -> None:
        poller = select.poll()
        poller.register(listener, select.POLLIN)
        poller.register(wake_read, select.POLLIN)
        try:
            while True:
                ready = {fd for fd, _ in poller.poll()}
                if wake_read in ready:           # the write end is closed: stop
                    return
                try:
                    connection, _ = listener.accept()
                except OSError as exc:
                    log.debug("service endpoint: %s", exc)
                    continue
                with connection:
                    self._answer(connection)
        finally:
            listener.close()
            os.close(wake_read)

    def _answer(self, connection: socket.socket) -> None:
        deadline = time.monotonic() + CLIENT_SECONDS
        try:
            request = _read_request(connection, deadline)
            _set_deadline(connection, deadline)
            connection.sendall(self._reply(request))
        except OSError as exc:
            log.debug("service endpoint client: %s", exc)

    def _reply(self, request: str) -> bytes:
        import json  # (loaded at the first request: module processes start faster)
        answer = self._answers.get(request)
        try:
            reply = answer() if answer else {"error": f"unknown request {request!r}, "
                                                       f"use one of {', '.join(REQUESTS)}"}
            return json.dumps(reply).encode() + b"\n"
        except Exception as exc:                # a callback's error, or an answer not JSON
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n"

    def close(self) -> None:
        if self._thread is None:
            return
        os.close(self._wake_write)
        self._thread.join(timeout=CLIENT_SECONDS + 1)   # (a client being served first)
        self._thread = None
        remove_socket_file(self._path)


def _set_deadline(sock: socket.socket, deadline: float) -> None:
    """The socket's next operation times out at `deadline` (TimeoutError once it passed)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("out of time")
    sock.settimeout(left)


def _read_request(connection: socket.socket, deadline: float) -> str:
    data = b""
    while b"\n" not in data and len(data) < MAX_REQUEST:
        _set_deadline(connection, deadline)
        part = connection.recv(MAX_REQUEST)
        if not part:
            break
        data += part
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def query(pid: int, request: str = "stats", timeout_ms: int = 2000) -> dict:
    """Ask the module with this PID, within `timeout_ms` (> 0) in all. Every failure is an
    OSError: FileNotFoundError when it has no endpoint, TimeoutError when it does not answer
    in time, ConnectionError otherwise."""
    if timeout_ms <= 0:
        raise ValueError(f"timeout_ms must be positive, got {timeout_ms}")
    deadline = time.monotonic() + timeout_ms / 1000
    path = service_path(pid)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no service endpoint {path} (is PID {pid} a module?)")
    parts = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            _set_deadline(sock, deadline)
            sock.connect(path)
            _set_deadline(sock, deadline)
            sock.sendall(request.encode() + b"\n")
            while True:
                _set_deadline(sock, deadline)
                part = sock.recv(65536)
                if not part:
                    break
                parts.append(part)
        except TimeoutError:
            raise TimeoutError(f"module {pid} did not answer within {timeout_ms} ms") from None
    import json
    try:
        return json.loads(b"".join(parts))
    except ValueError:
        raise ConnectionError(f"module {pid} sent no valid answer on {path}") from None
