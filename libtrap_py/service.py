"""The service endpoint: every module answers statistics requests on
`<socket dir>/trap-service_<PID>.sock`, a plain UNIX stream socket served by a background
thread. A client sends one request word and a newline, and reads one JSON answer until the
module closes the connection. Standard library only: a module whose interfaces are files
never loads ZeroMQ."""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import threading
from collections.abc import Callable

from .socket_paths import unix_socket_path

log = logging.getLogger(__name__)
REQUESTS = ("stats", "info")
CLIENT_SECONDS = 1.0       # a client that sends no request within this is dropped
MAX_REQUEST = 256


def service_path(pid: int):
    return unix_socket_path(f"service_{pid}")


class ServiceEndpoint:
    """Answers `stats` and `info` requests with what the callbacks return."""

    def __init__(self, pid: int, answers: dict[str, Callable[[], dict]]):
        self._answers = answers
        self._path = service_path(pid)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._path.unlink(missing_ok=True)
            self._listener.bind(str(self._path))
            self._listener.listen(8)
        except OSError as exc:
            log.warning("service endpoint %s not available: %s", self._path, exc)
            self._listener.close()
            self._thread = None
            return
        self._wake_read, self._wake_write = os.pipe()   # close() wakes the thread at once
        self._thread = threading.Thread(target=self._serve, name="service", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_read in ready:
                return
            try:
                connection, _ = self._listener.accept()
            except OSError as exc:
                log.debug("service endpoint: %s", exc)
                continue
            with connection:
                try:
                    connection.settimeout(CLIENT_SECONDS)
                    connection.sendall(self._reply(_read_request(connection)))
                except OSError as exc:
                    log.debug("service endpoint client: %s", exc)

    def _reply(self, request: str) -> bytes:
        answer = self._answers.get(request)
        try:
            reply = answer() if answer else {"error": f"unknown request {request!r}, "
                                                       f"use one of {', '.join(REQUESTS)}"}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        return json.dumps(reply).encode() + b"\n"

    def close(self) -> None:
        if self._thread is None:
            return
        os.write(self._wake_write, b"x")
        self._thread.join(timeout=CLIENT_SECONDS + 1)   # (a client being served first)
        self._thread = None
        self._listener.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        self._path.unlink(missing_ok=True)


def _read_request(connection: socket.socket) -> str:
    data = b""
    while b"\n" not in data and len(data) < MAX_REQUEST:
        part = connection.recv(MAX_REQUEST)
        if not part:
            break
        data += part
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def query(pid: int, request: str = "stats", timeout_ms: int = 2000) -> dict:
    """Ask the module with this PID. Every failure is an OSError: FileNotFoundError when it has
    no endpoint, TimeoutError when it does not answer in time, ConnectionError otherwise."""
    path = service_path(pid)
    if not path.exists():
        raise FileNotFoundError(f"no service endpoint {path} (is PID {pid} a module?)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_ms / 1000)
        try:
            sock.connect(str(path))
            sock.sendall(request.encode() + b"\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        except TimeoutError:
            raise TimeoutError(f"module {pid} did not answer within {timeout_ms} ms") from None
    try:
        return json.loads(answer)
    except ValueError:
        raise ConnectionError(f"module {pid} sent no valid answer on {path}") from None
