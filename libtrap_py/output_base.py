"""What every output interface shares: the format, batching, autoflush and counters.

Records are collected per `buffer_size` bytes and handed to the transport as one encoded wire
batch (`_deliver`). A forwarded payload is passed on without decoding. `buffer=off` sends every
record as its own batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from unirec import Record, RecordBatch

from .errors import TrapError, TrapTimeout
from .formats import DataFormat, FormatType
from .ifc_spec import IfcSpec
from .message import codec_for, encode_messages

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 65_535          # libtrap's limit for one message


@dataclass
class OutputCounters:
    sent_messages: int = 0
    dropped_messages: int = 0
    buffers: int = 0
    autoflushes: int = 0


class OutputInterface:
    """Base of the u/t/f/b outputs. Subclasses implement `_announce`, `_deliver`, `_deliver_eof`,
    `num_clients` and `_finish`."""

    def __init__(self, spec: IfcSpec):
        self.spec = spec
        self.format: DataFormat | None = None
        self.counters = OutputCounters()
        self._pending: list[RecordBatch] = []
        self._pending_rows: list[list] = []        # single records, sealed into a batch
        self._pending_messages: list = []
        self._pending_count = 0
        self._pending_bytes = 0
        self._record_size = 0
        self._last_flush = time.monotonic()

    # --- format -------------------------------------------------------------------------
    def set_format(self, fmt: DataFormat) -> None:
        if fmt == self.format:
            return
        if fmt.type == FormatType.UNIREC and not fmt.spec:
            raise TrapError(f"{self.spec.label}: cannot announce an empty UniRec template")
        self.flush(autoflush=False)
        self.format = fmt
        if fmt.type == FormatType.UNIREC:
            template = fmt.template
            self._record_size = sum(t.fixed_size for t in template.types) \
                + 16 * len(template.variable_fields) + 8
        self._announce(fmt)

    def _require_format(self, kind: FormatType) -> None:
        if self.format is None or self.format.type != kind:
            raise TrapError(f"{self.spec.label}: output format is {self.format}, "
                            f"cannot send {kind.name} data")

    # --- sending ------------------------------------------------------------------------
    def send_batch(self, batch: RecordBatch) -> None:
        """Queue records; the batch's template must be the announced one."""
        if not batch.length:
            return
        self._require_format(FormatType.UNIREC)
        if batch.template.spec != self.format.spec:  # type: ignore[union-attr]
            raise TrapError(f"{self.spec.label}: batch template {batch.template.spec!r} is not "
                            f"the announced {self.format.spec!r}")  # type: ignore[union-attr]
        if not self.spec.buffer:
            for position in range(batch.length):
                self._send_payload(batch.take([position]), 1)
            return
        self._seal_rows()
        self._pending.append(batch)
        self._pending_count += batch.length
        self._pending_bytes += batch.length * self._record_size
        if self._pending_bytes >= self.spec.buffer_size:
            self.flush(autoflush=False)

    def send_record(self, record: Record) -> None:
        """Queue one record; records are gathered as rows and become one batch per flush."""
        self._require_format(FormatType.UNIREC)
        if record.template.spec != self.format.spec:  # type: ignore[union-attr]
            raise TrapError(f"{self.spec.label}: record template {record.template.spec!r} is "
                            f"not the announced {self.format.spec!r}")  # type: ignore[union-attr]
        if not self.spec.buffer:
            self._send_payload(RecordBatch.from_rows(record.template, [record.raw_values]), 1)
            return
        self._pending_rows.append(list(record.raw_values))
        self._pending_count += 1
        self._pending_bytes += self._record_size
        if self._pending_bytes >= self.spec.buffer_size:
            self.flush(autoflush=False)

    def _seal_rows(self) -> None:
        if self._pending_rows:
            self._pending.append(RecordBatch.from_rows(self.format.template,  # type: ignore
                                                       self._pending_rows))
            self._pending_rows = []

    def send_payload(self, payload: bytes, count: int) -> None:
        """Forward an encoded UniRec payload of the announced template without decoding it."""
        self._require_format(FormatType.UNIREC)
        if not self.spec.buffer and count > 1:
            self.send_batch(codec_for(self.format.template).decode(payload))  # type: ignore
            return
        self.flush(autoflush=False)
        self._send_encoded(payload, count)

    def send_messages(self, messages: list[bytes | str]) -> None:
        """Queue JSON or RAW messages (one document each)."""
        if self.format is None or self.format.type not in (FormatType.JSON, FormatType.RAW):
            raise TrapError(f"{self.spec.label}: output format is {self.format}, "
                            "cannot send JSON/RAW messages")
        for message in messages:
            size = len(message.encode() if isinstance(message, str) else message)
            if size > MAX_MESSAGE_BYTES:
                raise ValueError(f"{self.spec.label}: a message of {size} bytes is over the "
                                 f"limit of {MAX_MESSAGE_BYTES}")
            self._pending_messages.append(message)
            self._pending_count += 1
            self._pending_bytes += size + 2
            if not self.spec.buffer or self._pending_bytes >= self.spec.buffer_size:
                self.flush(autoflush=False)

    def flush(self, autoflush: bool = True) -> None:
        """Send the partly filled batch now (counted as an autoflush when `autoflush`)."""
        if not self._pending_count:
            return
        if self._pending_messages:
            payload = encode_messages(self._pending_messages)
        else:
            self._seal_rows()
            batch = self._pending[0] if len(self._pending) == 1 \
                else RecordBatch.concat(self._pending)
            payload = codec_for(batch.template).encode(batch)
        count = self._pending_count
        self._pending, self._pending_messages = [], []
        self._pending_count = self._pending_bytes = 0
        if autoflush:
            self.counters.autoflushes += 1
        self._send_encoded(payload, count)

    def _send_payload(self, batch: RecordBatch, count: int) -> None:
        self._send_encoded(codec_for(batch.template).encode(batch), count)

    def _send_encoded(self, payload: bytes, count: int) -> None:
        self._last_flush = time.monotonic()
        delivered = self._deliver(payload, count)
        self.counters.buffers += 1
        self.counters.sent_messages += delivered
        self.counters.dropped_messages += count - delivered
        if delivered < count:
            raise TrapTimeout(f"{self.spec.label}: no reader took {count - delivered} records "
                              "within the timeout; they were dropped and counted")

    def tick(self, now: float | None = None) -> None:
        """Autoflush a partly filled batch that waited longer than `autoflush`."""
        interval = self.spec.autoflush_us
        if interval is None or not self._pending_count:
            return
        now = time.monotonic() if now is None else now
        if (now - self._last_flush) * 1e6 >= interval:
            self.flush(autoflush=True)

    def send_eof(self, wait_for_reader: bool = True) -> None:
        """End-of-stream to the readers; `wait_for_reader` (timeout=WAIT socket outputs with
        an announced format) waits for a reader to connect first, as data would."""
        self.flush(autoflush=False)
        self._deliver_eof(wait_for_reader)

    def close(self, grace: float = 5.0) -> None:
        """Flush, wait up to `grace` seconds for connected readers to take everything, close."""
        try:
            self.flush(autoflush=False)
        finally:
            self._finish(grace)

    # --- transport hooks ----------------------------------------------------------------
    def _announce(self, fmt: DataFormat) -> None:
        raise NotImplementedError

    def _deliver(self, payload: bytes, count: int) -> int:
        """Send one wire batch; return how many of its records reached at least one reader."""
        raise NotImplementedError

    def _deliver_eof(self, wait_for_reader: bool) -> None:
        raise NotImplementedError

    def _finish(self, grace: float) -> None:
        raise NotImplementedError

    @property
    def num_clients(self) -> int:
        raise NotImplementedError

    def client_stats(self) -> list[dict]:
        return []

    def stats(self) -> dict:
        c = self.counters
        return {"ifc_type": ord(self.spec.kind.value), "ifc_id": self.ifc_id,
                "num_clients": self.num_clients, "sent-messages": c.sent_messages,
                "dropped-messages": c.dropped_messages, "buffers": c.buffers,
                "autoflushes": c.autoflushes, "client_stats_arr": self.client_stats()}

    @property
    def ifc_id(self) -> str:
        return self.spec.ifc_id
