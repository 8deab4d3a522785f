"""`u:` and `t:` outputs: a ZeroMQ ROUTER that broadcasts every batch to every reader.

Each reader has a queue of up to `buffer_count` batches and a credit window; batches leave only
against credit. With timeout=WAIT a full queue (the slowest reader) makes `send` wait: nothing is
ever dropped. NO_WAIT, HALF_WAIT and microsecond timeouts skip readers whose queue stays full and
count what they skip; a batch no reader took is counted as dropped.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field

import msgpack
import zmq

from .errors import TrapError
from .formats import DataFormat
from .ifc_spec import HALF_WAIT, NO_WAIT, WAIT, IfcKind, IfcSpec
from .output_base import OutputInterface
from .socket_paths import check_socket_dir, remove_socket_file, unix_socket_path
from .stop_flag import STOP
from .zmq_wire import (
    BYE,
    CREDIT,
    DATA,
    EOF,
    FORMAT,
    HELLO,
    PING,
    REFUSED,
    endpoint,
)

log = logging.getLogger(__name__)
PROBE_INTERVAL = 0.5
MAX_LINGER = 2.0              # seconds closing may still take to hand queued frames over


@dataclass
class Client:
    client_id: int
    credits: int
    window: int
    queue: deque = field(default_factory=deque)   # (frame kind, body, record count)
    sent_messages: int = 0
    sent_containers: int = 0
    skipped_messages: int = 0
    last_probe: float = 0.0
    eof_sent: bool = False        # until the reader says BYE, the EOF may still be in flight

    @property
    def busy(self) -> bool:
        """Something sent or queued for this reader is not yet known to be taken."""
        return bool(self.queue) or self.credits < self.window or self.eof_sent

    def stats(self) -> dict:
        total = self.sent_messages + self.skipped_messages
        return {"id": self.client_id, "sent_messages": self.sent_messages,
                "sent_containers": self.sent_containers,
                "skipped_messages": self.skipped_messages,
                "skipped_percentage": round(100.0 * self.skipped_messages / total, 2)
                if total else 0.0}


class ZmqOutput(OutputInterface):
    def __init__(self, spec: IfcSpec):
        super().__init__(spec)
        self.clients: dict[bytes, Client] = {}
        # Its own context: terminating it at close waits (up to the linger) until the frames
        # still queued (the EOF) are handed to the readers; a process exiting does not.
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._socket.setsockopt(zmq.SNDHWM, 0)
        self._socket.setsockopt(zmq.RCVHWM, 0)
        self._socket.setsockopt(zmq.LINGER, 2000)
        self._path = None
        if spec.kind == IfcKind.UNIX:
            check_socket_dir(spec)
            self._path = unix_socket_path(spec.name)
            remove_socket_file(self._path)   # stale socket of a dead writer
        try:
            self._socket.bind(endpoint(spec))
        except zmq.ZMQError as exc:
            self._socket.close(0)
            self._context.term()
            raise TrapError(f"{spec.label}: cannot listen on {endpoint(spec)}: {exc}") from None
        if self._path is not None:
            os.chmod(self._path, 0o666)

    # --- control traffic ----------------------------------------------------------------
    def _pump(self, timeout_ms: int) -> None:
        """Handle reader requests (waiting up to timeout_ms for the first), then send what
        credits allow."""
        if self._socket.poll(timeout_ms, zmq.POLLIN):
            while True:
                try:
                    frames = self._socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._handle(frames)
        self._send_queued()

    def _handle(self, frames: list[bytes]) -> None:
        if len(frames) < 2:
            return
        identity, kind = frames[0], frames[1]
        if kind == HELLO:
            self._hello(identity, frames[2] if len(frames) > 2 else b"")
        elif kind == CREDIT:
            client = self.clients.get(identity)
            if client is not None:
                client.credits += int(frames[2])
        elif kind == BYE:
            self.clients.pop(identity, None)

    def _hello(self, identity: bytes, body: bytes) -> None:
        try:
            hello = msgpack.unpackb(body)
            client_id, credits = int(hello["pid"]), int(hello["credits"])
        except (ValueError, KeyError, TypeError, msgpack.UnpackException):
            log.warning("%s: ignoring a malformed hello", self.spec.label)
            return
        client = self.clients.get(identity)
        if client is None:
            if len(self.clients) >= self.spec.max_clients:
                self._send_to(identity, [REFUSED])
                return
            client = Client(client_id, credits, credits)
            self.clients[identity] = client
        else:
            client.credits = client.window = credits
        if self.format is not None:
            self._send_to(identity, [FORMAT, msgpack.packb([int(self.format.type),
                                                            self.format.spec])])

    def _send_to(self, identity: bytes, frames: list[bytes]) -> bool:
        try:
            self._socket.send_multipart([identity, *frames], zmq.NOBLOCK)
            return True
        except zmq.ZMQError:   # EHOSTUNREACH: the reader is gone
            self.clients.pop(identity, None)
            return False

    def _send_queued(self) -> None:
        for identity, client in list(self.clients.items()):
            queue = client.queue
            while queue:
                kind, body, count = queue[0]
                if kind == DATA and client.credits <= 0:
                    break
                if not self._send_to(identity, [kind, body] if body is not None else [kind]):
                    break
                queue.popleft()
                if kind == EOF:
                    client.eof_sent = True
                if kind == DATA:
                    client.credits -= 1
                    client.sent_messages += count
                    client.sent_containers += 1

    def _probe(self, now: float) -> None:
        """Find readers that went away while we wait for their credit."""
        for identity, client in list(self.clients.items()):
            if client.busy and now - client.last_probe >= PROBE_INTERVAL:
                client.last_probe = now
                self._send_to(identity, [PING])

    def _wait(self, done, timeout_us: int) -> bool:
        """Pump until `done()` or the timeout (WAIT = forever); False on timeout."""
        deadline = None if timeout_us < 0 else time.monotonic() + timeout_us / 1e6
        while not done():
            STOP.check(self.spec.label)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            self._probe(now)
            wait_ms = 100 if deadline is None else max(0, min(100, int((deadline - now) * 1000)))
            self._pump(wait_ms)
        return True

    # --- transport hooks ----------------------------------------------------------------
    def _announce(self, fmt: DataFormat) -> None:
        body = msgpack.packb([int(fmt.type), fmt.spec])
        for client in self.clients.values():
            client.queue.append((FORMAT, body, 0))
        self._pump(0)

    def _deliver(self, payload: bytes, count: int) -> int:
        self._pump(0)
        timeout = self.spec.timeout
        if not self.clients:
            no_client_wait = {WAIT: -1, HALF_WAIT: 0, NO_WAIT: 0}.get(timeout, timeout)
            if no_client_wait == 0 or not self._wait(lambda: self.clients, no_client_wait):
                return 0
        limit = self.spec.buffer_count
        full_wait = {WAIT: -1, HALF_WAIT: -1, NO_WAIT: 0}.get(timeout, timeout)
        if full_wait != 0:
            self._wait(lambda: all(len(c.queue) < limit for c in self.clients.values()),
                       full_wait)
        delivered = 0
        for client in self.clients.values():
            if len(client.queue) < limit:
                client.queue.append((DATA, payload, count))
                delivered = count
            else:
                client.skipped_messages += count
        self._send_queued()
        return delivered

    def _deliver_eof(self, wait_for_reader: bool) -> None:
        """EOF to every reader; with timeout=WAIT and no reader yet, wait for one, as data
        would, so a reader that connects late still learns that the stream ended."""
        self._pump(0)
        if wait_for_reader and self.format is not None and not self.clients \
                and self.spec.timeout == WAIT:
            self._wait(lambda: self.clients, -1)
        for client in self.clients.values():
            client.queue.append((EOF, None, 0))
        self._send_queued()

    def _finish(self, grace: float) -> None:
        """Wait (bounded) until every reader has taken its queue, given back its credit and,
        after an EOF, said BYE."""
        if self._socket.closed:     # closed already (a second close after a signal)
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not STOP.is_set() and any(
                c.busy for c in self.clients.values()):
            self._probe(time.monotonic())
            self._pump(50)
        left = sum(count for c in self.clients.values() for kind, _, count in c.queue)
        if left:
            log.warning("%s: %d records still queued for slow readers at exit",
                        self.spec.label, left)
            self.counters.dropped_messages += left
        self._socket.close(linger=int(min(max(grace, 0.1), MAX_LINGER) * 1000))
        self._context.term()
        if self._path is not None:
            remove_socket_file(self._path)

    @property
    def num_clients(self) -> int:
        return len(self.clients)

    def client_stats(self) -> list[dict]:
        return [client.stats() for client in self.clients.values()]
