"""ipfixsend: replay an IPFIX file or a file of flow records to a collector.

    nemea ipfixsend -r flows.ipfix -d 127.0.0.1:4739[:udp|tcp] -R 1

-r is an IPFIX file (concatenated IPFIX messages, as `ipfixexport -x file:PATH` writes) or a
trapcap (`f:` file of flow records; `f:PATH` or a plain path), told apart by the content.
IPFIX messages are sent as they are (one UDP datagram each), paced by their export times
(the messages of one export second spread evenly over it);
flow records are encoded as IPFIX (the exporter library) and paced by TIME_LAST (a flow goes
out when it ended). -R scales the pace: 1 = original, 10 = ten times faster, 0 = as fast as
possible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.formats import FormatType
from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_input
from libtrap_py.module import Module, param

from .exporter import FlowExporter
from .ipfix_file import export_times, is_ipfix_file, read_messages
from .transports import open_sender, parse_destination

log = logging.getLogger("ipfixsend")
NAP = 0.1                     # longest sleep per produce() call (stays responsive to SIGTERM)
STREAM_CHUNK = 1 << 20        # TCP: bytes gathered per sendall
UDP_LIMIT = 65507


@dataclass
class SendParams:
    read: str = param("", "-r", "IPFIX file or trapcap file (f:PATH) to replay.",
                      required=True)
    destination: str = param("", "-d", "Collector HOST:PORT[:udp|tcp] (default udp).",
                             required=True)
    speed: float = param(1.0, "-R", "Pace factor: 1 original pace, 2 twice as fast, 0 as "
                                    "fast as possible.")
    mtu: int = param(1400, "-m", "Flow records over UDP: largest message in bytes.")

    def validate(self) -> None:
        self.endpoint = parse_destination(self.destination)
        if self.endpoint.transport == "file":
            raise ValueError("-d: give HOST:PORT[:udp|tcp]")
        if self.speed < 0:
            raise ValueError(f"-R {self.speed:g}: must be >= 0")


class IpfixSend(Module):
    name = "ipfixsend"
    description = __doc__
    inputs, outputs = 0, 0
    Params = SendParams

    def setup(self) -> None:
        p = self.params
        self.counters = {"messages": 0, "records": 0, "bytes": 0, "skipped": 0}
        path = p.read[2:] if p.read.startswith("f:") else p.read
        if not p.read.startswith("f:") and is_ipfix_file(path):
            self.steps = self._ipfix(path)
        else:
            self.steps = self._records("f:" + path)
        self.started = time.monotonic()

    def produce(self) -> bool:
        return next(self.steps, None) is not None

    def _wait(self, due: float) -> Iterator[bool]:
        """Sleep until `due` (monotonic), in naps, yielding between them."""
        while True:
            left = due - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, NAP))
            yield True

    def _ipfix(self, path: str) -> Iterator[bool]:
        sender = open_sender(self.params.endpoint)
        dues = self._ipfix_dues(path) if self.params.speed > 0 else None
        pending: list[bytes] = []
        pending_bytes = 0
        try:
            for index, (_, message) in enumerate(read_messages(path)):
                if dues is not None and dues[index] > time.monotonic():
                    if pending:
                        sender.send(pending)
                        pending, pending_bytes = [], 0
                    yield from self._wait(dues[index])
                if not sender.stream and len(message) > UDP_LIMIT:
                    self.counters["skipped"] += 1
                    continue
                pending.append(message)
                pending_bytes += len(message)
                self.counters["messages"] += 1
                self.counters["bytes"] += len(message)
                if pending_bytes >= STREAM_CHUNK or (not sender.stream and len(pending) >= 64):
                    sender.send(pending)
                    pending, pending_bytes = [], 0
                    yield True
            if pending:
                sender.send(pending)
        finally:
            sender.close()

    def _ipfix_dues(self, path: str) -> list[float]:
        """When each message is due: export times have whole seconds, so the messages of one
        second are spread evenly over it (an exporter sends them over that second)."""
        times = np.array(export_times(path), dtype=np.int64)
        if not len(times):
            return []
        seconds = times - times[0]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(times)) + 1))
        counts = np.diff(np.append(starts, len(times)))
        within = np.arange(len(times)) - np.repeat(starts, counts)
        offsets = seconds + within / np.repeat(counts, counts)
        return (self.started + offsets / self.params.speed).tolist()

    def _records(self, spec_text: str) -> Iterator[bool]:
        spec = parse_ifc_specs(spec_text, 1, 0)[0][0]
        source = open_input(spec)
        p = self.params
        exporter = FlowExporter(p.endpoint, mtu=p.mtu)
        first_time = None
        released = 0
        try:
            while True:
                message = source.receive(-1)
                if message is None:
                    continue
                if message.is_eof:
                    break
                if message.format.type != FormatType.UNIREC:   # type: ignore[union-attr]
                    raise ValueError(f"{spec_text}: not a file of UniRec records")
                batch = message.batch()
                if p.speed <= 0 or "TIME_LAST" not in batch.template.index or not batch.length:
                    exporter.export(batch)
                    self._count(exporter)
                    yield True
                    continue
                # a flow goes out when it ended: pace by the running maximum of TIME_LAST
                ends = np.maximum.accumulate(np.maximum(batch.column("TIME_LAST"), released))
                released = int(ends[-1])
                if first_time is None:
                    first_time = int(ends[0])
                dues = self.started + (ends - first_time) / 1e9 / p.speed
                position = 0
                while position < batch.length:
                    now = time.monotonic()
                    ready = int(np.searchsorted(dues, now, side="right"))
                    if ready <= position:
                        yield from self._wait(float(dues[position]))
                        continue
                    exporter.export(batch.take(np.arange(position, ready)))
                    self._count(exporter)
                    position = ready
                    yield True
        finally:
            exporter.close()
            source.close()

    def _count(self, exporter: FlowExporter) -> None:
        self.counters.update(messages=exporter.counters["messages"],
                             records=exporter.counters["records"],
                             bytes=exporter.counters["bytes"],
                             skipped=exporter.counters["dropped_records"])

    def finish(self) -> None:
        self.steps.close()         # closes the sockets and the input when stopped early
        self.counters["seconds"] = round(time.monotonic() - self.started, 3)
        log.info("ipfixsend: %s", " ".join(f"{k}={v}" for k, v in self.counters.items()))

    def stats(self) -> dict:
        return dict(self.counters)


main = module_command(IpfixSend)

if __name__ == "__main__":
    main()
