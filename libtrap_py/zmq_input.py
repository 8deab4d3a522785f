"""`u:` and `t:` inputs: a ZeroMQ DEALER client that reconnects by itself.

It says HELLO on every (re)connection, learns the writer's format (negotiated against what the
module requires), and returns credit for the batches it consumed, so the writer never sends more
than the reader's window.
"""

from __future__ import annotations

import logging
import os
import struct
import time

import msgpack
import zmq

from .formats import ANY_UNIREC, DataFormat, FormatType
from .ifc_spec import IfcKind, IfcSpec
from .input_base import InputInterface
from .message import Message
from .socket_paths import check_socket_dir
from .stop_flag import STOP
from .zmq_wire import (
    BYE,
    CLIENT_WINDOW,
    CREDIT,
    DATA,
    EOF,
    FORMAT,
    HELLO,
    RECONNECT_INTERVAL_MS,
    REFUSED,
    context,
    endpoint,
)

log = logging.getLogger(__name__)
_EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED
_MONITOR_EVENT = struct.Struct("=Hi")   # first frame of a monitor message: event, value


class ZmqInput(InputInterface):
    def __init__(self, spec: IfcSpec, required: DataFormat = ANY_UNIREC):
        super().__init__(spec, required)
        if spec.kind == IfcKind.UNIX:
            check_socket_dir(spec)
        self._endpoint = endpoint(spec)
        self._is_connected = False
        self._said_bye = False
        self._consumed = 0
        self._retry_at = 0.0
        self._open()

    def _open(self) -> None:
        self._socket = context().socket(zmq.DEALER)
        self._socket.setsockopt(zmq.ROUTING_ID, os.urandom(8))
        self._socket.setsockopt(zmq.IMMEDIATE, 1)
        self._socket.setsockopt(zmq.LINGER, 500)
        self._socket.setsockopt(zmq.RCVHWM, 0)
        self._socket.setsockopt(zmq.RECONNECT_IVL, RECONNECT_INTERVAL_MS)
        self._socket.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
        self._monitor = self._socket.get_monitor_socket(_EVENTS)
        self._socket.connect(self._endpoint)

    def _close_socket(self) -> None:
        self._socket.disable_monitor()
        self._monitor.close(0)
        self._socket.close(0)

    @property
    def connected(self) -> bool:
        return self._is_connected

    def poll_handle(self):
        return None if self._retry_at else self._socket

    def _events(self) -> None:
        while self._monitor.poll(0):
            event = _MONITOR_EVENT.unpack_from(self._monitor.recv_multipart()[0])[0]
            if event == zmq.EVENT_CONNECTED:
                self._is_connected = True
                self._said_bye = False
                self._consumed = 0
                self._socket.send_multipart(
                    [HELLO, msgpack.packb({"pid": os.getpid(), "credits": CLIENT_WINDOW})])
            elif event == zmq.EVENT_DISCONNECTED:
                self._is_connected = False

    def _return_credit(self) -> None:
        if self._consumed and self._is_connected:
            try:
                self._socket.send_multipart([CREDIT, str(self._consumed).encode()], zmq.NOBLOCK)
                self._consumed = 0
            except zmq.Again:
                pass

    def receive(self, timeout_ms: int = -1) -> Message | None:
        if self.ended:
            return Message.eof(self.format)
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        while True:
            if self._retry_at and time.monotonic() >= self._retry_at:
                self._retry_at = 0.0
                self._open()
            if not self._retry_at:
                self._events()
                message = self._next_frame()
                if message is not None:
                    return message
                self._return_credit()
            STOP.check(self.spec.label)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return None
            wait = 100 if deadline is None else max(0, min(100, int((deadline - now) * 1000)))
            if self._retry_at:
                time.sleep(wait / 1000)
                continue
            poller = zmq.Poller()
            poller.register(self._socket, zmq.POLLIN)
            poller.register(self._monitor, zmq.POLLIN)
            poller.poll(wait)

    def _next_frame(self) -> Message | None:
        while True:
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            kind = frames[0]
            if kind == DATA:
                if self.format is None:
                    continue
                self._consumed += 1
                if self._consumed >= CLIENT_WINDOW // 2:
                    self._return_credit()
                return self._data(payload=frames[1])
            if kind == FORMAT:
                fmt_type, spec = msgpack.unpackb(frames[1], raw=False)
                self._accept_format(DataFormat(FormatType(fmt_type), spec),
                                    f"{self.spec.label}")
            elif kind == EOF:
                self._say_bye()
                return self._eof()
            elif kind == REFUSED:
                log.warning("%s: writer has its maximum of readers; retrying", self.spec.label)
                self._close_socket()
                self._is_connected = False
                self._retry_at = time.monotonic() + 1.0
                return None     # the socket is closed: nothing more to read until the retry

    def _say_bye(self) -> None:
        """Give back all credit and tell the writer we are done (it waits for this after EOF)."""
        if self._is_connected and not self._said_bye:
            self._return_credit()
            try:
                self._socket.send_multipart([BYE], zmq.NOBLOCK)
                self._said_bye = True
            except zmq.ZMQError:
                pass

    def close(self) -> None:
        if self._retry_at:
            return
        self._say_bye()
        self._close_socket()
