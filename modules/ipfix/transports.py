"""Sockets: the collector's UDP/TCP listeners, and the exporter's UDP/TCP/file senders.

Listen specs (collector `-l`): `udp:PORT`, `tcp:PORT`, `udp:HOST:PORT`, `tcp:[v6addr]:PORT`
(default host 0.0.0.0). Destination specs (exporter `-x`): `HOST:PORT[:udp|tcp]` (UDP by
default), or `file:PATH` (messages appended to a file, as ipfixsend replays them).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from dataclasses import dataclass

from .core import CollectorCore
from .framing import StreamError, StreamFramer

log = logging.getLogger("ipfix")
UDP_RECEIVE_BUFFER = 32 << 20
TCP_READ = 1 << 20


@dataclass(frozen=True)
class Endpoint:
    transport: str       # udp, tcp or file
    host: str
    port: int
    path: str = ""

    def __str__(self) -> str:
        if self.transport == "file":
            return f"file:{self.path}"
        return f"{self.transport}:{self.host}:{self.port}"


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{what}: bad port {port!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"{what}: port {number} out of range")
    return host, number


def parse_listen(text: str) -> Endpoint:
    """`udp:4739`, `tcp:127.0.0.1:4739`."""
    transport, _, rest = text.partition(":")
    if transport not in ("udp", "tcp") or not rest:
        raise ValueError(f"-l {text}: expected udp:[HOST:]PORT or tcp:[HOST:]PORT")
    host, port = _host_port(rest, f"-l {text}")
    return Endpoint(transport, host or "0.0.0.0", port)


def parse_destination(text: str) -> Endpoint:
    """`HOST:PORT[:udp|tcp]` or `file:PATH`."""
    if text.startswith("file:"):
        if not text[5:]:
            raise ValueError(f"{text}: expected file:PATH")
        return Endpoint("file", "", 0, text[5:])
    transport = "udp"
    for suffix in ("udp", "tcp"):
        if text.endswith(":" + suffix):
            transport, text = suffix, text[: -len(suffix) - 1]
    host, port = _host_port(text, f"destination {text}")
    if not host or port == 0:
        raise ValueError(f"destination {text}: expected HOST:PORT[:udp|tcp]")
    return Endpoint(transport, host, port)


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# --- collector side --------------------------------------------------------------------------
class Listeners:
    """The collector's sockets on one selector; `poll` reads what is ready into the core."""

    def __init__(self, endpoints: list[Endpoint], core: CollectorCore):
        self.core = core
        self.selector = selectors.DefaultSelector()
        self.sockets: list[socket.socket] = []
        self.connections: dict[int, _Connection] = {}
        try:
            for endpoint in endpoints:
                self._open(endpoint)
        except OSError:
            self.close()
            raise

    def _open(self, endpoint: Endpoint) -> None:
        kind = socket.SOCK_DGRAM if endpoint.transport == "udp" else socket.SOCK_STREAM
        sock = socket.socket(_family(endpoint.host), kind)
        self.sockets.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if endpoint.transport == "udp":
            _large_receive_buffer(sock)
        try:
            sock.bind((endpoint.host, endpoint.port))
        except OSError as exc:
            raise OSError(f"-l {endpoint}: cannot bind: {exc.strerror or exc}") from None
        sock.setblocking(False)
        if endpoint.transport == "tcp":
            sock.listen(64)
            self.selector.register(sock, selectors.EVENT_READ, self._accept)
        else:
            self.selector.register(sock, selectors.EVENT_READ, self._datagrams)
        log.info("listening on %s", endpoint)

    def poll(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for input, read everything ready; returns how many
        messages and datagrams were read."""
        handled = 0
        for key, _ in self.selector.select(timeout):
            handled += key.data(key.fileobj)
        return handled

    def _datagrams(self, sock: socket.socket, budget: int = 2048) -> int:
        core, now = self.core, time.monotonic()
        count = 0
        for count in range(budget):
            try:
                data, address = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError as exc:    # e.g. ICMP errors surfacing on the socket
                log.debug("udp receive: %s", exc)
                return count
            core.feed(core.session("udp", address, now), data, 0, len(data), now)
        return budget

    def _accept(self, listener: socket.socket) -> int:
        try:
            sock, address = listener.accept()
        except (BlockingIOError, InterruptedError):
            return 0
        sock.setblocking(False)
        connection = _Connection(sock, self.core.session("tcp", address, time.monotonic()))
        self.connections[sock.fileno()] = connection
        self.core.counters["tcp_connections"] += 1
        self.selector.register(sock, selectors.EVENT_READ, self._read)
        log.info("exporter connected: %s", connection.session.label)
        return 0

    def _read(self, sock: socket.socket) -> int:
        connection = self.connections[sock.fileno()]
        try:
            data = sock.recv(TCP_READ)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            log.info("%s: %s", connection.session.label, exc)
            data = b""
        if not data:
            self._drop(connection)
            return 0
        now, core, session = time.monotonic(), self.core, connection.session
        try:
            messages = connection.framer.feed(data)
        except StreamError as exc:
            core.malformed(session, f"TCP stream out of step, closing the connection: {exc}")
            self._drop(connection)
            return 0
        for message, start, end in messages:
            core.feed(session, message, start, end, now)
        return len(messages)

    def _drop(self, connection: _Connection) -> None:
        sock = connection.sock
        self.selector.unregister(sock)
        del self.connections[sock.fileno()]
        sock.close()
        self.core.close_session(connection.session)
        log.info("exporter disconnected: %s", connection.session.label)

    def close(self) -> None:
        for connection in list(self.connections.values()):
            self._drop(connection)
        for sock in self.sockets:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sock)
            sock.close()
        self.sockets = []
        self.selector.close()


class _Connection:
    def __init__(self, sock: socket.socket, session) -> None:
        self.sock = sock
        self.session = session
        self.framer = StreamFramer()


def _large_receive_buffer(sock: socket.socket) -> None:
    """A big socket buffer absorbs bursts while a batch is decoded (root may exceed rmem_max
    with SO_RCVBUFFORCE)."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    for option in ([force] if force is not None else []) + [socket.SO_RCVBUF]:
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, UDP_RECEIVE_BUFFER)
            return
        except OSError:
            continue


# --- exporter side ---------------------------------------------------------------------------
class Sender:
    """Where an exporter's messages go. `generation` changes with every new connection (the
    exporter then sends its templates again); `stream` senders get one message stream."""

    stream = False
    generation = 0

    def send(self, messages: list[bytes]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class UdpSender(Sender):
    def __init__(self, endpoint: Endpoint):
        self.sock = socket.socket(_family(endpoint.host), socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.address = (endpoint.host, endpoint.port)
        self.sock.connect(self.address)
        self.generation = 1

    def send(self, messages: list[bytes]) -> None:
        send = self.sock.send
        for message in messages:
            try:
                send(message)
            except ConnectionRefusedError:   # nobody listening (ICMP): UDP does not care
                continue
            except BlockingIOError:
                time.sleep(0.001)
                send(message)

    def close(self) -> None:
        self.sock.close()


class TcpSender(Sender):
    """Connects on first use; after a failure, reconnects on the next send (not before
    `retry` seconds). Raises OSError when the messages could not be sent."""

    stream = True

    def __init__(self, endpoint: Endpoint, timeout: float = 10.0, retry: float = 1.0):
        self.endpoint = endpoint
        self.timeout, self.retry = timeout, retry
        self.sock: socket.socket | None = None
        self.next_attempt = 0.0

    def connect(self) -> None:
        if self.sock is not None:
            return
        now = time.monotonic()
        if now < self.next_attempt:
            raise OSError(f"{self.endpoint}: not connected (retrying)")
        try:
            sock = socket.create_connection((self.endpoint.host, self.endpoint.port),
                                            timeout=self.timeout)
        except OSError as exc:
            self.next_attempt = now + self.retry
            raise OSError(f"{self.endpoint}: cannot connect: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.generation += 1
        log.info("connected to %s", self.endpoint)

    def send(self, messages: list[bytes]) -> None:
        self.connect()
        try:
            self.sock.sendall(b"".join(messages))   # type: ignore[union-attr]
        except OSError as exc:
            self.sock.close()                       # type: ignore[union-attr]
            self.sock = None
            self.next_attempt = time.monotonic() + self.retry
            raise OSError(f"{self.endpoint}: send failed: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(2.0)
                while self.sock.recv(65536):   # wait for the collector to close its side
                    pass
            except OSError:
                pass
            self.sock.close()
            self.sock = None


class FileSender(Sender):
    stream = True

    def __init__(self, endpoint: Endpoint):
        self.file = open(endpoint.path, "ab")   # noqa: SIM115
        self.generation = 1

    def send(self, messages: list[bytes]) -> None:
        self.file.write(b"".join(messages))

    def close(self) -> None:
        self.file.close()


def open_sender(endpoint: Endpoint) -> Sender:
    return {"udp": UdpSender, "tcp": TcpSender, "file": FileSender}[endpoint.transport](
        endpoint)
