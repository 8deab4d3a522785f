"""What proto_traffic, link_traffic and ipv6stats share: flows/packets/bytes counted per bucket
with numpy, a report every interval (a text line and an optional record) and at the end, and
the Munin query socket.

A subclass says which buckets it reports and puts every record of a batch into a slot:

    class ProtoTraffic(IntervalCounterModule):
        query_socket = "munin_proto_traffic"
        def reported_buckets(self): return [("tcp", 0), ("udp", 1), ("others", 2)]
        def classify(self, batch): return LOOKUP[batch.column("PROTOCOL")]
        def query_reply(self, totals): return "tcp-flows,...\\n1,...\\n"

Slots beyond the reported ones are counted and never shown (unknown links, ignored directions).
Interval line: `TIME LABEL=FLOWS/PACKETS/BYTES ...` (TIME = end of the interval, UTC); at the
end the last (partial) interval, then `total LABEL=FLOWS/PACKETS/BYTES ...` since the start.
Output record per interval: `time TIME_FIRST,time TIME_LAST,uint64 <LABEL>_FLOWS,
uint64 <LABEL>_PACKETS,uint64 <LABEL>_BYTES,...` (LABEL upper-cased, `-` -> `_`).
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from libtrap_py.ifc_spec import NO_WAIT
from libtrap_py.message import Message
from libtrap_py.module import Module
from libtrap_py.socket_paths import remove_socket_file, socket_dir
from unirec import RecordBatch

log = logging.getLogger(__name__)
FLOWS, PACKETS, BYTES = 0, 1, 2          # rows of a counter array (3 x slots, uint64)
MAX_INTERVAL = 86_400.0
ACCEPT_POLL_SECONDS = 0.2


def check_interval(seconds: float) -> None:
    if not 0 < seconds <= MAX_INTERVAL:
        raise ValueError(f"-t {seconds:g}: the interval must be > 0 and <= {MAX_INTERVAL:g} "
                         "seconds")


class BucketCounters:
    """Cumulative flows, packets and bytes per slot (exact uint64), safe to read from another
    thread, and the change since the previous interval."""

    def __init__(self, slots: int):
        self._totals = np.zeros((3, slots), dtype=np.uint64)
        self._reported = self._totals.copy()
        self._lock = threading.Lock()

    def add(self, slot: np.ndarray, packets: np.ndarray, octets: np.ndarray) -> None:
        slots = self._totals.shape[1]
        change = np.zeros((3, slots), dtype=np.uint64)
        change[FLOWS] = np.bincount(slot, minlength=slots)
        np.add.at(change[PACKETS], slot, packets.astype(np.uint64, copy=False))
        np.add.at(change[BYTES], slot, octets.astype(np.uint64, copy=False))
        with self._lock:
            self._totals += change

    def totals(self) -> np.ndarray:
        with self._lock:
            return self._totals.copy()

    def take_interval(self) -> np.ndarray:
        """The counts since the previous call (or the start)."""
        totals = self.totals()
        change = totals - self._reported
        self._reported = totals
        return change


class QueryServer:
    """A unix stream socket `<socket dir>/<name>` (mode 0666) that answers every connection with
    `reply()` and closes it, as Munin plugins expect; served from a daemon thread. A stale socket
    left by a dead process is replaced; one a live process answers on is an error."""

    def __init__(self, name: str, reply: Callable[[], str]):
        self.path = os.path.join(socket_dir(), name)
        self._reply = reply
        self._stopping = threading.Event()
        _remove_stale(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(self.path)
            os.chmod(self.path, 0o666)
            self._sock.listen(16)
            self._inode = os.stat(self.path).st_ino
        except OSError as exc:
            self._sock.close()
            raise OSError(f"query socket {self.path}: {exc.strerror or exc}") from None
        self._sock.settimeout(ACCEPT_POLL_SECONDS)
        self._thread = threading.Thread(target=self._serve, name=f"query {name}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stopping.is_set():
                    log.warning("query socket %s: accept failed: %s", self.path, exc)
                    time.sleep(ACCEPT_POLL_SECONDS)
                continue
            with client:
                try:
                    client.settimeout(2.0)
                    client.sendall(self._reply().encode())
                except OSError as exc:
                    log.info("query socket %s: reply not sent: %s", self.path, exc)

    def close(self) -> None:
        """Stop serving and remove the socket file (unless another process replaced it)."""
        self._stopping.set()
        self._thread.join(ACCEPT_POLL_SECONDS * 5)
        self._sock.close()
        try:
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass


def _remove_stale(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"query socket {path}: the path exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            remove_socket_file(path)   # nobody listens: left by a dead process
            return
    raise OSError(f"query socket {path} is in use by another running process")


def field_prefix(label: str) -> str:
    return label.upper().replace("-", "_")


def stamp(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))


class IntervalCounterModule(Module):
    """Counts per bucket; reports every `params.interval` seconds and at the end."""

    inputs, outputs = 1, (0, 1)
    output_timeout = NO_WAIT                  # statistics never hold up the counting
    query_socket: ClassVar[str] = ""          # Munin socket name in the socket dir, "" = none

    # --- for subclasses ----------------------------------------------------------------------
    def reported_buckets(self) -> list[tuple[str, int]]:
        """(label, slot) of every bucket that is reported, in report order."""
        raise NotImplementedError

    def slot_count(self) -> int:
        """Slots counted, including hidden ones; by default only the reported ones."""
        return len(self.reported_buckets())

    def classify(self, batch: RecordBatch) -> np.ndarray:
        """The slot (an integer array) of every record of the batch."""
        raise NotImplementedError

    def query_reply(self, totals: np.ndarray) -> str:
        """The text sent on the query socket, from the cumulative counters (3 x slots)."""
        return ""

    # --- reporting, extendable ---------------------------------------------------------------
    def output_spec(self) -> str:
        fields = ["time TIME_FIRST", "time TIME_LAST"]
        for label, _ in self.buckets:
            prefix = field_prefix(label)
            fields += [f"uint64 {prefix}_FLOWS", f"uint64 {prefix}_PACKETS",
                       f"uint64 {prefix}_BYTES"]
        return ",".join(fields)

    def report_text(self, counts: np.ndarray) -> str:
        return " ".join(f"{label}={counts[FLOWS, slot]}/{counts[PACKETS, slot]}/"
                        f"{counts[BYTES, slot]}" for label, slot in self.buckets)

    def report_columns(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        columns = {}
        for label, slot in self.buckets:
            prefix = field_prefix(label)
            for row, what in ((FLOWS, "FLOWS"), (PACKETS, "PACKETS"), (BYTES, "BYTES")):
                columns[f"{prefix}_{what}"] = counts[row, slot:slot + 1]
        return columns

    # --- hooks ---------------------------------------------------------------------------------
    def setup(self) -> None:
        self.buckets = self.reported_buckets()
        self.counters = BucketCounters(self.slot_count())
        self.tick_interval = self.params.interval
        self.interval_start = time.time_ns()
        if self.ports:
            self.set_output_template(self.output_spec())
        self.server: QueryServer | None = None
        if self.query_socket:
            self.server = QueryServer(self.query_socket,
                                      lambda: self.query_reply(self.counters.totals()))

    def on_message(self, message: Message, index: int) -> None:
        batch = message.batch()
        if batch.length:
            self.counters.add(self.classify(batch), batch.column("PACKETS"),
                              batch.column("BYTES"))

    def on_tick(self, now: float) -> None:
        self._report_interval()

    def finish(self) -> None:
        try:
            self._report_interval()
            print(f"total {self.report_text(self.counters.totals())}", flush=True)
        finally:
            if self.server is not None:
                self.server.close()

    def _report_interval(self) -> None:
        start, end = self.interval_start, time.time_ns()
        self.interval_start = end
        counts = self.counters.take_interval()
        print(f"{stamp(end)} {self.report_text(counts)}", flush=True)
        if self.ports:
            columns = {"TIME_FIRST": np.array([start], dtype=np.int64),
                       "TIME_LAST": np.array([end], dtype=np.int64),
                       **self.report_columns(counts)}
            self.emit(RecordBatch.from_columns(self.output_template(), 1, columns))
