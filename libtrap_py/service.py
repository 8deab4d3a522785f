"""The service endpoint: every module answers statistics requests on
`<socket dir>/trap-service_<PID>.sock`, from a background thread, as JSON."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import zmq

from .zmq_wire import context, unix_socket_path

log = logging.getLogger(__name__)
REQUESTS = ("stats", "info")


def service_path(pid: int):
    return unix_socket_path(f"service_{pid}")


class ServiceEndpoint:
    """Answers `stats` and `info` requests with what the callbacks return."""

    def __init__(self, pid: int, answers: dict[str, Callable[[], dict]]):
        self._answers = answers
        self._path = service_path(pid)
        self._running = True
        self._socket = context().socket(zmq.REP)
        self._socket.setsockopt(zmq.LINGER, 0)
        try:
            self._path.unlink(missing_ok=True)
            self._socket.bind(f"ipc://{self._path}")
        except (OSError, zmq.ZMQError) as exc:
            log.warning("service endpoint %s not available: %s", self._path, exc)
            self._socket.close(0)
            self._running = False
            return
        # close() wakes the thread through this pair at once (no polling interval to wait out)
        wake = f"inproc://service-wake-{id(self)}"
        self._wake_receiver = context().socket(zmq.PAIR)
        self._wake_receiver.bind(wake)
        self._wake_sender = context().socket(zmq.PAIR)
        self._wake_sender.setsockopt(zmq.LINGER, 0)
        self._wake_sender.connect(wake)
        self._thread = threading.Thread(target=self._serve, name="service", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._wake_receiver, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self._wake_receiver in ready:
                return
            request = self._socket.recv().decode("utf-8", "replace").strip()
            answer = self._answers.get(request)
            try:
                reply = answer() if answer else {"error": f"unknown request {request!r}, "
                                                           f"use one of {', '.join(REQUESTS)}"}
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            self._socket.send(json.dumps(reply).encode())

    def close(self) -> None:
        if not self._running:
            return
        self._running = False
        self._wake_sender.send(b"")
        self._thread.join(timeout=1)
        for sock in (self._wake_sender, self._wake_receiver, self._socket):
            sock.close(0)
        self._path.unlink(missing_ok=True)


def query(pid: int, request: str = "stats", timeout_ms: int = 2000) -> dict:
    """Ask the module with this PID; raises TimeoutError when it does not answer."""
    sock = context().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        path = service_path(pid)
        if not path.exists():
            raise FileNotFoundError(f"no service endpoint {path} (is PID {pid} a module?)")
        sock.connect(f"ipc://{path}")
        sock.send(request.encode())
        if not sock.poll(timeout_ms):
            raise TimeoutError(f"module {pid} did not answer within {timeout_ms} ms")
        return json.loads(sock.recv())
    finally:
        sock.close(0)
