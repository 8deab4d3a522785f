"""The exporter library: flow record batches out as IPFIX to a collector (or a file).

    exporter = FlowExporter("127.0.0.1:4739:tcp")     # HOST:PORT[:udp|tcp] or file:PATH
    exporter.export(batch)                            # any UniRec batch with flow fields
    exporter.close()

UDP: messages of at most `mtu` bytes; templates in the first message, then again every
`refresh_seconds` seconds or `refresh_messages` messages (whichever comes first), so a collector
started later learns them. TCP: templates once per connection (again after a reconnect),
messages up to 64 KB; a lost connection is retried on the next batch (at most once a second),
the records that could not be sent are counted as dropped. file: one template set at the start,
messages up to 64 KB (the form `ipfixsend -r` replays).
"""

from __future__ import annotations

import logging
import time

from unirec import RecordBatch

from .encoder import IpfixEncoder
from .transports import Endpoint, open_sender, parse_destination

log = logging.getLogger("ipfixexport")
STREAM_MESSAGE = 65000


class FlowExporter:
    def __init__(self, destination: str | Endpoint, odid: int = 0, mtu: int = 1400,
                 refresh_seconds: float = 30.0, refresh_messages: int = 100):
        self.endpoint = destination if isinstance(destination, Endpoint) \
            else parse_destination(destination)
        self.sender = open_sender(self.endpoint)
        udp = self.endpoint.transport == "udp"
        self.encoder = IpfixEncoder(odid, mtu if udp else STREAM_MESSAGE,
                                    refresh_messages if udp else 0)
        self.refresh_seconds = refresh_seconds if udp else 0.0
        self.sent_generation = 0
        self.templates_sent_at = 0.0
        self.counters = {"records": 0, "messages": 0, "bytes": 0, "dropped_records": 0,
                         "send_errors": 0}
        self._warned_skipped = False

    def export(self, batch: RecordBatch, now: float | None = None) -> None:
        """Send a batch's records (errors are counted and logged, not raised)."""
        now = time.monotonic() if now is None else now
        encoder = self.encoder
        if batch.template != encoder.source:
            encoder.use_template(batch.template)
            self.sent_generation = 0           # new template ids: announce them
            if encoder.skipped and not self._warned_skipped:
                log.info("fields without an IPFIX element, not exported: %s",
                         ", ".join(encoder.skipped))
                self._warned_skipped = True
        try:
            if self.endpoint.transport == "tcp":
                self.sender.connect()          # type: ignore[attr-defined]
        except OSError as exc:
            self._failed(batch.length, exc)
            return
        due = self.sent_generation != self.sender.generation or (
            self.refresh_seconds > 0 and now - self.templates_sent_at >= self.refresh_seconds)
        messages = encoder.encode(batch, int(time.time()), with_templates=due)
        try:
            self.sender.send(messages)
        except OSError as exc:
            self._failed(batch.length, exc)
            return
        if due:
            self.sent_generation = self.sender.generation
            self.templates_sent_at = now
        self.counters["records"] += batch.length
        self.counters["messages"] += len(messages)
        self.counters["bytes"] += sum(len(m) for m in messages)

    def _failed(self, records: int, exc: OSError) -> None:
        self.counters["dropped_records"] += records
        self.counters["send_errors"] += 1
        errors = self.counters["send_errors"]
        if errors <= 5 or errors % 100 == 0:
            log.warning("%s (%d records dropped so far)", exc, self.counters["dropped_records"])

    def close(self) -> None:
        self.sender.close()

    def stats(self) -> dict:
        return {"destination": str(self.endpoint), **self.counters,
                "sequence": self.encoder.sequence}
